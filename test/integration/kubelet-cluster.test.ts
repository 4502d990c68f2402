// The kubelet in a real cluster: one master process (API server on its
// apiPort) and a `pinsetter node` process on a real Docker engine. A pod
// bound to the node runs, reports Running/Ready and its IP, serves on it;
// the kubelet's HTTP endpoints answer; a restarted node adopts its container
// (no duplicate); deleting the pod stops and removes its containers; a pod
// deleted while its node was down is cleaned up when the node comes back.

import { readFileSync, existsSync, rmSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Event, Lease, Node, Pod } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";
import { LABELS } from "../../src/kubelet/runtime.js";
import { ClusterProcesses, PINSETTER } from "../lib/cluster-processes.js";
import { dockerAvailable, ensureTestImage, removeNodeContainers, TEST_IMAGE, waitFor } from "./kubelet-helpers.js";

const hasDocker = (await dockerAvailable()) && existsSync(PINSETTER);

const TOKEN = "kubelet-test-token";
const MASTER = { name: "m1", host: "127.0.0.171", raftPort: 7461, clientPort: 2561, apiPort: 6661 };
const NODE = { name: `kw${process.pid % 10000}`, host: "127.0.0.175", kubeletPort: 10361, runtime: "docker" };

let cluster: ClusterProcesses | null = null;
let dir = "";
let client: KubeClient;
const docker = new Docker();

/** The node process, tracked as "node"; its stderr goes to this test's stderr, tagged. */
function startNode(): void {
  const child = cluster!.spawn(["node", "--name", NODE.name, "--log-file", join(dir, "node.log")], { key: "node", stdio: ["ignore", "ignore", "pipe"] });
  child.stderr!.on("data", (d: Buffer) => process.stderr.write(`[node] ${d}`));
}

/** Stops the node process (SIGTERM, as on a real shutdown, unless told otherwise). */
const stopNode = (signal: NodeJS.Signals = "SIGTERM") => cluster!.kill("node", signal);

function kubeletGet(path: string, token = TOKEN): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: NODE.host, port: NODE.kubeletPort, path, headers: token ? { Authorization: `Bearer ${token}` } : {}, agent: false }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

