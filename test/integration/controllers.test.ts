// The controllers against the real API of three master processes on
// loopback. If the masters do not run the controllers themselves (not wired
// yet), this process runs them (startControllers) against the same API; a
// stand-in kubelet in the test marks pods Running and Ready through the status
// subresource, since no real node runs here. Scenarios: a Deployment
// converges and heals; a rolling update stays within maxSurge/maxUnavailable
// in every state a watch sees; rollback; pause and resume; the garbage
// collector (background, foreground, orphan); Endpoints follow readiness.

import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deployment, Endpoints, Event, KubeObject, Pod, ReplicaSet, Scale, Service } from "../../src/api/types.js";
import { Informer } from "../../src/client/informer.js";
import { KubeApiError, KubeClient } from "../../src/client/kube-client.js";
import { startControllers } from "../../src/controllers/index.js";
import { apiServers, ClusterProcesses, everyMasterAnswers, getOrNull as getFrom, mastersOn, sleep, until as untilEvery } from "../lib/cluster-processes.js";

const TOKEN = "controllers-test-token";
const masters = mastersOn(["127.0.0.141", "127.0.0.142", "127.0.0.143"], { raftPort: 7701, clientPort: 2779, apiPort: 6843 });

let cluster: ClusterProcesses | null = null;
let client: KubeClient;
let inProcess: { stop(): Promise<void> } | null = null;
let kubelet: FakeKubelet | null = null;

const until = <T>(what: string, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 30_000) => untilEvery(what, probe, timeoutMs, { everyMs: 150 });

const getOrNull = <T extends KubeObject>(resource: string, ns: string | undefined, name: string) => getFrom<T>(client, resource, ns, name);

/** Stands in for kubelets: gives each new pod an IP, Running, and Ready after a delay, and
 *  keeps asserting the readiness it was told (another writer may replace the conditions). */
class FakeKubelet {
  private readonly informer: Informer<Pod>;
  private ip = 1;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** the readiness each pod should report, by namespace/name */
  private readonly desired = new Map<string, boolean>();
  private readonly pending = new Set<string>();
  readonly holdReady = new Set<string>();

  constructor(private readonly readyDelayMs: () => number) {
    this.informer = new Informer<Pod>(client, "pods");
    this.informer.addHandlers({ onAdd: (p) => this.check(p), onUpdate: (_o, p) => this.check(p) });
    this.informer.start();
  }

  private check(p: Pod): void {
    if (p.metadata.deletionTimestamp) return;
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    let want = this.desired.get(key);
    if (want === undefined) this.desired.set(key, (want = !this.holdReady.has(p.metadata.namespace!)));
    const ready = p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    const hasReady = p.status?.conditions?.some((c) => c.type === "Ready") ?? false;
    if (p.status?.podIP && hasReady && ready === want) return;
    if (this.pending.has(key)) return;
    this.pending.add(key);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.pending.delete(key);
      void this.write(p.metadata.namespace!, p.metadata.name!).catch(() => undefined);
    }, p.status?.podIP ? 20 : this.readyDelayMs());
    this.timers.add(t);
  }

  /** Sets a pod's readiness (and keeps it so). */
  async setStatus(ns: string, name: string, ready: boolean): Promise<void> {
    this.desired.set(`${ns}/${name}`, ready);
    await this.write(ns, name);
  }

  private async write(ns: string, name: string): Promise<void> {
    const ready = this.desired.get(`${ns}/${name}`) ?? true;
    for (let attempt = 0; attempt < 10; attempt++) {
      const pod = await getOrNull<Pod>("pods", ns, name);
      if (!pod) return;
      const now = new Date().toISOString();
      const ip = pod.status?.podIP ?? `10.77.${Math.floor(this.ip / 250)}.${(this.ip++ % 250) + 1}`;
      const prevReady = pod.status?.conditions?.find((c) => c.type === "Ready");
      const others = (pod.status?.conditions ?? []).filter((c) => c.type !== "Ready");
      pod.status = {
        ...(pod.status ?? {}),
        phase: "Running",
        podIP: ip,
        podIPs: [{ ip }],
        startTime: pod.status?.startTime ?? now,
        conditions: [...others, { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: prevReady?.status === (ready ? "True" : "False") ? prevReady.lastTransitionTime : now }],
      };
      try {
        await client.update("pods", pod, { subresource: "status" });
        return;
      } catch (err) {
        if (!(err instanceof KubeApiError && err.conflict)) throw err;
      }
    }
  }

  stop(): void {
    this.informer.stop();
    for (const t of this.timers) clearTimeout(t);
  }
}

