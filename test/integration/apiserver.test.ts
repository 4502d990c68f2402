// The API server on three real masters (dist/ build), through the project's
// KubeClient and raw HTTP: CRUD with optimistic concurrency, Status errors,
// patches, subresources, list paging and selectors, watches that resume on
// another master, namespace deletion, Service allocation, the logs proxy,
// fencing, and a fuzz of bad bodies that must leave the store unchanged.

import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigMap, Deployment, KubeObject, Namespace, Node, Pod, Scale, Service, Status, WatchEvent } from "../../src/api/types.js";
import { EtcdClient } from "../../src/client/etcd-client.js";
import { KubeApiError, type KubeClient } from "../../src/client/kube-client.js";
import { raw, startCluster, until, type TestCluster } from "./apiserver-harness.js";

const masters = ["127.0.0.181", "127.0.0.182", "127.0.0.183"].map((host, i) => ({ name: `m${i + 1}`, host, raftPort: 7701, clientPort: 2779, apiPort: 6843 }));

let cluster: TestCluster;
let client: KubeClient;

beforeAll(async () => {
  // A small watch cache window, so a watch can fall out of it within a test.
  cluster = await startCluster({ clusterName: "apiserver-test", masters, env: { PINSETTER_WATCH_CACHE_WINDOW: "200", PINSETTER_WATCH_BOOKMARK_MS: "300" } });
  client = cluster.client();
}, 120_000);

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

const pod = (name: string, extra: Partial<Pod["spec"]> = {}, labels: Record<string, string> = {}): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels },
  spec: { containers: [{ name: "app", image: "busybox" }], ...extra },
});

const deployment = (name: string, replicas = 1): Deployment => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "web", image: "nginx", ports: [{ containerPort: 80 }] }] } },
  },
});

async function apiError(p: Promise<unknown>): Promise<KubeApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KubeApiError) return err;
    throw err;
  }
  throw new Error("expected an API error");
}

function auth(): Record<string, string> {
  return { authorization: `Bearer ${cluster.token}` };
}

function url(path: string, m = masters[0]!): string {
  return `${cluster.apiUrl(m)}${path}`;
}