async function podContainers(uid: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.podUid}=${uid}`] }) as unknown as Record<string, string[]> });
}

function webPod(name: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "web" } },
    spec: {
      nodeName: NODE.name,
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: "web",
          image: TEST_IMAGE,
          command: ["sh", "-c"],
          args: ['echo "pod $(POD_NAME) on $(NODE) ip $(POD_IP)"; echo "hello from $POD_NAME" > /tmp/index.html; exec httpd -f -p 80 -h /tmp'],
          env: [
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          ],
          ports: [{ containerPort: 80 }],
          // Generous timeouts: a loaded test machine must not make the probes flap.
          readinessProbe: { httpGet: { path: "/index.html", port: 80 }, periodSeconds: 1, timeoutSeconds: 5, failureThreshold: 5 },
          livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 2, timeoutSeconds: 5, failureThreshold: 5 },
        },
      ],
    },
  };
}

describe.skipIf(!hasDocker)("kubelet in a cluster", () => {
  beforeAll(async () => {
    ensureTestImage();
    cluster = new ClusterProcesses("pinsetter-kubelet-", { clusterName: "kubelet-test", dataDir: "data", token: TOKEN, raft: { heartbeatMs: 50, electionTimeoutMs: 500 }, masters: [MASTER], nodes: [NODE] });
    dir = cluster.dir;
    const master = cluster.startMaster(MASTER.name, ["ignore", "ignore", "pipe"]);
    master.stderr!.on("data", (d: Buffer) => process.stderr.write(`[m1] ${d}`));
    client = new KubeClient({ servers: [`http://${MASTER.host}:${MASTER.apiPort}`], token: TOKEN, timeoutMs: 5000 });
    await waitFor("the API server", async () => (await client.list("namespaces")).items.length > 0, 60_000, 300);
    startNode();
  }, 120_000);

  afterEach((ctx) => {
    // What the kubelet was doing when a test failed, for CI logs.
    if (ctx.task.result?.state !== "fail") return;
    const log = join(dir, "node.log");
    if (existsSync(log)) process.stderr.write(`--- last node.log lines ---\n${readFileSync(log, "utf8").split("\n").slice(-40).join("\n")}\n`);
  });

  afterAll(async () => {
    // SIGTERM, the node before the master, as on a real shutdown; the dir goes after the containers.
    await cluster?.stop({ signal: "SIGTERM", keepDir: true });
    client?.close();
    await removeNodeContainers(NODE.name);
    if (process.env.KEEP_KUBELET_TEST_DIR) process.stderr.write(`kept ${dir}\n`);
    else if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("registers its Node (Ready, addresses, capacity, kubelet port) and renews its Lease", async () => {
    const n = await waitFor("node Ready", async () => {
      const got = await client.get<Node>("nodes", undefined, NODE.name);
      return got.status?.conditions?.find((c) => c.type === "Ready")?.status === "True" ? got : null;
    });
    expect(n.status?.addresses).toEqual([
      { type: "InternalIP", address: NODE.host },
      { type: "Hostname", address: NODE.name },
    ]);
    expect(n.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(NODE.kubeletPort);
    expect(n.status?.capacity).toMatchObject({ cpu: "2", memory: "4Gi", pods: "110" });
    expect(n.metadata.labels?.["kubernetes.io/hostname"]).toBe(NODE.name);
    expect(n.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^docker:\/\//);
    expect(n.status?.conditions?.map((c) => c.type).sort()).toEqual(["DiskPressure", "MemoryPressure", "PIDPressure", "Ready"]);
    const l1 = await waitFor("the node's Lease", () => client.get<Lease>("leases", "kube-node-lease", NODE.name));
    await new Promise((r) => setTimeout(r, 2500));
    const l2 = await client.get<Lease>("leases", "kube-node-lease", NODE.name);
    expect(l2.spec?.holderIdentity).toBe(NODE.name);
    expect(l2.spec?.renewTime).not.toBe(l1.spec?.renewTime);
  }, 60_000);

  it("runs a bound pod: Running, Ready, its IP serves; logs and endpoints answer; a restarted node adopts it; deletion removes it", async () => {
    const created = await client.create<Pod>("pods", webPod("web-1"));
    const uid = created.metadata.uid!;
    const running = await waitFor(
      "pod Running and Ready",
      async () => {
        const p = await client.get<Pod>("pods", "default", "web-1");
        return p.status?.phase === "Running" && p.status.conditions?.find((c) => c.type === "Ready")?.status === "True" ? p : null;
      },
      60_000,
    );
    const ip = running.status!.podIP!;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(running.status!.hostIP).toBe(NODE.host);
    expect(running.status!.containerStatuses![0]).toMatchObject({ name: "web", ready: true, restartCount: 0, started: true });
    expect(running.status!.containerStatuses![0]!.containerID).toMatch(/^docker:\/\//);
    expect(await httpGet(`http://${ip}/index.html`)).toBe("hello from web-1\n");

    // Kubelet endpoints.
    expect((await kubeletGet("/healthz", "")).body).toBe("ok");
    expect((await kubeletGet("/pods", "wrong")).status).toBe(401);
    const pods = JSON.parse((await kubeletGet("/pods")).body) as { items: Pod[] };
    expect(pods.items.map((p) => p.metadata.name)).toEqual(["web-1"]);
    const logs = await kubeletGet(`/containerLogs/default/web-1/web`);
    expect(logs.body).toBe(`pod web-1 on ${NODE.name} ip ${ip}\n`);
    const summary = JSON.parse((await kubeletGet("/stats/summary")).body) as { node: { nodeName: string }; pods: { podRef: { name: string }; containers: { name: string; memory: { workingSetBytes: number } }[] }[] };
    expect(summary.node.nodeName).toBe(NODE.name);
    expect(summary.pods[0]!.podRef.name).toBe("web-1");
    expect(summary.pods[0]!.containers[0]!.memory.workingSetBytes).toBeGreaterThan(0);
    // follow=true streams: the first chunk comes while the container runs on.
    const followed = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: NODE.host, port: NODE.kubeletPort, path: "/containerLogs/default/web-1/web?follow=true&timestamps=true", headers: { Authorization: `Bearer ${TOKEN}` }, agent: false }, (res) => {
        res.once("data", (c: Buffer) => {
          req.destroy();
          resolve(c.toString());
        });
      });
      req.on("error", reject);
    });
    expect(followed).toMatch(/^\d{4}-\d\d-\d\dT\S+ pod web-1 on /);
    // Through the API server's pods/log.
    let viaApi = "";
    const h = client.logs("default", "web-1", { container: "web" }, (t) => (viaApi += t));
    await h.done;
    expect(viaApi).toContain("pod web-1 on");

    // A restarted node adopts the running container: same container, no duplicate, no restart.
    const before = (await podContainers(uid)).map((c) => c.Id).sort();
    expect(before.length).toBe(2); // sandbox + web
    const readyBefore = (await client.get<Pod>("pods", "default", "web-1")).status!.conditions!.find((c) => c.type === "Ready")!;
    await stopNode();
    startNode();
    await waitFor("kubelet back", async () => (await kubeletGet("/healthz", "")).body === "ok");
    await new Promise((r) => setTimeout(r, 3000));
    expect((await podContainers(uid)).map((c) => c.Id).sort()).toEqual(before);
    const after = await client.get<Pod>("pods", "default", "web-1");
    expect(after.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    // Readiness carried over: the pod never left its Services during the restart.
    expect(after.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "True", lastTransitionTime: readyBefore.lastTransitionTime });

    // Deleting the pod stops its containers, then the kubelet removes the object.
    await client.delete("pods", "default", "web-1");
    await waitFor("pod object gone", async () => {
      try {
        await client.get<Pod>("pods", "default", "web-1");
        return false;
      } catch (err) {
        return (err as { code?: number }).code === 404;
      }
    }, 30_000);
    await waitFor("containers removed", async () => (await podContainers(uid)).length === 0, 15_000);
  }, 180_000);

  it("init containers, emptyDir/configMap/secret volumes and env; liveness restarts; CrashLoopBackOff; ErrImagePull", async () => {
    await client.create("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "site", namespace: "default" }, data: { "greeting.txt": "hi from a configmap", MODE: "fast" } });
    await client.create("secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: "default" }, data: { password: Buffer.from("s3cret").toString("base64") } });
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "full", namespace: "default" },
      spec: {
        nodeName: NODE.name,
        terminationGracePeriodSeconds: 2,
        volumes: [
          { name: "shared", emptyDir: {} },
          { name: "site", configMap: { name: "site" } },
          { name: "creds", secret: { secretName: "creds" } },
          { name: "out", hostPath: { path: join(dir, "out") } },
        ],
        initContainers: [{ name: "prepare", image: TEST_IMAGE, command: ["sh", "-c", "echo prepared > /shared/init.txt"], volumeMounts: [{ name: "shared", mountPath: "/shared" }] }],
        containers: [
          {
            name: "main",
            image: TEST_IMAGE,
            command: ["sh", "-c", 'cat /shared/init.txt /site/greeting.txt; cat /creds/password; echo; echo "mode=$MODE pw=$PW"; exec sleep 3600'],
            env: [{ name: "PW", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } }],
            envFrom: [{ configMapRef: { name: "site" } }],
            volumeMounts: [{ name: "shared", mountPath: "/shared" }, { name: "site", mountPath: "/site" }, { name: "creds", mountPath: "/creds" }, { name: "out", mountPath: "/out" }],
            lifecycle: {
              postStart: { exec: { command: ["sh", "-c", "echo poststart ran > /out/poststart.txt"] } },
              preStop: { exec: { command: ["sh", "-c", "echo prestop ran > /out/prestop.txt"] } },
            },
          },
          {
            // Alive while /tmp/alive exists; the test removes it to fail the probe.
            name: "probed",
            image: TEST_IMAGE,
            command: ["sh", "-c", "touch /tmp/alive; exec sleep 3600"],
            livenessProbe: { exec: { command: ["test", "-f", "/tmp/alive"] }, periodSeconds: 1, failureThreshold: 2 },
          },
          { name: "crasher", image: TEST_IMAGE, command: ["sh", "-c", "echo bye; exit 2"] },
          { name: "noimage", image: "pinsetter/not-here:1" },
        ],
      },
    };
    const created = await client.create<Pod>("pods", pod);
    const uid = created.metadata.uid!;
    const statusOf = async (name: string) => (await client.get<Pod>("pods", "default", "full")).status?.containerStatuses?.find((c) => c.name === name);

    await waitFor("main running", async () => (await statusOf("main"))?.state?.running, 60_000);
    const p = await client.get<Pod>("pods", "default", "full");
    expect(p.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    expect(p.status?.conditions?.find((c) => c.type === "Initialized")?.status).toBe("True");
    const mainLog = await waitFor("main's output", async () => {
      const r = await kubeletGet("/containerLogs/default/full/main");
      return r.body.includes("mode=") ? r.body : null;
    });
    expect(mainLog).toBe("prepared\nhi from a configmaps3cret\nmode=fast pw=s3cret\n");

    await waitFor("noimage ErrImagePull or ImagePullBackOff", async () => ["ErrImagePull", "ImagePullBackOff"].includes((await statusOf("noimage"))?.state?.waiting?.reason ?? ""), 30_000);
    await waitFor("crasher in CrashLoopBackOff", async () => (await statusOf("crasher"))?.state?.waiting?.reason === "CrashLoopBackOff", 60_000);
    const crasher = (await statusOf("crasher"))!;
    expect(crasher.lastState?.terminated?.exitCode).toBe(2);
    expect(crasher.restartCount).toBeGreaterThanOrEqual(1);
    const full = await client.get<Pod>("pods", "default", "full");
    // A container that never started (no image) keeps the pod Pending, as in Kubernetes.
    expect(full.status?.phase).toBe("Pending");
    expect(full.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("False");

    // Liveness: remove the file, the container is restarted.
    const probed = (await podContainers(uid)).find((c) => c.Labels[LABELS.containerName] === "probed" && c.State === "running")!;
    const ex = await docker.getContainer(probed.Id).exec({ Cmd: ["rm", "/tmp/alive"] });
    await ex.start({});
    const after = await waitFor("probed restarted", async () => {
      const s = await statusOf("probed");
      return s && s.restartCount >= 1 && s.state?.running ? s : null;
    }, 60_000);
    expect(after.lastState?.terminated).toBeDefined();

    // What `kubectl describe pod` shows.
    const reasons = await waitFor("kubelet events", async () => {
      const evs = await client.list<Event>("events", { namespace: "default" });
      const r = new Set(evs.items.filter((e) => e.involvedObject.name === "full" && e.source?.component === "kubelet").map((e) => e.reason));
      return ["Started", "BackOff", "Failed", "Unhealthy", "Killing"].every((x) => r.has(x)) ? r : null;
    }, 15_000);
    expect(reasons.has("Started")).toBe(true);

    await client.delete("pods", "default", "full");
    await waitFor("full's containers removed", async () => (await podContainers(uid)).length === 0, 30_000);
    expect(readFileSync(join(dir, "out", "prestop.txt"), "utf8")).toBe("prestop ran\n");
    expect(readFileSync(join(dir, "out", "poststart.txt"), "utf8")).toBe("poststart ran\n");
  }, 180_000);

  it("publishes a hostPort on the node's address; a second pod wanting the same port waits with the reason", async () => {
    const hp = (name: string): Pod => {
      const p = webPod(name);
      p.spec.containers[0]!.ports = [{ containerPort: 80, hostPort: 18_361 }];
      return p;
    };
    await client.create<Pod>("pods", hp("hp-a"));
    await waitFor("hp-a Running", async () => (await client.get<Pod>("pods", "default", "hp-a")).status?.phase === "Running", 60_000);
    expect(await waitFor("the hostPort answers", () => httpGet(`http://${NODE.host}:18361/index.html`))).toBe("hello from hp-a\n");
    await client.create<Pod>("pods", hp("hp-b"));
    const waiting = await waitFor("hp-b waiting with a reason", async () => {
      const w = (await client.get<Pod>("pods", "default", "hp-b")).status?.containerStatuses?.[0]?.state?.waiting;
      return w?.message?.includes("failed to create pod sandbox") ? w : null;
    }, 30_000);
    expect(waiting.reason).toBe("ContainerCreating");
    await client.delete("pods", "default", "hp-a", { gracePeriodSeconds: 1 });
    await client.delete("pods", "default", "hp-b", { gracePeriodSeconds: 1 });
    await waitFor("hp pods gone", async () => (await client.list<Pod>("pods", { namespace: "default" })).items.every((p) => !p.metadata.name?.startsWith("hp-")), 30_000);
  }, 120_000);

  it("a container killed through Docker is restarted (restartCount 1); a pod deleted while its node was down is cleaned up on return", async () => {
    const created = await client.create<Pod>("pods", webPod("web-2"));
    const uid = created.metadata.uid!;
    await waitFor("web-2 Running", async () => (await client.get<Pod>("pods", "default", "web-2")).status?.phase === "Running", 60_000);
    const app = (await podContainers(uid)).find((c) => c.Labels[LABELS.containerName] === "web")!;
    await docker.getContainer(app.Id).kill();
    const restarted = await waitFor(
      "restartCount 1",
      async () => {
        const p = await client.get<Pod>("pods", "default", "web-2");
        const s = p.status?.containerStatuses?.[0];
        return s?.restartCount === 1 && s.state?.running ? s : null;
      },
      60_000,
    );
    expect(restarted.lastState?.terminated?.exitCode).toBe(137);
    const previous = await kubeletGet("/containerLogs/default/web-2/web?previous=true");
    expect(previous.body).toMatch(/^pod web-2 on /);
    expect((await kubeletGet("/containerLogs/default/web-2/web?tailLines=x")).status).toBe(400);

    await stopNode("SIGKILL");
    // Force-delete (grace 0) while the node is away: the object goes at once.
    await client.delete("pods", "default", "web-2", { gracePeriodSeconds: 0 });
    expect((await podContainers(uid)).some((c) => c.State === "running")).toBe(true);
    startNode();
    await waitFor("stale containers removed", async () => (await podContainers(uid)).length === 0, 60_000);
    const log = readFileSync(join(dir, "node.log"), "utf8");
    expect(log).toContain("removing containers of a pod no longer bound here");
  }, 180_000);
});