async function createNamespace(name: string): Promise<void> {
  await client.create("namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

function deploymentManifest(ns: string, name: string, replicas: number, image: string, extra: Partial<Deployment["spec"]> = {}): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "web", image, ports: [{ name: "http", containerPort: 8080 }] }] } },
      ...extra,
    },
  };
}

async function podsOf(ns: string, app: string): Promise<Pod[]> {
  return (await client.list<Pod>("pods", { namespace: ns, labelSelector: `app=${app}` })).items.filter((p) => !p.metadata.deletionTimestamp);
}

async function replicaSetsOf(ns: string): Promise<ReplicaSet[]> {
  return (await client.list<ReplicaSet>("replicasets", { namespace: ns })).items;
}

/** Complete: every replica updated, ready and available, nothing old left. */
async function rolledOut(ns: string, name: string, replicas: number): Promise<Deployment | null> {
  const d = await client.get<Deployment>("deployments", ns, name);
  const s = d.status ?? {};
  const done =
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    s.replicas === replicas &&
    s.updatedReplicas === replicas &&
    s.availableReplicas === replicas &&
    s.conditions?.some((c) => c.type === "Progressing" && c.reason === "NewReplicaSetAvailable");
  return done ? d : null;
}

/** Controllers in this process, as a leader master would run them. */
function startInProcess(): { stop(): Promise<void> } {
  const ctrlClient = new KubeClient({ servers: apiServers(masters), token: TOKEN, timeoutMs: 10_000 });
  const running = startControllers({ client: ctrlClient, logger: pino({ level: process.env.CONTROLLERS_TEST_LOG ?? "silent" }) });
  return {
    async stop() {
      await running.stop();
      ctrlClient.close();
    },
  };
}

beforeAll(async () => {
  cluster = new ClusterProcesses("pinsetter-controllers-", { clusterName: "controllers-test", dataDir: "data", token: TOKEN, raft: { heartbeatMs: 50, electionTimeoutMs: 500, snapshotEvery: 5000 }, masters, nodes: [] });
  for (const m of masters) cluster.startMaster(m.name);
  client = new KubeClient({ servers: apiServers(masters), token: TOKEN, timeoutMs: 10_000 });
  await until("the API on every master", () => everyMasterAnswers(masters, TOKEN), 80_000); // a loaded machine (2 cores, many suites) can take this long

  // Do the masters run the controllers already? An Endpoints for a new Service says so.
  await createNamespace("probe");
  await client.create<Service>("services", { apiVersion: "v1", kind: "Service", metadata: { name: "probe", namespace: "probe" }, spec: { selector: { app: "probe" }, ports: [{ port: 80 }] } });
  const wired = await until("endpoints from the masters' controllers", () => getOrNull<Endpoints>("endpoints", "probe", "probe"), 5000).catch(() => null);
  if (!wired) inProcess = startInProcess();
  kubelet = new FakeKubelet(() => 100 + Math.floor(Math.random() * 300));
}, 150_000);

afterAll(async () => {
  kubelet?.stop();
  await inProcess?.stop();
  client?.close();
  await cluster?.stop();
});

