// Runs the wire-contract suite against a real 3-member etcd 3.4, so that the
// suite itself is known to describe etcd (the same suite runs against Pinsetter
// masters elsewhere), and checks EtcdClient's failover and error outcomes,
// which the chaos tests and the linearizability checker rely on. CI installs
// etcd; without it this file skips loudly rather than failing, except in CI
// (CI=true), where a missing etcd fails the run (test/lib/ci.ts).

import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EtcdClient, EtcdError, type WatchEvent } from "../../src/client/etcd-client.js";
import { defineEtcdConformance } from "../lib/etcd-conformance.js";
import { skipVerdict } from "../lib/ci.js";
import { findEtcd, startEtcdCluster, type EtcdCluster } from "../lib/etcd-process.js";

const found = findEtcd();

/** Loopback addresses with nothing listening on 2379 (connection refused). */
const NOBODY = "http://127.0.0.59:2379";
const NOBODY_EITHER = "http://127.0.0.58:2379";

if ("reason" in found) {
  const verdict = skipVerdict("etcd conformance against real etcd", found.reason);
  console.warn(verdict.message);
  describe("etcd v3 JSON gateway conformance: etcd 3.4", () => {
    if (verdict.action === "fail") {
      it(`needs the etcd binary (${found.reason})`, () => {
        throw new Error(verdict.message);
      });
    } else {
      // Skipped with a loud reason (warned above); CI installs etcd, so it runs there.
      it.skip(`needs the etcd binary (${found.reason})`, () => undefined);
    }
  });
} else {
  let cluster: EtcdCluster | undefined;
  let followerUrl = "";

  beforeAll(async () => {
    const started = await startEtcdCluster({
      members: [51, 52, 53].map((n, i) => ({ name: `etcd${i + 1}`, host: `127.0.0.${n}`, clientPort: 2379, peerPort: 2380 })),
      heartbeatMs: 100,
      // etcd's minimum lease TTL is ceil(1.5 * election timeout): 2 s here, as the contract says.
      electionMs: 1000,
    });
    if (!started.cluster) throw new Error(started.reason);
    cluster = started.cluster;
    const leader = await cluster.leader();
    // Talk to a follower, so that forwarding to the leader is part of what is checked.
    followerUrl = cluster.members.find((m) => m !== leader)!.clientUrl;
  });

  afterAll(async () => {
    await cluster?.stopAll();
  });

  // No token: etcd 3.4 without auth does not ignore an Authorization header,
  // it refuses it (401 "etcdserver: invalid auth token").
  defineEtcdConformance(`etcd ${found.version}`, () => {
    if (!cluster) throw new Error("etcd cluster not started");
    return { url: followerUrl };
  });

  describe("EtcdClient outcomes against etcd and broken servers", () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    /** A client the test owns; closed after the test. */
    const clientOf = (endpoints: string[], timeoutMs = 3_000): EtcdClient => {
      const c = new EtcdClient({ endpoints, timeoutMs, connectTimeoutMs: 1_000 });
      cleanups.push(() => c.close());
      return c;
    };

    /** An HTTP server on a loopback port that misbehaves as told. */
    const brokenServer = async (handler: http.RequestListener): Promise<string> => {
      const srv = http.createServer(handler);
      await new Promise<void>((r) => srv.listen(0, "127.0.0.57", r));
      cleanups.push(
        () =>
          new Promise<void>((r) => {
            srv.closeAllConnections();
            srv.close(() => r());
          }),
      );
      return `http://127.0.0.57:${(srv.address() as AddressInfo).port}`;
    };

    it("a refused connection moves on to the next endpoint, and the write is applied once", async () => {
      const c = clientOf([NOBODY, ...cluster!.endpoints]);
      const p = await c.put("/outcomes/failover", "v");
      expect(await c.get("/outcomes/failover")).toBe("v");
      expect((await c.getKv("/outcomes/failover"))?.modRevision).toBe(p.revision);
    });

    it("when every endpoint refuses, the error says failed: nothing was sent", async () => {
      const err = await clientOf([NOBODY, NOBODY_EITHER]).put("/outcomes/refused", "v").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EtcdError);
      expect(err).toMatchObject({ kind: "connect", outcome: "failed" });
    });

    it("a server that takes the request and never answers gives a timeout with outcome unknown", async () => {
      const url = await brokenServer(() => undefined);
      const started = Date.now();
      const err = await clientOf([url, ...cluster!.endpoints], 500).put("/outcomes/timeout", "v").catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: "timeout", outcome: "unknown" });
      expect(Date.now() - started).toBeLessThan(5_000);
      // Not retried elsewhere: the write may have happened on the silent server.
      expect(await clientOf(cluster!.endpoints).get("/outcomes/timeout")).toBeUndefined();
    });

    it("a connection dropped after the request was sent gives outcome unknown", async () => {
      const url = await brokenServer((req) => req.socket.destroy());
      const err = await clientOf([url]).put("/outcomes/dropped", "v").catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: "connection-lost", outcome: "unknown" });
    });

    it("5xx answers are unknown for writes; reads move on to the next endpoint", async () => {
      const url = await brokenServer((_req, res) => {
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "etcdserver: request timed out", message: "etcdserver: request timed out", code: 14 }));
      });
      const c = clientOf([url, ...cluster!.endpoints]);
      const err = await c.put("/outcomes/503", "v").catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: "http", httpStatus: 503, grpcCode: 14, outcome: "unknown", message: "etcdserver: request timed out" });
      expect((await c.range("/outcomes/503")).count).toBe(0);
    });

    it("a watch whose member shuts down ends with an unknown error and the revision to resume from", async () => {
      const member = cluster!.members.find((m) => m.clientUrl !== followerUrl)!;
      const c = clientOf([member.clientUrl]);
      const got: WatchEvent[] = [];
      const w = c.watch("/outcomes/watch/", { prefix: true }, (ev) => got.push(ev));
      await w.created;
      const p = await c.put("/outcomes/watch/a", "1");
      await expect.poll(() => got.length).toBe(1);
      await cluster!.restart(member);
      const end = await w.done;
      expect(end.reason).toBe("error");
      // grpc-gateway's closing chunk: {"error": {"grpc_code": 14, "http_code": 503, ...}}
      expect(end.reason === "error" && end.error).toMatchObject({ outcome: "unknown" });
      expect(end.nextRevision).toBe(p.revision + 1);
    });
  });
}
