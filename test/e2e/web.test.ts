// End-to-end (issue 10): a real cluster of 3 masters and 2 docker nodes runs
// examples/web.yaml and survives what users and machines do to it. The
// scenarios share one cluster and run in order (each builds on the web app
// the first one deploys); the last ones kill a master and a node.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { Endpoints, Pod } from "../../src/api/types.js";
import { E2ECluster, REPO_ROOT } from "./harness/cluster.js";
import { appContainers, docker, dockerAnswers, imagePresent, nodeContainers } from "./harness/docker.js";
import { get, Load, podOf } from "./harness/http.js";
import { eventually, notYet, sleep } from "./harness/wait.js";

const NODE_PORT = 30080;
const hasKubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8", timeout: 20_000 }).status === 0;
const NS = "default";

let cluster: E2ECluster;
let failed = false;

function isReady(p: Pod): boolean {
  return p.status?.phase === "Running" && !!p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") && !p.metadata.deletionTimestamp;
}

/** "web-abc12 w1 Running ready=False restarts=0 waiting=ErrImagePull" for failure messages. */
function describePod(p: Pod): string {
  const cs = p.status?.containerStatuses?.[0];
  const ready = p.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "-";
  const waiting = cs?.state?.waiting?.reason ? ` waiting=${cs.state.waiting.reason}` : "";
  const gone = p.metadata.deletionTimestamp ? " terminating" : "";
  return `${p.metadata.name} ${p.spec.nodeName ?? "unscheduled"} ${p.status?.phase ?? "-"} ready=${ready} restarts=${cs?.restartCount ?? "-"}${waiting}${gone}`;
}

async function webPods(): Promise<Pod[]> {
  return cluster.pods(NS, "app=web");
}

async function readyWebPods(n: number, extra: (p: Pod) => boolean = () => true): Promise<Pod[]> {
  return eventually(
    `${n} web pods Running and Ready`,
    async () => {
      const pods = (await webPods()).filter((p) => !p.metadata.deletionTimestamp);
      const ready = pods.filter((p) => isReady(p) && extra(p));
      return ready.length === n && pods.length === n ? ready : notYet(pods.map(describePod));
    },
    90_000,
    500,
  );
}

/** Asks a nodePort until every expected pod has answered (or a request fails). */
async function answeredBy(url: string, expected: string[], tries = 40): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < tries && seen.size < expected.length; i++) {
    const a = await get(url);
    if (!a.ok) throw new Error(`${url}: ${a.error ?? `HTTP ${a.status}`}`);
    const pod = podOf(a.body);
    if (pod) seen.add(pod);
  }
  return seen;
}

async function podStatus(name: string): Promise<Pod> {
  return cluster.client.get<Pod>("pods", NS, name);
}

async function createPod(name: string, container: Record<string, unknown>, spec: Record<string, unknown> = {}): Promise<void> {
  await cluster.client.create<Pod>("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, labels: { e2e: name } },
    // Bound to a node directly: these scenarios are about the kubelet, not the scheduler.
    spec: { terminationGracePeriodSeconds: 1, nodeName: cluster.nodeNames[0], ...spec, containers: [{ name: "main", image: "pinsetter/busybox:1", imagePullPolicy: "IfNotPresent", ...container }] },
  } as unknown as Pod);
}

/** Changes the web container as `kubectl set image/env` does: a strategic merge patch keyed by container name. */
async function setWebContainer(change: Record<string, unknown>): Promise<void> {
  await cluster.client.patch("deployments", NS, "web", { spec: { template: { spec: { containers: [{ name: "httpd", ...change }] } } } }, "strategic");
}