describe("deployments", () => {
  it("a Deployment converges: a hashed ReplicaSet, its pods owned and ready, status and conditions, a ScalingReplicaSet event; /scale and a lost pod are healed", async () => {
    await createNamespace("converge");
    await client.create("deployments", deploymentManifest("converge", "web", 3, "pinsetter/busybox:1"));
    const d = await until("rollout complete", () => rolledOut("converge", "web", 3));
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(d.status!.unavailableReplicas ?? 0).toBe(0);
    expect(d.status!.conditions!.find((c) => c.type === "Available")).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
    expect(d.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("1");

    const rss = await replicaSetsOf("converge");
    expect(rss).toHaveLength(1);
    const rs = rss[0]!;
    const hash = rs.metadata.labels!["pod-template-hash"]!;
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.spec.selector.matchLabels).toEqual({ app: "web", "pod-template-hash": hash });
    expect(rs.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "Deployment", name: "web", uid: d.metadata.uid, controller: true, blockOwnerDeletion: true })]);
    expect(rs.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, fullyLabeledReplicas: 3, observedGeneration: rs.metadata.generation });

    const pods = await podsOf("converge", "web");
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name!.startsWith(`web-${hash}-`)).toBe(true);
      expect(p.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "ReplicaSet", uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true })]);
    }
    const events = await until("a ScalingReplicaSet event", async () => {
      const evs = (await client.list<Event>("events", { namespace: "converge" })).items;
      return evs.some((e) => e.reason === "ScalingReplicaSet") ? evs : null;
    });
    expect(events.find((e) => e.reason === "ScalingReplicaSet")!.message).toBe(`Scaled up replica set web-${hash} to 3`);
    expect(events.some((e) => e.reason === "SuccessfulCreate" && e.involvedObject.kind === "ReplicaSet")).toBe(true);

    // The scale subresource, as `kubectl scale` uses it.
    const scale = await client.get<Scale>("deployments", "converge", "web", "scale");
    // No resourceVersion, as `kubectl scale` without --resource-version: the controllers write the Deployment meanwhile.
    await client.update<Scale>("deployments", { ...scale, metadata: { ...scale.metadata, resourceVersion: undefined }, spec: { replicas: 5 } }, { subresource: "scale" });
    await until("5 replicas", () => rolledOut("converge", "web", 5));
    expect(await podsOf("converge", "web")).toHaveLength(5);

    // A pod lost is replaced.
    const victim = (await podsOf("converge", "web"))[0]!;
    await client.delete("pods", "converge", victim.metadata.name!);
    await until("a replacement pod", async () => {
      const now = await podsOf("converge", "web");
      return now.length === 5 && !now.some((p) => p.metadata.uid === victim.metadata.uid);
    });
    await until("5 available again", () => rolledOut("converge", "web", 5));
    expect(await replicaSetsOf("converge")).toHaveLength(1);
  });

  it("a rolling update never goes above maxSurge or below maxUnavailable in any state a watch sees; rollback reuses the old ReplicaSet with the next revision", async () => {
    const ns = "rolling";
    await createNamespace(ns);
    const replicas = 4;
    await client.create("deployments", deploymentManifest(ns, "web", replicas, "pinsetter/busybox:1", { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    await until("first rollout", () => rolledOut(ns, "web", replicas));
    const [rs1] = await replicaSetsOf(ns);

    // Watch every pod state from here on.
    const list = await client.list<Pod>("pods", { namespace: ns });
    const pods = new Map(list.items.map((p) => [p.metadata.name!, p]));
    let maxTotal = 0;
    let minReady = Infinity;
    let states = 0;
    // A pod once Ready whose Ready condition is merely missing (another writer replaced the
    // conditions list: the scheduler's PodScheduled patch on these never-bound pods) is still ready.
    const wasReady = new Set<string>();
    const isReady = (p: Pod) => {
      const c = p.status?.conditions?.find((x) => x.type === "Ready");
      if (c?.status === "True") wasReady.add(p.metadata.uid!);
      return c ? c.status === "True" : wasReady.has(p.metadata.uid!);
    };
    const observe = () => {
      const live = [...pods.values()].filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded");
      const ready = live.filter(isReady).length;
      maxTotal = Math.max(maxTotal, live.length);
      minReady = Math.min(minReady, ready);
      states++;
    };
    observe();
    const watch = client.watch<Pod>("pods", { namespace: ns, resourceVersion: list.metadata.resourceVersion }, (e) => {
      if (e.type === "DELETED") pods.delete(e.object.metadata.name!);
      else if (e.type === "ADDED" || e.type === "MODIFIED") pods.set(e.object.metadata.name!, e.object);
      observe();
    });
    try {
      for (const image of ["pinsetter/busybox:2", "pinsetter/busybox:3"]) {
        await client.patch("deployments", ns, "web", { spec: { template: { spec: { containers: [{ name: "web", image, ports: [{ name: "http", containerPort: 8080 }] }] } } } }, "strategic");
        await until(`rollout to ${image}`, async () => {
          const d = await rolledOut(ns, "web", replicas);
          return d && d.spec.template.spec.containers[0]!.image === image ? d : null;
        }, 60_000);
      }
    } finally {
      watch.stop();
    }
    expect(states).toBeGreaterThan(10);
    expect(maxTotal).toBeLessThanOrEqual(replicas + 1);
    expect(minReady).toBeGreaterThanOrEqual(replicas - 1);

    let rss = await replicaSetsOf(ns);
    expect(rss).toHaveLength(3);
    const rev = (r: ReplicaSet) => r.metadata.annotations?.["deployment.kubernetes.io/revision"];
    expect(rss.map((r) => [r.spec.template.spec.containers[0]!.image, rev(r), r.spec.replicas]).sort()).toEqual([
      ["pinsetter/busybox:1", "1", 0],
      ["pinsetter/busybox:2", "2", 0],
      ["pinsetter/busybox:3", "3", replicas],
    ]);

    // Rollback as `kubectl rollout undo --to-revision=1` does it: the old template, without its hash label, patched back.
    const template = structuredClone(rss.find((r) => r.metadata.uid === rs1!.metadata.uid)!.spec.template);
    delete template.metadata!.labels!["pod-template-hash"];
    await client.patch("deployments", ns, "web", [{ op: "replace", path: "/spec/template", value: template }], "json");
    const d = await until("rollback complete", async () => {
      const d = await rolledOut(ns, "web", replicas);
      return d && d.spec.template.spec.containers[0]!.image === "pinsetter/busybox:1" ? d : null;
    }, 60_000);
    rss = await replicaSetsOf(ns);
    expect(rss).toHaveLength(3);
    const back = rss.find((r) => r.metadata.uid === rs1!.metadata.uid)!;
    expect(back.spec.replicas).toBe(replicas);
    expect(rev(back)).toBe("4");
    expect(back.metadata.annotations?.["deployment.kubernetes.io/revision-history"]).toBe("1");
    expect(d.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("4");
    const pods1 = await podsOf(ns, "web");
    expect(pods1.every((p) => p.metadata.labels!["pod-template-hash"] === back.metadata.labels!["pod-template-hash"])).toBe(true);
  });

  it("a paused Deployment does not roll out (but scales); resume rolls out; Recreate replaces all at once; revisionHistoryLimit cleans up", async () => {
    const ns = "paused";
    await createNamespace(ns);
    await client.create("deployments", deploymentManifest(ns, "web", 2, "pinsetter/busybox:1", { revisionHistoryLimit: 1 }));
    await until("first rollout", () => rolledOut(ns, "web", 2));
    await client.patch("deployments", ns, "web", { spec: { paused: true } }, "merge");
    await client.patch("deployments", ns, "web", { spec: { replicas: 3, template: { spec: { containers: [{ name: "web", image: "pinsetter/busybox:2" }] } } } }, "strategic");
    const paused = await until("Progressing DeploymentPaused", async () => {
      const d = await client.get<Deployment>("deployments", ns, "web");
      return d.status?.conditions?.some((c) => c.type === "Progressing" && c.reason === "DeploymentPaused") && d.status.availableReplicas === 3 ? d : null;
    });
    expect(paused.status!.updatedReplicas).toBe(0);
    expect(await replicaSetsOf(ns)).toHaveLength(1);
    expect(await podsOf(ns, "web")).toHaveLength(3);

    await client.patch("deployments", ns, "web", { spec: { paused: false } }, "merge");
    await until("resumed rollout complete", async () => {
      const d = await rolledOut(ns, "web", 3);
      return d && (await podsOf(ns, "web")).every((p) => p.spec.containers[0]!.image === "pinsetter/busybox:2") ? d : null;
    }, 60_000);

    // Recreate: the old pods all go before any new one comes.
    await client.patch("deployments", ns, "web", { spec: { strategy: { type: "Recreate", rollingUpdate: null }, template: { spec: { containers: [{ name: "web", image: "pinsetter/busybox:3" }] } } } }, "strategic");
    const seenMixed = { value: false };
    const list = await client.list<Pod>("pods", { namespace: ns });
    const pods = new Map(list.items.map((p) => [p.metadata.name!, p]));
    const watch = client.watch<Pod>("pods", { namespace: ns, resourceVersion: list.metadata.resourceVersion }, (e) => {
      if (e.type === "DELETED") pods.delete(e.object.metadata.name!);
      else pods.set(e.object.metadata.name!, e.object);
      const images = new Set([...pods.values()].map((p) => p.spec.containers[0]!.image));
      if (images.size > 1) seenMixed.value = true;
    });
    try {
      await until("recreate complete", async () => {
        const d = await rolledOut(ns, "web", 3);
        return d && (await podsOf(ns, "web")).every((p) => p.spec.containers[0]!.image === "pinsetter/busybox:3") ? d : null;
      }, 60_000);
    } finally {
      watch.stop();
    }
    expect(seenMixed.value).toBe(false);
    // revisionHistoryLimit 1: the current ReplicaSet and one old one.
    await until("old ReplicaSets cleaned up", async () => (await replicaSetsOf(ns)).length === 2);
  });
});

describe("replica sets", () => {
  it("adopt a matching orphan instead of creating, release a relabelled pod and replace it; minReadySeconds delays availability", async () => {
    const ns = "adopt";
    await createNamespace(ns);
    const orphan: Pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "stray", namespace: ns, labels: { app: "rs" } }, spec: { containers: [{ name: "c", image: "pinsetter/busybox:1" }] } };
    await client.create("pods", orphan);
    const rs: ReplicaSet = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "rs", namespace: ns },
      spec: { replicas: 3, minReadySeconds: 3, selector: { matchLabels: { app: "rs" } }, template: { metadata: { labels: { app: "rs" } }, spec: { containers: [{ name: "c", image: "pinsetter/busybox:1" }] } } },
    };
    const created = await client.create<ReplicaSet>("replicasets", rs);
    const ready = await until("3 ready", async () => {
      const r = await client.get<ReplicaSet>("replicasets", ns, "rs");
      return r.status?.readyReplicas === 3 ? r : null;
    });
    const readyAt = Date.now();
    expect(ready.status!.availableReplicas ?? 0).toBeLessThan(3); // ready, not yet for minReadySeconds
    await until("3 available", async () => (await client.get<ReplicaSet>("replicasets", ns, "rs")).status?.availableReplicas === 3);
    expect(Date.now() - readyAt).toBeGreaterThan(500);

    const pods = await podsOf(ns, "rs");
    expect(pods).toHaveLength(3);
    const stray = pods.find((p) => p.metadata.name === "stray")!;
    expect(stray.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "ReplicaSet", uid: created.metadata.uid, controller: true })]);

    await client.patch("pods", ns, "stray", { metadata: { labels: { app: "elsewhere" } } }, "merge");
    await until("released and replaced", async () => {
      const released = await client.get<Pod>("pods", ns, "stray");
      return (released.metadata.ownerReferences ?? []).length === 0 && (await podsOf(ns, "rs")).length === 3;
    });
  });
});

