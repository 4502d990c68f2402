// pinctl's rollout commands against a running cluster: three real masters,
// two hollow nodes (the kubelet's sim runtime), the scheduler and the
// deployment and replicaset controllers. A deployment rolls out, rolls to a
// new image with a change-cause, shows its history, rolls back, and its pods
// are described with their node and events. When the masters do not run the
// leader loops yet, this test runs the same scheduler and controllers itself,
// against the same API, so the commands meet real controllers either way.

import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deployment } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";
import { startControllers, type RunningControllers } from "../../src/controllers/index.js";
import { startScheduler } from "../../src/scheduler/index.js";
import { apiServers, ClusterProcesses, mastersOn, PINCTL, readyNodeNames, until as untilShared } from "../lib/cluster-processes.js";

const TOKEN = "pinctl-rollout-token";
const masters = mastersOn(["127.0.0.175", "127.0.0.176", "127.0.0.177"], { raftPort: 7611, clientPort: 2689, apiPort: 6753 });

let cluster: ClusterProcesses | null = null;
let dir = "";
let config = "";
let client: KubeClient;
const inProcess: { stop(): Promise<void> }[] = [];

function pinctl(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [PINCTL, "--config", config, ...args], { encoding: "utf8", timeout: 90_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// A probe that throws is a real fault here: it fails the test at once.
const until = <T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 30_000) =>
  untilShared(what, probe, timeoutMs, { everyMs: 250, failFast: true });

const deployment = (image: string, cause: string) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    kubernetes.io/change-cause: ${cause}
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: ${image}
`;

beforeAll(async () => {
  cluster = new ClusterProcesses("pinctl-rollout-", { clusterName: "pinctl-rollout", dataDir: "data", token: TOKEN, raft: { heartbeatMs: 50, electionTimeoutMs: 500, snapshotEvery: 1000 }, masters, nodes: [] });
  dir = cluster.dir;
  config = cluster.config;
  for (const m of masters) cluster.startMaster(m.name);
  client = new KubeClient({ servers: apiServers(masters), token: TOKEN, timeoutMs: 10_000 });
  await until("the API", async () => {
    try {
      return (await client.get("namespaces", undefined, "default")).metadata.name === "default";
    } catch {
      return false;
    }
  }, 45_000);
  cluster.spawn(["node", "--hollow", "2", "--prefix", "rollout", "--port-base", "20710", "--log-file", join(dir, "nodes.log")]);
  await until("two Ready hollow nodes", async () => (await readyNodeNames(client)).length === 2);
  // Do the masters run the controllers? A probe deployment is observed within seconds if so.
  await client.create("deployments", {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "probe" },
    spec: { replicas: 0, selector: { matchLabels: { app: "probe" } }, template: { metadata: { labels: { app: "probe" } }, spec: { containers: [{ name: "c", image: "x" }] } } },
  } as Deployment);
  const observed = await until("the probe deployment to be observed", async () => ((await client.get<Deployment>("deployments", "default", "probe")).status?.observedGeneration ?? 0) > 0, 5_000).catch(() => false);
  if (!observed) {
    const logger = pino({ level: "warn" });
    inProcess.push(startScheduler({ client, logger }));
    const controllers: RunningControllers = startControllers({ client, logger });
    inProcess.push(controllers);
  }
}, 120_000);

afterAll(async () => {
  for (const p of inProcess.splice(0)) await p.stop();
  client?.close();
  await cluster?.stop();
});

describe("pinctl rollout with the deployment controller", () => {
  it("waits for a rollout, then rolls to a new image, lists the history, and undoes it", async () => {
    const path = join(dir, "web.yaml");
    writeFileSync(path, deployment("pinsetter/busybox:1", "first"));
    expect(pinctl("apply", "-f", path).stdout).toBe("deployment.apps/web created\n");

    const first = pinctl("rollout", "status", "deployment/web", "--timeout", "60s");
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/deployment "web" successfully rolled out\n$/);
    expect(first.stdout.split("\n")[0]).toMatch(/^(Waiting for deployment|deployment "web" successfully rolled out)/);

    writeFileSync(path, deployment("pinsetter/busybox:2", "second"));
    expect(pinctl("apply", "-f", path).stdout).toBe("deployment.apps/web configured\n");
    const second = pinctl("rollout", "status", "deploy", "web", "--timeout", "60s");
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/Waiting for deployment "web" rollout to finish: \d+ (out of 3 new replicas have been updated|old replicas are pending termination|of 3 updated replicas are available)\.\.\.\n/);
    expect(second.stdout).toMatch(/deployment "web" successfully rolled out\n$/);

    expect(pinctl("rollout", "history", "deployment/web").stdout).toBe("deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         first\n2         second\n\n");
    expect(pinctl("rollout", "history", "deployment/web", "--revision", "1").stdout).toMatch(/^deployment\.apps\/web with revision #1\nPod Template:\n[\s\S]*image: pinsetter\/busybox:1/);

    expect(pinctl("rollout", "undo", "deployment/web")).toMatchObject({ code: 0, stdout: "deployment.apps/web rolled back\n" });
    expect(pinctl("rollout", "status", "deployment/web", "--timeout", "60s").code).toBe(0);
    const d = await client.get<Deployment>("deployments", "default", "web");
    expect(d.spec.template.spec?.containers[0]?.image).toBe("pinsetter/busybox:1");
    expect(d.spec.template.metadata?.labels).toEqual({ app: "web" });
    // Revision 1 came back as revision 3.
    expect(pinctl("rollout", "history", "deployment/web").stdout).toMatch(/^deployment\.apps\/web \nREVISION  CHANGE-CAUSE\n2         second\n3         first\n\n$/);

    expect(pinctl("rollout", "undo", "deployment/web", "--to-revision", "3").stdout).toBe("deployment.apps/web skipped rollback (current template already matches revision 3)\n");
  });

  it("shows the deployment's pods on their nodes, and describes one with its events", async () => {
    const pods = pinctl("get", "pods", "-l", "app=web", "-o", "wide");
    const lines = pods.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s/);
    await until("three Running pods", () => pinctl("get", "pods", "-l", "app=web", "--field-selector", "status.phase=Running", "-o", "name").stdout.trim().split("\n").length === 3);
    const name = pinctl("get", "pods", "-l", "app=web", "-o", "name").stdout.split("\n")[0]!.replace("pod/", "");
    const text = pinctl("describe", "pod", name).stdout;
    expect(text).toMatch(new RegExp(`^Name:\\s+${name}$`, "m"));
    expect(text).toMatch(/^Node:\s+rollout-[01]\//m);
    expect(text).toMatch(/^Status:\s+Running$/m);
    expect(text).toMatch(/^Controlled By:\s+ReplicaSet\/web-/m);
    expect(text).toMatch(/Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\//);
    const deployText = pinctl("describe", "deploy", "web").stdout;
    expect(deployText).toMatch(/^Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$/m);
    expect(deployText).toMatch(/ScalingReplicaSet/);
    expect(deployText).toMatch(/^NewReplicaSet:\s+web-\S+ \(3\/3 replicas created\)$/m);
    const nodeName = /^Node:\s+(rollout-[01])\//m.exec(text)![1]!;
    expect(pinctl("describe", "node", nodeName).stdout).toMatch(new RegExp(`^\\s+default\\s+${name}\\s`, "m"));
  });

  it("prints a pod's log, and deletes a pod waiting until it is gone", () => {
    const name = pinctl("get", "pods", "-l", "app=web", "-o", "name").stdout.split("\n")[0]!.replace("pod/", "");
    const logs = pinctl("logs", name, "--tail", "10");
    expect(logs.code).toBe(0);
    // The sim runtime writes a line naming the pod when its container starts.
    expect(logs.stdout).toContain(name);
    expect(pinctl("logs", "nope")).toMatchObject({ code: 1, stderr: 'Error: pods "nope" not found\n' });
    const viaDeployment = pinctl("logs", "deployment/web");
    expect(viaDeployment.code).toBe(0);
    expect(viaDeployment.stderr).toMatch(/^Found 3 pods, using pod\/web-/);
    expect(pinctl("delete", "pod", name)).toEqual({ code: 0, stdout: `pod "${name}" deleted\n`, stderr: "" });
    // delete returned only once the pod was gone (its kubelet had to stop it first).
    expect(pinctl("get", "pod", name)).toMatchObject({ code: 1, stderr: `Error: pods "${name}" not found\n` });
  });

  it("pauses and resumes a rollout", async () => {
    expect(pinctl("rollout", "pause", "deployment/web").stdout).toBe("deployment.apps/web paused\n");
    expect(pinctl("rollout", "undo", "deployment/web")).toMatchObject({ code: 1, stderr: expect.stringMatching(/^Error: you cannot rollback a paused deployment/) });
    expect(pinctl("rollout", "resume", "deployment/web").stdout).toBe("deployment.apps/web resumed\n");
    expect(pinctl("rollout", "restart", "deployment/web").stdout).toBe("deployment.apps/web restarted\n");
    expect(pinctl("rollout", "status", "deployment/web", "--timeout", "60s").code).toBe(0);
    expect(pinctl("rollout", "history", "deployment/web").stdout).toMatch(/\n4\s+first\n\n$/);
  });

  it("drains a node: its pods come back on the other one; uncordon; label", async () => {
    const onNode = (node: string) => pinctl("get", "pods", "-l", "app=web", "--field-selector", `spec.nodeName=${node}`, "-o", "name").stdout.trim().split("\n").filter(Boolean);
    const node = onNode("rollout-0").length > 0 ? "rollout-0" : "rollout-1";
    const other = node === "rollout-0" ? "rollout-1" : "rollout-0";
    const drained = pinctl("drain", node, "--ignore-daemonsets");
    expect(drained.code).toBe(0);
    expect(drained.stdout).toMatch(new RegExp(`^node/${node} cordoned\n[\\s\\S]*node/${node} drained\n$`));
    expect(pinctl("get", "node", node).stdout).toMatch(/Ready,SchedulingDisabled/);
    expect(pinctl("rollout", "status", "deployment/web", "--timeout", "60s").code).toBe(0);
    await until("every pod on the other node", () => onNode(node).length === 0 && onNode(other).length === 3);
    expect(pinctl("uncordon", node).stdout).toBe(`node/${node} uncordoned\n`);
    expect(pinctl("label", "deployment", "web", "team=blue").stdout).toBe("deployment.apps/web labeled\n");
    expect(pinctl("label", "deployment/web", "team=red")).toMatchObject({ code: 1, stderr: "Error: 'team' already has a value (blue), and --overwrite is false\n" });
    expect(pinctl("get", "deploy", "-l", "team=blue", "-o", "name").stdout).toBe("deployment.apps/web\n");
  });

  it("set image starts a rollout to the new image", async () => {
    expect(pinctl("set", "image", "deployment/web", "web=pinsetter/busybox:3")).toEqual({ code: 0, stdout: "deployment.apps/web image updated\n", stderr: "" });
    expect(pinctl("rollout", "status", "deployment/web", "--timeout", "60s").code).toBe(0);
    expect((await client.get<Deployment>("deployments", "default", "web")).spec.template.spec?.containers[0]?.image).toBe("pinsetter/busybox:3");
    expect(pinctl("get", "rs", "-l", "app=web", "-o", "wide").stdout).toMatch(/\s3\s+3\s+3\s+\S+\s+web\s+pinsetter\/busybox:3\s/);
    expect(pinctl("set", "image", "deployment/web", "nope=x")).toMatchObject({ code: 1, stderr: 'Error: unable to find container named "nope"\n' });
  });
});