describe("objects", () => {
  it("creates with uid, creationTimestamp, generation and defaults; a second create is AlreadyExists", async () => {
    const p = await client.create("pods", pod("crud-1"));
    expect(p.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.metadata.creationTimestamp).toMatch(/Z$/);
    expect(p.metadata.generation).toBe(1);
    expect(Number(p.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(p.status?.phase).toBe("Pending");
    expect(p.spec.restartPolicy).toBe("Always");
    const again = await apiError(client.create("pods", pod("crud-1")));
    expect(again.code).toBe(409);
    expect(again.reason).toBe("AlreadyExists");
    expect(again.message).toBe('pods "crud-1" already exists');
  });

  it("answers 404 NotFound naming the object, from any master", async () => {
    for (const m of masters) {
      const r = await raw(url("/api/v1/namespaces/default/pods/nope", m), { headers: auth() });
      expect(r.status).toBe(404);
      const st = JSON.parse(r.text) as Status;
      expect(st).toMatchObject({ kind: "Status", status: "Failure", reason: "NotFound", message: 'pods "nope" not found', details: { name: "nope", kind: "pods" } });
    }
  });

  it("refuses a stale resourceVersion with 409 Conflict and keeps the newer write", async () => {
    const cm = await client.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "occ" }, data: { v: "1" } });
    const first = await client.update<ConfigMap>("configmaps", { ...cm, data: { v: "2" } });
    expect(Number(first.metadata.resourceVersion)).toBeGreaterThan(Number(cm.metadata.resourceVersion));
    const stale = await apiError(client.update<ConfigMap>("configmaps", { ...cm, data: { v: "3" } }));
    expect(stale.code).toBe(409);
    expect(stale.reason).toBe("Conflict");
    expect((await client.get<ConfigMap>("configmaps", "default", "occ")).data).toEqual({ v: "2" });
  });

  it("a pinned update on another master right after a write succeeds (its cache may lag; the server reads again)", async () => {
    const c1 = cluster.client([masters[0]!]);
    const c3 = cluster.client([masters[2]!]);
    try {
      let cm = await c1.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "hop" }, data: { n: "0" } });
      for (let i = 1; i <= 20; i++) {
        const writer = i % 2 ? c3 : c1;
        cm = await writer.patch<ConfigMap>("configmaps", "default", "hop", { metadata: { resourceVersion: cm.metadata.resourceVersion }, data: { n: String(i) } });
        expect(cm.data).toEqual({ n: String(i) });
      }
      const stale = await apiError(c3.patch("configmaps", "default", "hop", { metadata: { resourceVersion: "1" }, data: { n: "x" } }));
      expect(stale.code).toBe(409);
    } finally {
      c1.close();
      c3.close();
    }
  });

  it("generateName gives a fresh name each time", async () => {
    const a = await client.create("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "gen-" } } as ConfigMap);
    const b = await client.create("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "gen-" } } as ConfigMap);
    expect(a.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(a.metadata.name).not.toBe(b.metadata.name);
  });

  it("bumps generation on spec changes only; status and main resource ignore each other's half", async () => {
    // A Service: no controller writes its status, so every change here is the test's.
    const svc = await client.create<Service>("services", { apiVersion: "v1", kind: "Service", metadata: { name: "gen" }, spec: { selector: { app: "gen" }, ports: [{ port: 80 }] } });
    expect(svc.metadata.generation).toBe(1);
    const labelled = await client.patch<Service>("services", "default", "gen", { metadata: { labels: { extra: "x" } } });
    expect(labelled.metadata.generation).toBe(1);
    const lb = { loadBalancer: { ingress: [{ ip: "192.0.2.1" }] } };
    const changed = await client.patch<Service>("services", "default", "gen", { spec: { ports: [{ port: 81 }] }, status: lb });
    expect(changed.metadata.generation).toBe(2);
    expect(changed.status).toEqual({ loadBalancer: {} });
    const st = await client.patch<Service>("services", "default", "gen", { spec: { ports: [{ port: 82 }] }, status: lb }, "merge", { subresource: "status" });
    expect(st.status).toEqual(lb);
    expect(st.spec?.ports?.[0]?.port).toBe(81);
    expect(st.metadata.generation).toBe(2);
  });

  it("422 Invalid lists every bad field at once and writes nothing", async () => {
    const bad = deployment("Bad_Name", -1);
    bad.spec.selector = { matchLabels: { app: "other" } };
    const err = await apiError(client.create("deployments", bad));
    expect(err.code).toBe(422);
    expect(err.reason).toBe("Invalid");
    const fields = (err.status?.details?.causes ?? []).map((c) => c.field);
    expect(fields).toEqual(expect.arrayContaining(["metadata.name", "spec.replicas"]));
    expect(fields.length).toBeGreaterThanOrEqual(3);
    const list = await client.list("deployments", { namespace: "default" });
    expect(list.items.map((i) => i.metadata.name)).not.toContain("Bad_Name");
  });

  it("patches: merge, strategic (containers merged by name) and json-patch", async () => {
    const p = pod("patchy");
    p.spec.containers.push({ name: "side", image: "busybox" });
    await client.create("pods", p);
    const sm = await client.patch<Pod>("pods", "default", "patchy", { spec: { containers: [{ name: "side", image: "busybox:2" }] } }, "strategic");
    expect(sm.spec.containers.map((c) => `${c.name}=${c.image}`)).toEqual(["app=busybox", "side=busybox:2"]);
    const merged = await client.patch<Pod>("pods", "default", "patchy", { metadata: { labels: { a: "1" } } }, "merge");
    expect(merged.metadata.labels).toEqual({ a: "1" });
    const jp = await client.patch<Pod>("pods", "default", "patchy", [{ op: "add", path: "/metadata/labels/b", value: "2" }], "json");
    expect(jp.metadata.labels).toEqual({ a: "1", b: "2" });
    const failed = await apiError(client.patch("pods", "default", "patchy", [{ op: "test", path: "/metadata/labels/b", value: "nope" }], "json"));
    expect(failed.code).toBe(422);
  });

  it("pods/binding sets nodeName once; a second binding is 409", async () => {
    // Another scheduler's pod: the cluster's own scheduler leaves it alone.
    await client.create("pods", pod("bindme", { schedulerName: "test-scheduler" }));
    const binding = { apiVersion: "v1", kind: "Binding", metadata: { name: "bindme", namespace: "default" }, target: { apiVersion: "v1", kind: "Node", name: "w1" } };
    await client.create("pods", binding as unknown as KubeObject, { subresource: "binding", namespace: "default" });
    const bound = await client.get<Pod>("pods", "default", "bindme");
    expect(bound.spec.nodeName).toBe("w1");
    expect(bound.status?.conditions?.find((c) => c.type === "PodScheduled")?.status).toBe("True");
    const again = await apiError(client.create("pods", { ...binding, target: { name: "w2" } } as unknown as KubeObject, { subresource: "binding", namespace: "default" }));
    expect(again.code).toBe(409);
  });

  it("deployments/scale reads and writes spec.replicas as autoscaling/v1 Scale", async () => {
    await client.create("deployments", deployment("scaly", 2));
    const scale = await client.get<Scale>("deployments", "default", "scaly", "scale");
    expect(scale).toMatchObject({ apiVersion: "autoscaling/v1", kind: "Scale", spec: { replicas: 2 }, status: { selector: "app=scaly" } });
    // The deployment controller writes this deployment too: update without a pinned resourceVersion.
    await client.update<Scale>("deployments", { ...scale, metadata: { ...scale.metadata, resourceVersion: undefined }, spec: { replicas: 4 } }, { subresource: "scale" });
    expect((await client.get<Deployment>("deployments", "default", "scaly")).spec.replicas).toBe(4);
    await client.patch("deployments", "default", "scaly", { spec: { replicas: 6 } }, "merge", { subresource: "scale" });
    expect((await client.get<Deployment>("deployments", "default", "scaly")).spec.replicas).toBe(6);
    const stale = await apiError(client.update<Scale>("deployments", { ...scale, spec: { replicas: 1 } }, { subresource: "scale" }));
    expect(stale.code).toBe(409);
  });

  it("graceful pod deletion sets deletionTimestamp; finalizers hold an object until removed", async () => {
    await client.create("pods", pod("graceful", { nodeName: "w1", terminationGracePeriodSeconds: 30 }));
    const marked = (await client.delete<Pod>("pods", "default", "graceful")) as Pod;
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    expect(marked.metadata.deletionGracePeriodSeconds).toBe(30);
    await client.delete("pods", "default", "graceful", { gracePeriodSeconds: 0 });
    expect((await apiError(client.get("pods", "default", "graceful"))).code).toBe(404);

    await client.create("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "held", finalizers: ["example.com/hold"] } } as ConfigMap);
    const held = (await client.delete("configmaps", "default", "held", { propagationPolicy: "Foreground" })) as ConfigMap;
    expect(held.metadata.deletionTimestamp).toBeDefined();
    expect(held.metadata.finalizers).toEqual(expect.arrayContaining(["example.com/hold", "foregroundDeletion"]));
    await client.patch("configmaps", "default", "held", { metadata: { finalizers: null } });
    expect((await apiError(client.get("configmaps", "default", "held"))).code).toBe(404);
  });
});

describe("lists", () => {
  it("selects by label and field and pages with limit/continue at one revision", async () => {
    await client.create("namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "paging" } } as Namespace);
    for (let i = 0; i < 25; i++) {
      await client.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${String(i).padStart(2, "0")}`, namespace: "paging", labels: { parity: i % 2 ? "odd" : "even" } } });
    }
    const page1 = await client.list("configmaps", { namespace: "paging", limit: 10 });
    expect(page1.items).toHaveLength(10);
    expect(page1.metadata.continue).toBeTruthy();
    // A write between pages does not show up in the paged list.
    await client.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm-99", namespace: "paging" } });
    const page2 = await client.list("configmaps", { namespace: "paging", limit: 10, continue: page1.metadata.continue! });
    const page3 = await client.list("configmaps", { namespace: "paging", limit: 10, continue: page2.metadata.continue! });
    expect(page3.metadata.continue).toBeFalsy();
    const names = [...page1.items, ...page2.items, ...page3.items].map((i) => i.metadata.name);
    expect(names).toHaveLength(25);
    expect(new Set(names).size).toBe(25);
    expect(page2.metadata.resourceVersion).toBe(page1.metadata.resourceVersion);

    const odd = await client.list("configmaps", { namespace: "paging", labelSelector: "parity=odd" });
    expect(odd.items).toHaveLength(12);
    const oddPaged = await client.listAll("configmaps", { namespace: "paging", labelSelector: "parity in (odd)", limit: 5 });
    expect(oddPaged.items).toHaveLength(12);
    const byName = await client.list("configmaps", { namespace: "paging", fieldSelector: "metadata.name=cm-03" });
    expect(byName.items.map((i) => i.metadata.name)).toEqual(["cm-03"]);
    const cached = await client.list("configmaps", { namespace: "paging", resourceVersion: "0" });
    expect(cached.items).toHaveLength(26);
  });

  it("a plain list on another master sees a write just acknowledged (linearizable)", async () => {
    const writer = cluster.client([masters[0]!]);
    const reader = cluster.client([masters[2]!]);
    try {
      for (let i = 0; i < 10; i++) {
        await writer.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `lin-${i}` } });
        const l = await reader.list("configmaps", { namespace: "default", fieldSelector: `metadata.name=lin-${i}` });
        expect(l.items).toHaveLength(1);
      }
    } finally {
      writer.close();
      reader.close();
    }
  });

  it("answers a Table when kubectl asks for one", async () => {
    const r = await raw(url("/api/v1/namespaces/default/pods"), { headers: { ...auth(), accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" } });
    expect(r.status).toBe(200);
    const t = JSON.parse(r.text) as { kind: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[]; object: { kind: string } }[] };
    expect(t.kind).toBe("Table");
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(expect.arrayContaining(["Name", "Ready", "Status", "Restarts", "Age"]));
    expect(t.rows.length).toBeGreaterThan(0);
    expect(t.rows[0]!.object.kind).toBe("PartialObjectMetadata");
  });
});

describe("watch", () => {
  it("resumes on another master from a resourceVersion without missing or repeating an event", async () => {
    const c1 = cluster.client([masters[0]!]);
    const c2 = cluster.client([masters[1]!]);
    const seen: string[] = [];
    try {
      const start = await c1.list("configmaps", { namespace: "default" });
      let lastRv = start.metadata.resourceVersion!;
      const w1 = c1.watch<ConfigMap>("configmaps", { namespace: "default", resourceVersion: lastRv }, (e) => {
        seen.push(`${e.type}:${e.object.metadata.name}`);
        lastRv = e.object.metadata.resourceVersion!;
      });
      for (let i = 0; i < 5; i++) await c1.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `w-${i}` } });
      await until("five events", () => seen.length >= 5);
      w1.stop();
      for (let i = 5; i < 10; i++) await c1.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `w-${i}` } });
      await c1.delete("configmaps", "default", "w-0");
      const w2 = c2.watch<ConfigMap>("configmaps", { namespace: "default", resourceVersion: lastRv }, (e) => {
        seen.push(`${e.type}:${e.object.metadata.name}`);
      });
      await until("every event", () => seen.length >= 11);
      await new Promise((r) => setTimeout(r, 300));
      w2.stop();
      expect(seen).toEqual([...Array.from({ length: 10 }, (_, i) => `ADDED:w-${i}`), "DELETED:w-0"]);
    } finally {
      c1.close();
      c2.close();
    }
  });

  it("starts with ADDED for what exists, sends bookmarks when allowed, and filters by selector transitions", async () => {
    await client.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "sel-a", labels: { team: "x" } } });
    const events: WatchEvent<ConfigMap>[] = [];
    const w = client.watch<ConfigMap>("configmaps", { namespace: "default", labelSelector: "team=x", allowWatchBookmarks: true }, (e) => events.push(e));
    await until("initial ADDED", () => events.some((e) => e.type === "ADDED" && e.object.metadata.name === "sel-a"));
    await client.patch("configmaps", "default", "sel-a", { metadata: { labels: { team: "y" } } });
    await until("leaves the selection as DELETED", () => events.some((e) => e.type === "DELETED" && e.object.metadata.name === "sel-a"));
    await client.patch("configmaps", "default", "sel-a", { metadata: { labels: { team: "x" } } });
    await until("comes back as ADDED", () => events.filter((e) => e.type === "ADDED").length >= 2);
    w.stop();
  });

  it("serves a start older than the cache's window from the store, and answers 410 Gone only after compaction", async () => {
    const c3 = cluster.client([masters[2]!]);
    const etcd = new EtcdClient({ endpoints: [`http://${masters[0]!.host}:${masters[0]!.clientPort}`], token: cluster.token });
    try {
      const first = await c3.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "old-0" } });
      // More changes than the cache's window (200 in this cluster) holds.
      for (let i = 1; i < 300; i++) await c3.patch("configmaps", "default", "old-0", { data: { i: String(i) } });
      const seen: string[] = [];
      const resumed = c3.watch<ConfigMap>("configmaps", { namespace: "default", resourceVersion: first.metadata.resourceVersion! }, (e) => {
        if (e.object.metadata.name === "old-0") seen.push(`${e.type}:${e.object.data?.i ?? ""}`);
      });
      await until("every change since the start", () => seen.length >= 299, 20_000);
      resumed.stop();
      expect(seen.slice(0, 3)).toEqual(["MODIFIED:1", "MODIFIED:2", "MODIFIED:3"]);
      expect(seen.at(-1)).toBe("MODIFIED:299");
      expect(new Set(seen).size).toBe(seen.length);

      const latest = await c3.get<ConfigMap>("configmaps", "default", "old-0");
      await etcd.compact(Number(latest.metadata.resourceVersion));
      // A linearizable read on m3: it has applied the compaction too.
      await c3.get("configmaps", "default", "old-0");
      const handle = c3.watch("configmaps", { namespace: "default", resourceVersion: first.metadata.resourceVersion! }, () => {});
      const end = await handle.done;
      expect(end).toBeInstanceOf(KubeApiError);
      expect((end as KubeApiError).code).toBe(410);
    } finally {
      c3.close();
      etcd.close();
    }
  });

  it("sends BOOKMARK events carrying a current resourceVersion when allowed, and none otherwise", async () => {
    const list = await client.list("configmaps", { namespace: "default" });
    const rv = Number(list.metadata.resourceVersion);
    const withMarks = await raw(url(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=1`), { headers: auth() });
    const marks = withMarks.text.trim().split("\n").map((l) => JSON.parse(l) as { type: string; object: { metadata: { resourceVersion: string } } }).filter((e) => e.type === "BOOKMARK");
    expect(marks.length).toBeGreaterThan(0);
    expect(Number(marks[0]!.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(rv);
    const without = await raw(url(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&timeoutSeconds=1`), { headers: auth() });
    expect(without.text).not.toMatch(/BOOKMARK/);
  });

  it("a watch keeps delivering while another master is down", async () => {
    const c1 = cluster.client([masters[0]!]);
    const seen: string[] = [];
    try {
      const w = c1.watch<ConfigMap>("configmaps", { namespace: "default", labelSelector: "survive=yes" }, (e) => seen.push(`${e.type}:${e.object.metadata.name}`));
      // The watch is established once it has delivered something.
      await c1.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "before-loss", labels: { survive: "yes" } } });
      await until("the watch to deliver", () => seen.includes("ADDED:before-loss"), 15_000);
      await cluster.kill("m2");
      // If m2 led, the first try may answer "outcome unknown" (504) while a new leader is elected: try again.
      await until("the write to be acknowledged", async () => {
        try {
          await c1.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "survivor", labels: { survive: "yes" } } });
          return true;
        } catch (err) {
          if (err instanceof KubeApiError && err.code === 409) return true;
          throw err;
        }
      });
      await until("the event on the surviving master", () => seen.includes("ADDED:survivor"), 15_000);
      w.stop();
    } finally {
      c1.close();
      await cluster.restart("m2");
    }
  });

  it("times out with timeoutSeconds and serves the legacy /watch/ path", async () => {
    const t0 = Date.now();
    const r = await raw(url("/api/v1/watch/namespaces/default/configmaps?timeoutSeconds=1&resourceVersion=0"), { headers: auth() });
    expect(r.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const lines = r.text.trim().split("\n").map((l) => JSON.parse(l) as { type: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.type === "ADDED")).toBe(true);
  });
});