describe("a new set of controllers takes over (as after a leader change)", () => {
  it("mid-creation of 60 pods and mid-rollout, ending with exactly the desired pods and one complete rollout", async (ctx) => {
    if (!inProcess) ctx.skip(); // the masters run the controllers: leader failover is tested with the masters
    const ns = "handover";
    await createNamespace(ns);
    await client.create("deployments", deploymentManifest(ns, "web", 60, "pinsetter/busybox:1", { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "20%", maxUnavailable: 0 } } }));
    await until("some pods created", async () => (await podsOf(ns, "web")).length >= 5);
    await inProcess!.stop();
    inProcess = startInProcess();
    await until("first rollout", () => rolledOut(ns, "web", 60), 90_000);
    expect(await podsOf(ns, "web")).toHaveLength(60);

    await client.patch("deployments", ns, "web", { spec: { template: { spec: { containers: [{ name: "web", image: "pinsetter/busybox:2" }] } } } }, "strategic");
    await until("rollout under way", async () => (await replicaSetsOf(ns)).some((r) => r.spec.template.spec.containers[0]!.image === "pinsetter/busybox:2" && (r.status?.availableReplicas ?? 0) > 0));
    await inProcess!.stop();
    inProcess = startInProcess();
    await until("second rollout", async () => {
      const d = await rolledOut(ns, "web", 60);
      return d && d.spec.template.spec.containers[0]!.image === "pinsetter/busybox:2" ? d : null;
    }, 120_000);
    const pods = await podsOf(ns, "web");
    expect(pods).toHaveLength(60);
    expect(new Set(pods.map((p) => p.metadata.name)).size).toBe(60);
    expect(pods.every((p) => p.spec.containers[0]!.image === "pinsetter/busybox:2")).toBe(true);
    expect((await replicaSetsOf(ns)).filter((r) => (r.spec.replicas ?? 0) > 0)).toHaveLength(1);
  });
});