/** A rollout under load: every request during it must succeed. */
async function rolloutUnderLoad(change: Record<string, unknown>, done: (body: string) => boolean): Promise<void> {
  const urls = cluster.nodeNames.map((n) => cluster.nodeUrl(n, NODE_PORT));
  const load = new Load(urls, 2);
  try {
    await setWebContainer(change);
    await eventually(
      "every web pod replaced and answering with the new template",
      async () => {
        const pods = (await webPods()).filter((p) => !p.metadata.deletionTimestamp);
        if (pods.length !== 3 || !pods.every(isReady)) return false;
        const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => get(urls[i % urls.length]!)));
        return answers.every((a) => a.ok && done(a.body)) ? true : false;
      },
      120_000,
      1000,
    );
    await sleep(1000);
  } finally {
    await load.stop();
  }
  expect(load.ok).toBeGreaterThan(20);
  expect(load.failures, `failed requests during the rollout (${load.ok} ok)`).toEqual([]);
}

beforeAll(async () => {
  if (!dockerAnswers()) throw new Error("no Docker engine answers: run scripts/docker-engine.sh (the e2e tests need one)");
  if (!imagePresent("pinsetter/busybox:1") || !imagePresent("pinsetter/busybox:2")) {
    const r = spawnSync(join(REPO_ROOT, "scripts", "demo-image.sh"), { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`scripts/demo-image.sh failed: ${r.stderr}`);
  }
  cluster = await E2ECluster.start();
}, 120_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") {
    failed = true;
    process.stderr.write(`\n[e2e] "${ctx.task.name}" failed; member logs:\n${cluster?.logTails(10) ?? ""}\n`);
  }
});

afterAll(async () => {
  if (!cluster) return;
  await cluster.cleanup({ keepLogs: failed });
  // Nothing of the run may outlive it: no process, no container of its nodes.
  const left = await nodeContainers(cluster.nodeNames);
  expect(left.map((c) => `${c.node}/${c.pod}/${c.container}`)).toEqual([]);
  expect(cluster.members.filter((m) => cluster.isRunning(m.name)).map((m) => m.name)).toEqual([]);
}, 60_000);