describe("deletecollection", () => {
  it("deletes what a label selector picks and nothing else", async () => {
    for (const [name, team] of [["dc-1", "a"], ["dc-2", "a"], ["dc-3", "b"]] as const) {
      await client.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels: { dc: team } } });
    }
    const r = await raw(url("/api/v1/namespaces/default/configmaps?labelSelector=dc%3Da"), { method: "DELETE", headers: auth() });
    expect(r.status).toBe(200);
    const left = await client.list("configmaps", { namespace: "default", labelSelector: "dc" });
    expect(left.items.map((i) => i.metadata.name)).toEqual(["dc-3"]);
  });
});

describe("namespaces", () => {
  it("deleting a namespace marks it Terminating, refuses new content with 403, then removes it and its contents", async () => {
    await client.create("namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "doomed" } } as Namespace);
    await client.create("pods", pod("p"), { namespace: "doomed" });
    await client.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "doomed" } });
    const ns = (await client.delete("namespaces", undefined, "doomed")) as Namespace;
    expect(ns.status?.phase).toBe("Terminating");
    const refused = await apiError(client.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "late", namespace: "doomed" } }));
    expect([403, 404]).toContain(refused.code);
    if (refused.code === 403) expect(refused.message).toMatch(/being terminated/);
    await until("the namespace to go", async () => (await apiError(client.get("namespaces", undefined, "doomed"))).code === 404, 20_000);
    expect((await client.list("configmaps", { namespace: "doomed" })).items).toHaveLength(0);
    expect((await client.list("pods", { namespace: "doomed" })).items).toHaveLength(0);
  });

  it("creating into a missing namespace is 404; default namespaces exist and cannot be deleted", async () => {
    const err = await apiError(client.create("pods", pod("x"), { namespace: "missing" }));
    expect(err.code).toBe(404);
    const names = (await client.list("namespaces")).items.map((n) => n.metadata.name);
    expect(names).toEqual(expect.arrayContaining(["default", "kube-system", "kube-public", "kube-node-lease"]));
    expect((await apiError(client.delete("namespaces", undefined, "kube-system"))).code).toBe(403);
  });
});