describe("garbage collector", () => {
  it("deleting a ReplicaSet deletes its pods; Orphan leaves them without an owner; Foreground deletes dependents before the owner", async () => {
    const ns = "gc";
    await createNamespace(ns);
    const rs = (name: string): ReplicaSet => ({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name, namespace: ns },
      spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "pinsetter/busybox:1" }] } } },
    });
    for (const name of ["bg", "orphan", "fg"]) await client.create("replicasets", rs(name));
    for (const name of ["bg", "orphan", "fg"]) await until(`${name} pods`, async () => (await podsOf(ns, name)).length === 2);

    await client.delete("replicasets", ns, "bg", { propagationPolicy: "Background" });
    await until("background: pods deleted", async () => (await podsOf(ns, "bg")).length === 0);

    const orphanPods = await podsOf(ns, "orphan");
    await client.delete("replicasets", ns, "orphan", { propagationPolicy: "Orphan" });
    await until("orphan: ReplicaSet gone", async () => (await getOrNull("replicasets", ns, "orphan")) === null);
    const left = await podsOf(ns, "orphan");
    expect(left.map((p) => p.metadata.uid).sort()).toEqual(orphanPods.map((p) => p.metadata.uid).sort());
    expect(left.every((p) => (p.metadata.ownerReferences ?? []).length === 0)).toBe(true);

    await client.delete("replicasets", ns, "fg", { propagationPolicy: "Foreground" });
    const owner = await getOrNull<ReplicaSet>("replicasets", ns, "fg");
    if (owner) {
      // Still there while its pods go: deletionTimestamp and the foregroundDeletion finalizer.
      expect(owner.metadata.deletionTimestamp).toBeTruthy();
      expect(owner.metadata.finalizers).toContain("foregroundDeletion");
    }
    await until("foreground: owner gone", async () => (await getOrNull("replicasets", ns, "fg")) === null);
    expect(await podsOf(ns, "fg")).toHaveLength(0);
  });

  it("deleting a Deployment removes its ReplicaSets and pods", async () => {
    const ns = "gc-deploy";
    await createNamespace(ns);
    await client.create("deployments", deploymentManifest(ns, "web", 2, "pinsetter/busybox:1"));
    await until("rollout", () => rolledOut(ns, "web", 2));
    await client.delete("deployments", ns, "web");
    await until("everything gone", async () => (await replicaSetsOf(ns)).length === 0 && (await client.list("pods", { namespace: ns })).items.length === 0);
  });
});