describe.sequential("web app end to end", () => {
  it("web.yaml applied: 3 containers in Docker, pods Running and Ready, the nodePort of both nodes answered by all 3 pods", async () => {
    const r = await cluster.pinctl(["apply", "-f", join(REPO_ROOT, "examples", "web.yaml")]);
    expect(r.code, r.stderr).toBe(0);
    const pods = await readyWebPods(3);
    const names = pods.map((p) => p.metadata.name!).sort();
    const ctrs = await eventually(
      "3 running web containers in Docker",
      async () => {
        const c = (await appContainers(cluster.nodeNames)).filter((x) => x.pod.startsWith("web-"));
        return c.length === 3 ? c : false;
      },
      30_000,
    );
    expect(ctrs.map((c) => c.pod).sort()).toEqual(names);
    for (const node of cluster.nodeNames) {
      const url = cluster.nodeUrl(node, NODE_PORT);
      const seen = await eventually(`all 3 pods answer through ${url}`, async () => {
        const s = await answeredBy(url, names);
        return s.size === 3 ? s : false;
      }, 30_000, 500);
      expect([...seen].sort()).toEqual(names);
    }
  }, 150_000);

  it("pinctl logs and kubectl logs show a container's output", async () => {
    await createPod("talker", { command: ["sh", "-c", "echo line-one; echo line-two; exec sleep 3600"] });
    await eventually("talker Running", async () => (await podStatus("talker")).status?.phase === "Running", 60_000);
    const p = await eventually("pinctl logs talker shows line-one", async () => {
      const r = await cluster.pinctl(["logs", "talker"]);
      return r.code === 0 && r.stdout.includes("line-one") ? r : false;
    }, 20_000, 500);
    expect(p.stdout).toContain("line-two");
    if (!hasKubectl) {
      // A fresh Debian has no kubectl (CI may install Debian's kubernetes-client); pinctl's half still ran.
      process.stderr.write("[e2e] kubectl not installed: kubectl logs not checked\n");
      return;
    }
    const k = await eventually("kubectl logs talker shows line-two", async () => {
      const r = await cluster.kubectl(["logs", "talker", "-n", NS]);
      return r.code === 0 && r.stdout.includes("line-two") ? r : notYet(r.stderr.trim() || r.stdout);
    }, 20_000, 500);
    expect(k.stdout).toContain("line-one");
  }, 120_000);

  it("a container killed through Docker is restarted (restartCount 1)", async () => {
    const [ctr] = await appContainers(cluster.nodeNames, "talker");
    expect(ctr, "talker's container in Docker").toBeDefined();
    await docker("kill", ctr!.id);
    const pod = await eventually(
      "talker restarted once and Running again",
      async () => {
        const p = await podStatus("talker");
        const cs = p.status?.containerStatuses?.[0];
        return cs?.restartCount === 1 && cs.state?.running && p.status?.phase === "Running" ? p : false;
      },
      60_000,
    );
    expect(pod.status!.containerStatuses![0]!.lastState?.terminated).toBeDefined();
    const now = await appContainers(cluster.nodeNames, "talker");
    expect(now.map((c) => c.id)).not.toContain(ctr!.id);
  }, 90_000);

  it("a failing liveness probe restarts its container", async () => {
    await createPod("sickly", {
      command: ["sh", "-c", "touch /tmp/healthy; sleep 3; rm /tmp/healthy; exec sleep 3600"],
      livenessProbe: { exec: { command: ["test", "-f", "/tmp/healthy"] }, periodSeconds: 1, failureThreshold: 2, timeoutSeconds: 1 },
    });
    const pod = await eventually(
      "sickly restarted by its liveness probe",
      async () => {
        const p = await podStatus("sickly");
        return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? p : false;
      },
      60_000,
      500,
    );
    expect(pod.status!.containerStatuses![0]!.lastState?.terminated).toBeDefined();
  }, 90_000);

  it("a container that exits at once reaches CrashLoopBackOff with growing back-off", async () => {
    await createPod("crasher", { command: ["sh", "-c", "echo crashing; exit 3"] }, { restartPolicy: "Always" });
    const restartSeenAt = new Map<number, number>();
    let sawBackOff = false;
    const t0 = Date.now();
    await eventually(
      "crasher restarted twice, waiting in CrashLoopBackOff",
      async () => {
        const p = await podStatus("crasher");
        const cs = p.status?.containerStatuses?.[0];
        const n = cs?.restartCount ?? 0;
        if (!restartSeenAt.has(n)) restartSeenAt.set(n, Date.now());
        if (cs?.state?.waiting?.reason === "CrashLoopBackOff") sawBackOff = true;
        return n >= 2 && sawBackOff ? true : notYet(cs?.state);
      },
      75_000,
      250,
    );
    expect(sawBackOff).toBe(true);
    const first = (restartSeenAt.get(1) ?? t0) - t0;
    const second = (restartSeenAt.get(2) ?? Date.now()) - (restartSeenAt.get(1) ?? t0);
    // 10 s then 20 s in the kubelet; only the growth is asserted.
    expect(second, `back-off before restart 1: ${first} ms, before restart 2: ${second} ms`).toBeGreaterThan(first);
    await cluster.client.delete("pods", NS, "crasher");
  }, 120_000);

  it("a pod that turns not-ready leaves the Service's endpoints and gets no more requests", async () => {
    const pods = await readyWebPods(3);
    const victim = pods[0]!;
    const name = victim.metadata.name!;
    const [ctr] = await appContainers(cluster.nodeNames, name);
    expect(ctr, `${name}'s container`).toBeDefined();
    // The readiness probe asks for /: without the page httpd answers 404.
    await docker("exec", ctr!.id, "mv", "/www/index.html", "/www/off.html");
    try {
      await eventually(`${name} not Ready and out of the endpoints`, async () => {
        const p = await podStatus(name);
        const eps = await cluster.client.get<Endpoints>("endpoints", NS, "web");
        const ips = (eps.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
        return !isReady(p) && p.status?.podIP && !ips.includes(p.status.podIP) && ips.length === 2 ? true : false;
      }, 30_000, 250);
      // The proxies follow within a second.
      await sleep(1500);
      for (const node of cluster.nodeNames) {
        const seen = new Set<string>();
        for (let i = 0; i < 12; i++) {
          const a = await get(cluster.nodeUrl(node, NODE_PORT));
          expect(a.ok, `${node}: ${a.error ?? a.status}`).toBe(true);
          seen.add(podOf(a.body) ?? a.body);
        }
        expect([...seen]).not.toContain(name);
        expect(seen.size).toBe(2);
      }
    } finally {
      await docker("exec", ctr!.id, "mv", "/www/off.html", "/www/index.html").catch(() => "");
    }
    await readyWebPods(3);
  }, 90_000);

  it("changing the image rolls the pods over while the Service answers every request", async () => {
    await rolloutUnderLoad(
      { image: "pinsetter/busybox:2" },
      (body) => / v2\b/.test(body),
    );
    const pods = await webPods();
    expect(pods.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.spec.containers[0]!.image)).toEqual(Array(3).fill("pinsetter/busybox:2"));
  }, 180_000);

  it("changing the env rolls the pods over while the Service answers every request", async () => {
    await rolloutUnderLoad(
      { env: [{ name: "GREETING", value: "rolled" }] },
      (body) => body.endsWith(" rolled"),
    );
  }, 180_000);

  it("kill -9 of the leader master: kubelets, proxies and pinctl carry on through the others", async () => {
    const leader = await cluster.waitForLeader(10_000);
    await cluster.kill(leader);
    const r = await eventually("pinctl get pods answers", async () => {
      const x = await cluster.pinctl(["get", "pods"]);
      return x.code === 0 ? x : notYet(x.stderr);
    }, 30_000, 500);
    expect(r.stdout).toContain("web-");
    const scaled = await eventually("pinctl scale deployment/web --replicas 4", async () => {
      const x = await cluster.pinctl(["scale", "deployment/web", "--replicas", "4"]);
      return x.code === 0 ? x : notYet(x.stderr);
    }, 20_000, 500);
    expect(scaled.code).toBe(0);
    const pods = await readyWebPods(4);
    const names = pods.map((p) => p.metadata.name!).sort();
    for (const node of cluster.nodeNames) {
      const url = cluster.nodeUrl(node, NODE_PORT);
      await eventually(`all 4 pods answer through ${url}`, async () => (await answeredBy(url, names, 60)).size === 4, 30_000, 500);
    }
    cluster.startMember(leader);
    await cluster.waitForLeader(20_000);
  }, 150_000);

  it("kill -9 of a node: its pods are replaced on the other node, the Service keeps answering, the restarted node removes its stale containers", async () => {
    const before = (await webPods()).filter(isReady);
    expect(before.length, "ready web pods before the node is killed (deployed by the first scenario)").toBeGreaterThan(0);
    const counts = new Map<string, number>();
    for (const p of before) counts.set(p.spec.nodeName!, (counts.get(p.spec.nodeName!) ?? 0) + 1);
    const victim = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    const survivor = cluster.nodeNames.find((n) => n !== victim)!;
    const url = cluster.nodeUrl(survivor, NODE_PORT);
    const lost = before.filter((p) => p.spec.nodeName === victim).map((p) => p.metadata.name!);
    const load = new Load([url], 1);
    await cluster.kill(victim);
    const t0 = Date.now();
    let pods: Pod[];
    try {
      pods = await readyWebPods(before.length, (p) => p.spec.nodeName === survivor);
      const names = pods.map((p) => p.metadata.name!).sort();
      await eventually(`all ${names.length} pods answer through ${url}`, async () => (await answeredBy(url, names, 60)).size === names.length, 30_000, 500);
    } finally {
      await load.stop();
    }
    process.stderr.write(`[e2e] node loss: serving from all replicas again after ${Date.now() - t0} ms; ${load.failures.length} failed of ${load.ok + load.failures.length} requests\n`);
    // The lost pods' containers still run in Docker (kill -9 stops only the kubelet).
    cluster.startMember(victim);
    await cluster.waitForNodesReady([victim], 60_000);
    await eventually(`the restarted ${victim} removes the containers of its evicted pods`, async () => {
      const left = (await appContainers([victim])).filter((c) => lost.includes(c.pod));
      return left.length === 0 ? true : notYet(left.map((c) => c.pod));
    }, 60_000, 500);
    const a = await get(url);
    expect(a.ok).toBe(true);
  }, 240_000);
});