describe("services", () => {
  it("allocates a clusterIP and a nodePort in 30000-32767, refuses a taken nodePort with 422, frees ports on delete", async () => {
    const svc = (name: string, nodePort?: number): Service => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name },
      spec: { type: "NodePort", selector: { app: name }, ports: [{ port: 80, targetPort: 80, ...(nodePort ? { nodePort } : {}) }] },
    });
    const a = await client.create("services", svc("np-a"));
    const port = a.spec?.ports?.[0]?.nodePort ?? 0;
    expect(port).toBeGreaterThanOrEqual(30000);
    expect(port).toBeLessThanOrEqual(32767);
    expect(a.spec?.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    const taken = await apiError(client.create("services", svc("np-b", port)));
    expect(taken.code).toBe(422);
    expect(taken.status?.details?.causes?.[0]?.field).toBe("spec.ports[0].nodePort");
    await client.delete("services", "default", "np-a");
    const b = await client.create("services", svc("np-b", port));
    expect(b.spec?.ports?.[0]?.nodePort).toBe(port);
  });
});

describe("pods/log", () => {
  it("proxies to the node's kubelet with the cluster token, 400 when the container is ambiguous, 503 when the kubelet is away", async () => {
    let seenAuth = "";
    let seenPath = "";
    const kubelet = http.createServer((req, res) => {
      seenAuth = req.headers.authorization ?? "";
      seenPath = req.url ?? "";
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("line 1\nline 2\n");
    });
    await new Promise<void>((r) => kubelet.listen(0, "127.0.0.189", r));
    const port = (kubelet.address() as { port: number }).port;
    try {
      const node = (name: string, p: number): Node => ({
        apiVersion: "v1",
        kind: "Node",
        metadata: { name },
        status: { addresses: [{ type: "InternalIP", address: "127.0.0.189" }], daemonEndpoints: { kubeletEndpoint: { Port: p } } },
      });
      await client.create("nodes", node("logs-up", port));
      await client.create("nodes", node("logs-down", 1));
      await client.create("pods", pod("logger", { nodeName: "logs-up" }));
      const r = await raw(url("/api/v1/namespaces/default/pods/logger/log?tailLines=5"), { headers: auth() });
      expect(r.status).toBe(200);
      expect(r.text).toBe("line 1\nline 2\n");
      expect(seenAuth).toBe(`Bearer ${cluster.token}`);
      expect(seenPath).toBe("/containerLogs/default/logger/app?tailLines=5");

      const two = pod("two", { nodeName: "logs-up" });
      two.spec.containers.push({ name: "b", image: "busybox" });
      await client.create("pods", two);
      const ambiguous = await raw(url("/api/v1/namespaces/default/pods/two/log"), { headers: auth() });
      expect(ambiguous.status).toBe(400);
      expect(ambiguous.text).toMatch(/a container name must be specified/);

      await client.create("pods", pod("stranded", { nodeName: "logs-down" }));
      const away = await raw(url("/api/v1/namespaces/default/pods/stranded/log"), { headers: auth() });
      expect(away.status).toBe(503);
      expect((JSON.parse(away.text) as Status).message).toMatch(/kubelet on node "logs-down" is not reachable/);
    } finally {
      kubelet.close();
    }
  });
});