describe("endpoints", () => {
  it("follow pod readiness, resolve named ports, and go with the service", async () => {
    const ns = "endpoints";
    await createNamespace(ns);
    await client.create<Service>("services", { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: ns }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] } });
    await client.create("deployments", deploymentManifest(ns, "web", 2, "pinsetter/busybox:1"));
    await until("rollout", () => rolledOut(ns, "web", 2));
    const ep = await until("two ready addresses", async () => {
      const ep = await getOrNull<Endpoints>("endpoints", ns, "web");
      return ep?.subsets?.[0]?.addresses?.length === 2 ? ep : null;
    });
    const pods = await podsOf(ns, "web");
    expect(ep.subsets![0]!.ports).toEqual([expect.objectContaining({ name: "http", port: 8080, protocol: "TCP" })]);
    expect(ep.subsets![0]!.addresses!.map((a) => a.ip).sort()).toEqual(pods.map((p) => p.status!.podIP).sort());
    expect(ep.subsets![0]!.addresses![0]!.targetRef).toMatchObject({ kind: "Pod", namespace: ns });

    await kubelet!.setStatus(ns, pods[0]!.metadata.name!, false);
    await until("one address not ready", async () => {
      const ep = await getOrNull<Endpoints>("endpoints", ns, "web");
      const s = ep?.subsets?.[0];
      return s?.addresses?.length === 1 && s.notReadyAddresses?.length === 1 && s.notReadyAddresses[0]!.ip === pods[0]!.status!.podIP;
    });
    await kubelet!.setStatus(ns, pods[0]!.metadata.name!, true);
    await until("ready again", async () => (await getOrNull<Endpoints>("endpoints", ns, "web"))?.subsets?.[0]?.addresses?.length === 2);

    await client.delete("services", ns, "web");
    await until("endpoints deleted with the service", async () => (await getOrNull("endpoints", ns, "web")) === null);
  });
});

describe("namespaces", () => {
  it("a deleted namespace loses everything in it, then disappears", async () => {
    const ns = "doomed";
    await createNamespace(ns);
    await client.create("deployments", deploymentManifest(ns, "web", 2, "pinsetter/busybox:1"));
    await until("rollout", () => rolledOut(ns, "web", 2));
    await client.delete("namespaces", undefined, ns);
    await until("namespace gone", async () => (await getOrNull("namespaces", undefined, ns)) === null, 45_000);
    expect((await client.list("pods", { namespace: ns })).items).toHaveLength(0);
  });
});

const hasKubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;

describe("kubectl rollout against the controllers", () => {
  it.skipIf(!hasKubectl)("status, history, undo, pause/resume and restart work as with Kubernetes", async () => {
    const ns = "kubectl";
    await createNamespace(ns);
    const kubeconfig = join(cluster!.dir, "kubeconfig");
    // kubectl sends a bearer token only over TLS; the API port speaks both.
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: p",
        "  cluster:",
        `    server: https://${masters[0]!.host}:${masters[0]!.apiPort}`,
        "    insecure-skip-tls-verify: true",
        "users:",
        "- name: admin",
        "  user:",
        `    token: ${TOKEN}`,
        "contexts:",
        `- name: p`,
        `  context: {cluster: p, user: admin, namespace: ${ns}}`,
        "current-context: p",
        "",
      ].join("\n"),
    );
    // Asynchronous: this process runs the stand-in kubelet (and maybe the controllers), which a spawnSync would freeze.
    const kubectl = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const child = spawn("kubectl", ["--kubeconfig", kubeconfig, ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: 90_000 });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
      });
    const image = async () => (await client.get<Deployment>("deployments", ns, "web")).spec.template.spec.containers[0]!.image;

    await client.create("deployments", deploymentManifest(ns, "web", 2, "pinsetter/busybox:1"));
    let r = await kubectl("rollout", "status", "deployment/web", "--timeout=60s");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('deployment "web" successfully rolled out');

    expect((await kubectl("set", "image", "deployment/web", "web=pinsetter/busybox:2")).code).toBe(0);
    r = await kubectl("rollout", "status", "deployment/web", "--timeout=60s");
    expect(r.code).toBe(0);
    r = await kubectl("rollout", "history", "deployment/web");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^1\s/m);
    expect(r.stdout).toMatch(/^2\s/m);

    r = await kubectl("rollout", "undo", "deployment/web");
    expect(r.code).toBe(0);
    expect((await kubectl("rollout", "status", "deployment/web", "--timeout=60s")).code).toBe(0);
    expect(await image()).toBe("pinsetter/busybox:1");
    await until("revision 3 on the Deployment", async () => (await client.get<Deployment>("deployments", ns, "web")).metadata.annotations?.["deployment.kubernetes.io/revision"] === "3");
    expect(await replicaSetsOf(ns)).toHaveLength(2);

    r = await kubectl("rollout", "undo", "deployment/web", "--to-revision=2");
    expect(r.code).toBe(0);
    expect((await kubectl("rollout", "status", "deployment/web", "--timeout=60s")).code).toBe(0);
    expect(await image()).toBe("pinsetter/busybox:2");

    expect((await kubectl("rollout", "pause", "deployment/web")).code).toBe(0);
    expect((await kubectl("set", "image", "deployment/web", "web=pinsetter/busybox:3")).code).toBe(0);
    await sleep(1500);
    expect(await replicaSetsOf(ns)).toHaveLength(2);
    expect((await kubectl("rollout", "resume", "deployment/web")).code).toBe(0);
    expect((await kubectl("rollout", "status", "deployment/web", "--timeout=60s")).code).toBe(0);
    expect((await podsOf(ns, "web")).every((p) => p.spec.containers[0]!.image === "pinsetter/busybox:3")).toBe(true);

    // kubectl describe finds the controllers' events by involvedObject.
    const described = await kubectl("describe", "deployment", "web");
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/ScalingReplicaSet\s+.*Scaled up replica set web-\w+ to 2/);
    const describedRs = await kubectl("describe", "replicaset", (await replicaSetsOf(ns))[0]!.metadata.name!);
    expect(describedRs.stdout).toMatch(/SuccessfulCreate\s+.*Created pod: web-/);

    expect((await kubectl("rollout", "restart", "deployment/web")).code).toBe(0);
    expect((await kubectl("rollout", "status", "deployment/web", "--timeout=60s")).code).toBe(0);
    const rss = await replicaSetsOf(ns);
    expect(rss).toHaveLength(4);
    expect(rss.find((x) => (x.spec.replicas ?? 0) > 0)!.spec.template.metadata!.annotations?.["kubectl.kubernetes.io/restartedAt"]).toBeTruthy();
  });
});

describe("startControllers", () => {
  it("stops promptly", async () => {
    const c = new KubeClient({ servers: [`http://${masters[0]!.host}:${masters[0]!.apiPort}`], token: TOKEN });
    const running = startControllers({ client: c, logger: pino({ level: "silent" }) });
    await sleep(500);
    const t0 = Date.now();
    await running.stop();
    expect(Date.now() - t0).toBeLessThan(3000);
    c.close();
  });
});