describe("bad input", () => {
  it("401 without or with a wrong token; health endpoints need none", async () => {
    expect((await raw(url("/api/v1/pods"))).status).toBe(401);
    expect((await raw(url("/api/v1/pods"), { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await raw(url("/healthz"))).status).toBe(200);
    expect((await raw(url("/readyz"))).status).toBe(200);
  });

  it("400 with line and column for malformed JSON and YAML; 413 over the body limit; 404 naming an unknown resource", async () => {
    const json = await raw(url("/api/v1/namespaces/default/configmaps"), {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: '{\n  "metadata": {\n    "name": "x",\n  }\n}',
    });
    expect(json.status).toBe(400);
    expect(json.text).toMatch(/line 4/);
    const yaml = await raw(url("/api/v1/namespaces/default/configmaps"), {
      method: "POST",
      headers: { ...auth(), "content-type": "application/yaml" },
      body: "metadata:\n  name: x\n   bad: [\n",
    });
    expect(yaml.status).toBe(400);
    expect(yaml.text).toMatch(/line \d+, column \d+/);
    const big = await raw(url("/api/v1/namespaces/default/configmaps"), {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ metadata: { name: "big" }, data: { x: "a".repeat(4 * 1024 * 1024) } }),
    });
    expect(big.status).toBe(413);
    const unknown = await raw(url("/api/v1/namespaces/default/widgets"), { headers: auth() });
    expect(unknown.status).toBe(404);
    expect(unknown.text).toMatch(/widgets/);
  });

  it("fieldValidation=Strict refuses unknown and duplicate fields, naming them", async () => {
    const r = await raw(url("/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict"), {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ ...deployment("strict"), spec: { ...deployment("strict").spec, replicaz: 3 } }).replace('"replicas":1', '"replicas":1,"replicas":2'),
    });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/unknown field \\"spec.replicaz\\"/);
    expect(r.text).toMatch(/duplicate field \\"spec.replicas\\"/);
  });

  it("a write carrying a stale fencing term is refused with 403 and not applied", async () => {
    const r = await raw(url("/api/v1/namespaces/default/configmaps"), {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json", "x-pinsetter-fence-term": "1" },
      body: JSON.stringify({ metadata: { name: "fenced" } }),
    });
    // Term 1 is long gone after the restarts above only if an election happened; either way a
    // term far in the future is refused.
    const future = await raw(url("/api/v1/namespaces/default/configmaps"), {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json", "x-pinsetter-fence-term": "999999" },
      body: JSON.stringify({ metadata: { name: "fenced-future" } }),
    });
    expect(future.status).toBe(403);
    expect((JSON.parse(future.text) as Status).message).toMatch(/fenced/);
    expect((await apiError(client.get("configmaps", "default", "fenced-future"))).code).toBe(404);
    expect([201, 403]).toContain(r.status);
  });

  it("a fuzz of random and truncated bodies on every route leaves the server up and the store unchanged", async () => {
    await client.create("namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "fuzz" } } as Namespace);
    // A bound pod and a zero-replica deployment: the scheduler and controllers leave their specs alone.
    await client.create("pods", pod("fz", { nodeName: "nowhere" }), { namespace: "fuzz" });
    await client.create("deployments", { ...deployment("fz", 0), metadata: { name: "fz", namespace: "fuzz", labels: { app: "fz" } } });
    await client.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "fz", namespace: "fuzz" }, data: { a: "1" } });
    await client.create<Service>("services", { apiVersion: "v1", kind: "Service", metadata: { name: "fz", namespace: "fuzz" }, spec: { selector: { app: "fz" }, ports: [{ port: 80 }] } });
    const snapshot = async () => {
      const parts: string[] = [];
      for (const res of ["configmaps", "services", "secrets", "leases"]) {
        const l = await client.list(res, { namespace: "fuzz" });
        parts.push(...l.items.map((i) => `${res}/${i.metadata.name}@${i.metadata.resourceVersion}`));
      }
      for (const res of ["pods", "deployments"]) {
        const l = await client.list(res, { namespace: "fuzz" });
        parts.push(...l.items.map((i) => `${res}/${i.metadata.name} ${JSON.stringify(i.spec)} ${JSON.stringify(i.metadata.labels)} ${i.metadata.generation}`));
      }
      parts.push(...(await client.list("namespaces")).items.map((n) => `ns/${n.metadata.name}`));
      return parts.sort();
    };
    const before = await snapshot();
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const valid = JSON.stringify(deployment("fuzzed"));
    const bodies = [
      () => valid.slice(0, Math.floor(rand() * valid.length)),
      () => Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 200) }, () => Math.floor(rand() * 256))).toString("latin1"),
      () => "[]",
      () => "null",
      () => '{"metadata":"x"}',
      () => '{"metadata":{"name":5}}',
      () => "- a\n- b",
      () => '{"apiVersion":"v9","kind":"Nope"}',
    ];
    const routes = [
      ["POST", "/api/v1/namespaces/fuzz/pods"],
      ["POST", "/apis/apps/v1/namespaces/fuzz/deployments"],
      ["PUT", "/api/v1/namespaces/fuzz/pods/fz"],
      ["PUT", "/api/v1/namespaces/fuzz/pods/fz/status"],
      ["PATCH", "/api/v1/namespaces/fuzz/pods/fz"],
      ["PATCH", "/apis/apps/v1/namespaces/fuzz/deployments/fz"],
      ["PATCH", "/apis/apps/v1/namespaces/fuzz/deployments/fz/scale"],
      ["PUT", "/apis/apps/v1/namespaces/fuzz/deployments/fz/scale"],
      ["POST", "/api/v1/namespaces/fuzz/pods/fz/binding"],
      ["PUT", "/api/v1/namespaces/fuzz/configmaps/fz"],
      ["PATCH", "/api/v1/namespaces/fuzz/configmaps/fz"],
      ["POST", "/api/v1/namespaces/fuzz/configmaps"],
      ["POST", "/api/v1/namespaces/fuzz/services"],
      ["PUT", "/api/v1/namespaces/fuzz/services/fz"],
      ["POST", "/api/v1/namespaces"],
      ["POST", "/api/v1/nodes"],
      ["PUT", "/api/v1/namespaces/fuzz"],
      ["POST", "/apis/coordination.k8s.io/v1/namespaces/fuzz/leases"],
    ] as const;
    const types = ["application/json", "application/yaml", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/json-patch+json"];
    let n = 0;
    for (const [method, path] of routes) {
      for (let i = 0; i < 12; i++) {
        const body = bodies[Math.floor(rand() * bodies.length)]!();
        const r = await raw(url(path, masters[n++ % 3]!), { method, headers: { ...auth(), "content-type": types[Math.floor(rand() * types.length)]! }, body });
        expect(r.status, `${method} ${path} ${JSON.stringify(body).slice(0, 80)} -> ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
        expect((JSON.parse(r.text) as Status).kind).toBe("Status");
      }
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe("discovery", () => {
  it("serves /version, /api, /apis, resource lists with short names and subresources, and OpenAPI v3 with fieldValidation on patch", async () => {
    const v = JSON.parse((await raw(url("/version"), { headers: auth() })).text) as { major: string; gitVersion: string };
    expect(v.major).toBe("1");
    const core = JSON.parse((await raw(url("/api/v1"), { headers: auth() })).text) as { resources: { name: string; shortNames?: string[]; categories?: string[] }[] };
    const names = core.resources.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(["pods", "pods/log", "pods/status", "pods/binding", "services", "nodes", "namespaces"]));
    expect(core.resources.find((r) => r.name === "pods")?.shortNames).toEqual(["po"]);
    expect(core.resources.find((r) => r.name === "pods")?.categories).toEqual(["all"]);
    const apps = JSON.parse((await raw(url("/apis/apps/v1"), { headers: auth() })).text) as { resources: { name: string }[] };
    expect(apps.resources.map((r) => r.name)).toEqual(expect.arrayContaining(["deployments", "deployments/scale", "replicasets"]));
    const index = JSON.parse((await raw(url("/openapi/v3"), { headers: auth() })).text) as { paths: Record<string, { serverRelativeURL: string }> };
    const doc = JSON.parse((await raw(url(index.paths["apis/apps/v1"]!.serverRelativeURL), { headers: auth() })).text) as {
      paths: Record<string, { patch?: { parameters: { name: string }[]; "x-kubernetes-group-version-kind": unknown; requestBody: { content: Record<string, unknown> } } }>;
    };
    const patch = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]!.patch!;
    expect(patch["x-kubernetes-group-version-kind"]).toEqual({ group: "apps", version: "v1", kind: "Deployment" });
    expect(patch.parameters.map((p) => p.name)).toContain("fieldValidation");
    expect(Object.keys(patch.requestBody.content)).toContain("application/strategic-merge-patch+json");
  });
});
