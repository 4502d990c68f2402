// pinctl's resource commands against real masters on loopback: the built
// pinctl (dist/) runs as a user would run it, against three master processes
// serving the API on their apiPort. Apply twice with an edit, get in every
// format, describe, scale, delete -f, rollout history and undo, get -w,
// autoscale, kubeconfig, and the error lines and exit codes.

import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient } from "../../src/client/kube-client.js";
import type { Deployment, KubeObject, ReplicaSet } from "../../src/api/types.js";
import { apiServers, ClusterProcesses, everyMasterAnswers, mastersOn, PINCTL, until as untilShared } from "../lib/cluster-processes.js";

const TOKEN = "pinctl-test-token";

const masters = mastersOn(["127.0.0.171", "127.0.0.172", "127.0.0.173"], { raftPort: 7601, clientPort: 2679, apiPort: 6743 });

let cluster: ClusterProcesses | null = null;
let dir = "";
let config = "";
let client: KubeClient;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function pinctl(...args: string[]): Run {
  const r = spawnSync(process.execPath, [PINCTL, "--config", config, ...args], { encoding: "utf8", timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function pinctlStdin(input: string, ...args: string[]): Run {
  const r = spawnSync(process.execPath, [PINCTL, "--config", config, ...args], { encoding: "utf8", timeout: 30_000, input });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// These probes do not throw but for a real fault, which should fail the test at once.
const until = <T>(what: string, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 30_000) =>
  untilShared(what, probe, timeoutMs, { everyMs: 250, failFast: true });

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const manifest = (replicas: number, image: string, extraLabel: boolean, sidecar = false) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
${extraLabel ? "    tier: frontend\n" : ""}spec:
  replicas: ${replicas}
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
        ports:
        - containerPort: 8080
${sidecar ? "      - name: sidecar\n        image: pinsetter/busybox:1\n" : ""}---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
`;

beforeAll(async () => {
  cluster = new ClusterProcesses("pinctl-resources-", {
    clusterName: "pinctl-test",
    dataDir: "data",
    token: TOKEN,
    raft: { heartbeatMs: 50, electionTimeoutMs: 500, snapshotEvery: 1000 },
    masters,
    nodes: [],
  });
  dir = cluster.dir;
  config = cluster.config;
  for (const m of masters) cluster.startMaster(m.name);
  client = new KubeClient({ servers: apiServers(masters), token: TOKEN, timeoutMs: 10_000 });
  // Refused connections while the masters start are retried.
  await untilShared("the API to answer on every master", () => everyMasterAnswers(masters, TOKEN), 45_000, { everyMs: 250 });
});

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

describe("pinctl apply", () => {
  it("creates from a multi-document file, is unchanged on a second run, and patches an edit keeping fields others set", async () => {
    const path = file("app.yaml", manifest(2, "pinsetter/busybox:1", true, true));
    const first = pinctl("apply", "-f", path);
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout).toBe("deployment.apps/web created\nservice/web created\nconfigmap/settings created\n");

    expect(pinctl("apply", "-f", path).stdout).toBe("deployment.apps/web unchanged\nservice/web unchanged\nconfigmap/settings unchanged\n");

    // Someone else sets a field the file never mentions.
    await client.patch("deployments", "default", "web", { metadata: { annotations: { "team/owner": "ops" } }, spec: { minReadySeconds: 3 } }, "merge");

    // The edit: 3 replicas, a new image, the tier label and the sidecar container dropped from the file.
    writeFileSync(path, manifest(3, "pinsetter/busybox:2", false));
    const second = pinctl("apply", "-f", path);
    expect(second).toMatchObject({ code: 0, stderr: "" });
    expect(second.stdout).toBe("deployment.apps/web configured\nservice/web unchanged\nconfigmap/settings unchanged\n");

    const d = await client.get<Deployment>("deployments", "default", "web");
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.template.spec?.containers.map((c) => `${c.name}=${c.image}`)).toEqual(["web=pinsetter/busybox:2"]);
    expect(d.metadata.labels).toEqual({ app: "web" });
    expect(d.metadata.annotations?.["team/owner"]).toBe("ops");
    expect(d.spec.minReadySeconds).toBe(3);
    expect(JSON.parse(d.metadata.annotations!["kubectl.kubernetes.io/last-applied-configuration"]!).spec.replicas).toBe(3);
  });

  it("reads stdin and directories", () => {
    const r = pinctlStdin("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-stdin\ndata:\n  a: b\n", "apply", "-f", "-");
    expect(r).toMatchObject({ code: 0, stdout: "configmap/from-stdin created\n" });
    const sub = join(dir, "manifests");
    spawnSync("mkdir", ["-p", sub]);
    writeFileSync(join(sub, "a.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dir-a\n");
    writeFileSync(join(sub, "b.json"), JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "dir-b" } }));
    expect(pinctl("apply", "-f", sub).stdout).toBe("configmap/dir-a created\nconfigmap/dir-b created\n");
  });

  it("reports an object the server refuses in one line naming the file, and applies the rest", () => {
    const path = file("invalid.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Valid_Name\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: valid-after-invalid\n");
    const r = pinctl("apply", "-f", path);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: error when creating ".*invalid\.yaml": .*Not_A_Valid_Name.*\n$/);
    expect(r.stdout).toBe("configmap/valid-after-invalid created\n");
  });

  it("create -f refuses what exists; patch changes one object", async () => {
    const path = file("created.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: created\ndata:\n  a: b\n");
    expect(pinctl("create", "-f", path)).toEqual({ code: 0, stdout: "configmap/created created\n", stderr: "" });
    const again = pinctl("create", "-f", path);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^Error: error when creating ".*created\.yaml": configmaps "created" already exists\n$/);
    expect(pinctl("patch", "cm", "created", "-p", '{"data":{"a":"c"}}', "--type", "merge")).toEqual({ code: 0, stdout: "configmap/created patched\n", stderr: "" });
    expect((await client.get("configmaps", "default", "created")).data).toEqual({ a: "c" });
    expect(pinctl("patch", "cm", "nope", "-p", "{}")).toMatchObject({ code: 1, stderr: 'Error: configmaps "nope" not found\n' });
    // apply over a created object warns once, then records what it applied.
    const adopt = pinctl("apply", "-f", path);
    expect(adopt).toMatchObject({ code: 0, stdout: "configmap/created configured\n" });
    expect(adopt.stderr).toMatch(/^Warning: resource configmaps\/created is missing the kubectl\.kubernetes\.io\/last-applied-configuration annotation/);
    expect(pinctl("apply", "-f", path)).toEqual({ code: 0, stdout: "configmap/created unchanged\n", stderr: "" });
  });

  it("reports a malformed file in one line with exit 1", () => {
    const bad = file("bad.yaml", "apiVersion: v1\nkind: [ConfigMap\n");
    const r = pinctl("apply", "-f", bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: error parsing .*bad\.yaml \(line \d+, column \d+\)/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("pinctl get", () => {
  it("prints aligned tables, with a kind prefix for several kinds and NAMESPACE with -A", () => {
    const t = pinctl("get", "deployments");
    expect(t.code).toBe(0);
    const [header, row] = t.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    expect(row).toMatch(/^web\s+\d+\/3\s+\d+\s+\d+\s+\d+s$/);
    // Every column starts where its header does.
    expect(row!.indexOf(row!.split(/\s+/)[1]!)).toBe(header!.indexOf("READY"));

    const several = pinctl("get", "deploy,svc");
    expect(several.stdout).toMatch(/^NAME\s+READY.*\ndeployment\.apps\/web\s/m);
    expect(several.stdout).toMatch(/\n\nNAME\s+TYPE.*\nservice\/web\s/m);

    const all = pinctl("get", "cm", "-A");
    expect(all.stdout.split("\n")[0]).toMatch(/^NAMESPACE\s+NAME\s+DATA\s+AGE$/);
    expect(all.stdout).toMatch(/^default\s+settings\s+1\s/m);

    const wide = pinctl("get", "deploy", "web", "-o", "wide");
    expect(wide.stdout.split("\n")[0]).toMatch(/CONTAINERS\s+IMAGES\s+SELECTOR/);
    expect(wide.stdout).toMatch(/pinsetter\/busybox:2/);
  });

  it("prints json, yaml and names", () => {
    const one = JSON.parse(pinctl("get", "deployment/web", "-o", "json").stdout) as KubeObject;
    expect(one).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "default" } });
    const list = JSON.parse(pinctl("get", "cm", "-o", "json").stdout) as { kind: string; items: KubeObject[] };
    expect(list.kind).toBe("List");
    expect(list.items.map((i) => i.metadata.name)).toContain("settings");
    expect(list.items.every((i) => i.kind === "ConfigMap")).toBe(true);
    const y = parseYaml(pinctl("get", "svc", "web", "-o", "yaml").stdout) as KubeObject;
    expect(y).toMatchObject({ kind: "Service", metadata: { name: "web" } });
    expect(pinctl("get", "deploy,svc", "-o", "name")).toEqual({ code: 0, stdout: "deployment.apps/web\nservice/web\n", stderr: "" });
    expect(pinctl("get", "cm", "-l", "nothing=here").stderr).toBe("No resources found in default namespace.\n");
    expect(pinctl("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}")).toEqual({ code: 0, stdout: "pinsetter/busybox:2", stderr: "" });
    expect(pinctl("get", "svc,deploy", "-o", "jsonpath={range .items[*]}{.kind}/{.metadata.name}{\"\\n\"}{end}").stdout).toBe("Service/web\nDeployment/web\n");
  });

  it("says what is missing in one line and exits 1", () => {
    const missing = pinctl("get", "pod", "nope");
    expect(missing).toMatchObject({ code: 1, stdout: "", stderr: 'Error: pods "nope" not found\n' });
    expect(pinctl("get", "deploy", "nope", "-o", "json")).toMatchObject({ code: 1, stderr: 'Error: deployments.apps "nope" not found\n' });
    const kind = pinctl("get", "frobnicators");
    expect(kind).toMatchObject({ code: 1, stderr: 'Error: the server doesn\'t have a resource type "frobnicators"\n' });
    expect(pinctl("frob")).toMatchObject({ code: 1, stdout: "", stderr: "Error: unknown command 'frob' (see --help)\n" });
    expect(pinctl("scale", "deployment/web")).toMatchObject({ code: 1, stderr: "Error: required option '--replicas <n>' not specified (see --help)\n" });
    expect(pinctl("get", "pods", "-o", "xml")).toMatchObject({ code: 1, stderr: expect.stringMatching(/^Error: unknown output format "xml"/) });
    const token = spawnSync(process.execPath, [PINCTL, "--config", config, "--token", "wrong", "get", "pods"], { encoding: "utf8" });
    expect(token.status).toBe(1);
    expect(token.stderr).toMatch(/^Error: .*(nauthorized|token)/);
    expect(token.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("-w prints a row for each change until interrupted", async () => {
    const child = spawn(process.execPath, [PINCTL, "--config", config, "get", "configmaps", "-w"], { stdio: ["ignore", "pipe", "pipe"] });
    cluster!.track(child);
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    await until("the initial table", () => /settings/.test(out));
    await client.create("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "watched" }, data: { x: "1", y: "2" } });
    await until("the new row", () => /^watched\s+2\s+\d+s$/m.test(out));
    expect(out.split("\n")[0]).toMatch(/^NAME\s+DATA\s+AGE$/);
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  });
});

describe("pinctl describe, scale, autoscale, delete", () => {
  it("describes a deployment and a service with their events", async () => {
    await client.create("events", {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "web.1", namespace: "default" },
      involvedObject: { apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: "default", uid: (await client.get("deployments", "default", "web")).metadata.uid },
      reason: "ScalingReplicaSet",
      message: "Scaled up replica set web-abc to 3",
      type: "Normal",
      source: { component: "deployment-controller" },
      count: 1,
      firstTimestamp: new Date().toISOString(),
      lastTimestamp: new Date().toISOString(),
    } as KubeObject);
    const d = pinctl("describe", "deployment", "web");
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^Name:\s+web$/m);
    expect(d.stdout).toMatch(/^Replicas:\s+3 desired \| \d+ updated/m);
    expect(d.stdout).toMatch(/^\s+Image:\s+pinsetter\/busybox:2$/m);
    expect(d.stdout).toMatch(/^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n/m);
    expect(d.stdout).toMatch(/Normal\s+ScalingReplicaSet\s+\d+s\s+deployment-controller\s+Scaled up replica set web-abc to 3/);
    const s = pinctl("describe", "svc/web");
    expect(s.stdout).toMatch(/^Selector:\s+app=web$/m);
    expect(s.stdout).toMatch(/^Events:\s+<none>$/m);
    expect(pinctl("describe", "pod", "nope")).toMatchObject({ code: 1, stderr: 'Error: pods "nope" not found\n' });
  });

  it("scales through /scale in both argument forms", async () => {
    expect(pinctl("scale", "deployment/web", "--replicas", "5")).toMatchObject({ code: 0, stdout: "deployment.apps/web scaled\n" });
    expect((await client.get<Deployment>("deployments", "default", "web")).spec.replicas).toBe(5);
    expect(pinctl("scale", "deploy", "web", "--replicas", "4").stdout).toBe("deployment.apps/web scaled\n");
    expect((await client.get<Deployment>("deployments", "default", "web")).spec.replicas).toBe(4);
    expect(pinctl("scale", "deployment/nope", "--replicas", "1")).toMatchObject({ code: 1, stderr: 'Error: deployments.apps "nope" not found\n' });
    expect(pinctl("scale", "deployment/web", "--replicas", "many")).toMatchObject({ code: 1 });
  });

  it("creates an autoscaling/v2 HPA", async () => {
    expect(pinctl("autoscale", "deployment/web", "--min", "2", "--max", "6", "--cpu-percent", "60")).toMatchObject({ code: 0, stdout: "horizontalpodautoscaler.autoscaling/web autoscaled\n" });
    const hpa = await client.get("horizontalpodautoscalers", "default", "web");
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 6, scaleTargetRef: { kind: "Deployment", name: "web" } });
  });

  it("prints a kubeconfig that names the first master's API and the token", () => {
    const text = pinctl("config", "kubeconfig").stdout;
    const kc = parseYaml(text) as { clusters: { cluster: { server: string } }[]; users: { user: { token: string } }[]; "current-context": string };
    // kubectl sends a token only over TLS: the kubeconfig names the https form of the API.
    expect(kc.clusters[0]!.cluster.server).toMatch(new RegExp(`^https?://${masters[0]!.host}:${masters[0]!.apiPort}$`));
    expect(kc.users[0]!.user.token).toBe(TOKEN);
    expect(kc["current-context"]).toBe("pinctl-test");
  });

  it.skipIf(spawnSync("kubectl", ["version", "--client"]).status !== 0)("lets a stock kubectl in with that kubeconfig, and kubectl apply agrees with pinctl's last-applied record", () => {
    const kubeconfig = file("kubeconfig", pinctl("config", "kubeconfig").stdout);
    const kubectl = (...args: string[]) => spawnSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", timeout: 30_000 });
    const got = kubectl("get", "deployments", "-o", "name");
    expect(got.stderr).toBe("");
    expect(got.stdout).toBe("deployment.apps/web\n");
    // After pinctl apply (which puts the scaled replicas back), kubectl finds nothing to change.
    expect(pinctl("apply", "-f", join(dir, "app.yaml")).stdout).toBe("deployment.apps/web configured\nservice/web unchanged\nconfigmap/settings unchanged\n");
    const applied = kubectl("apply", "-f", join(dir, "app.yaml"));
    expect(applied.stdout).toBe("deployment.apps/web unchanged\nservice/web unchanged\nconfigmap/settings unchanged\n");
  });

  it("deletes by name, by label and from a file", async () => {
    expect(pinctl("delete", "cm", "from-stdin")).toEqual({ code: 0, stdout: 'configmap "from-stdin" deleted\n', stderr: "" });
    await client.patch("configmaps", "default", "dir-a", { metadata: { labels: { batch: "x" } } }, "merge");
    await client.patch("configmaps", "default", "dir-b", { metadata: { labels: { batch: "x" } } }, "merge");
    expect(pinctl("delete", "cm", "-l", "batch=x").stdout).toBe('configmap "dir-a" deleted\nconfigmap "dir-b" deleted\n');
    expect(pinctl("delete", "pod", "nope")).toMatchObject({ code: 1, stderr: 'Error: pods "nope" not found\n' });

    const app = file("app-delete.yaml", manifest(3, "x", false));
    const r = pinctl("delete", "-f", app);
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps "web" deleted\nservice "web" deleted\nconfigmap "settings" deleted\n' });
    await until("web to be gone", () => pinctl("get", "deploy", "web").code === 1);
    expect(pinctl("get", "svc", "web").stderr).toBe('Error: services "web" not found\n');
  });
});

describe("pinctl rollout", () => {
  it("lists history from ReplicaSets and undoes to a revision", async () => {
    const base = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "roll", namespace: "default", annotations: { "deployment.kubernetes.io/revision": "2" } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "roll" } },
        template: { metadata: { labels: { app: "roll" } }, spec: { containers: [{ name: "c", image: "img:2" }] } },
      },
    } as Deployment;
    const d = await client.create<Deployment>("deployments", base);
    // A deployment controller may make its own ReplicaSet; ours carry revisions 1 and 2 either way.
    const rs = (rev: number, image: string, hash: string, cause?: string): ReplicaSet => ({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `roll-${hash}`,
        namespace: "default",
        annotations: { "deployment.kubernetes.io/revision": String(rev), ...(cause ? { "kubernetes.io/change-cause": cause } : {}) },
        labels: { app: "roll", "pod-template-hash": hash },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "roll", uid: d.metadata.uid!, controller: true }],
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "roll", "pod-template-hash": hash } },
        template: { metadata: { labels: { app: "roll", "pod-template-hash": hash } }, spec: { containers: [{ name: "c", image }] } },
      },
    });
    const existing = (await client.list<ReplicaSet>("replicasets", { namespace: "default" })).items.filter((r) => r.metadata.ownerReferences?.some((o) => o.uid === d.metadata.uid));
    if (existing.length === 0) {
      await client.create("replicasets", rs(1, "img:1", "aaa111", "first"));
      await client.create("replicasets", rs(2, "img:2", "bbb222"));
      const h = pinctl("rollout", "history", "deployment/roll");
      expect(h).toMatchObject({ code: 0, stdout: "deployment.apps/roll \nREVISION  CHANGE-CAUSE\n1         first\n2         <none>\n\n" });
    }
    const undo = pinctl("rollout", "undo", "deployment/roll", "--to-revision", "1");
    if (existing.length === 0) {
      expect(undo).toMatchObject({ code: 0, stdout: "deployment.apps/roll rolled back\n" });
      const after = await client.get<Deployment>("deployments", "default", "roll");
      expect(after.spec.template.spec?.containers[0]?.image).toBe("img:1");
      expect(after.spec.template.metadata?.labels).toEqual({ app: "roll" });
    }
    expect(pinctl("rollout", "undo", "deployment/roll", "--to-revision", "9")).toMatchObject({ code: 1, stderr: "Error: unable to find specified revision 9 in history\n" });
    expect(pinctl("rollout", "history", "deployment/none")).toMatchObject({ code: 1, stderr: 'Error: deployments.apps "none" not found\n' });
  });

  it("pauses, resumes and restarts", async () => {
    expect(pinctl("rollout", "pause", "deployment/roll")).toMatchObject({ code: 0, stdout: "deployment.apps/roll paused\n" });
    expect((await client.get<Deployment>("deployments", "default", "roll")).spec.paused).toBe(true);
    expect(pinctl("rollout", "pause", "deployment/roll")).toMatchObject({ code: 1 });
    expect(pinctl("rollout", "undo", "deployment/roll").stderr).toMatch(/^Error: you cannot rollback a paused deployment/);
    expect(pinctl("rollout", "resume", "deployment/roll")).toMatchObject({ code: 0, stdout: "deployment.apps/roll resumed\n" });
    expect(pinctl("rollout", "restart", "deployment/roll")).toMatchObject({ code: 0, stdout: "deployment.apps/roll restarted\n" });
    const d = await client.get<Deployment>("deployments", "default", "roll");
    expect(d.spec.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]).toMatch(/^\d{4}-/);
  });

  it("rollout status waits until the status says the rollout is complete", async () => {
    // With 0 replicas, a rollout is complete as soon as the controller (or anyone) observes the generation.
    const d = await client.get<Deployment>("deployments", "default", "roll");
    const status = spawn(process.execPath, [PINCTL, "--config", config, "rollout", "status", "deployment/roll", "--timeout", "60s"], { stdio: ["ignore", "pipe", "pipe"] });
    cluster!.track(status);
    let out = "";
    status.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => status.once("exit", (code) => r(code)));
    if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
      // No controller has caught up yet: act as one through the status subresource.
      await until("the status update", async () => {
        try {
          const cur = await client.get<Deployment>("deployments", "default", "roll");
          await client.update("deployments", { ...cur, status: { observedGeneration: cur.metadata.generation ?? 1, replicas: 0, updatedReplicas: 0, availableReplicas: 0 } }, { subresource: "status" });
          return true;
        } catch {
          return false;
        }
      });
    }
    expect(await exited).toBe(0);
    expect(out).toMatch(/deployment "roll" successfully rolled out\n$/);
    const timeout = pinctl("rollout", "status", "deployment/none", "--timeout", "1s");
    expect(timeout).toMatchObject({ code: 1, stderr: 'Error: deployments.apps "none" not found\n' });
  });

  it("keeps pinctl kv working on the store's client port", () => {
    expect(pinctl("kv", "put", "/pinctl-test/k", "v").code).toBe(0);
    expect(pinctl("kv", "get", "/pinctl-test/k").stdout).toBe("v\n");
  });

  it("fails over to another master's API when the first one is gone", async () => {
    await cluster!.kill(masters[0]!.name, "SIGKILL");
    // A new leader may take an election timeout; pinctl itself tries the other masters.
    const r = await until("get from the remaining masters", () => {
      const got = pinctl("get", "ns", "default", "-o", "name");
      return got.code === 0 ? got : null;
    });
    expect(r.stdout).toBe("namespace/default\n");
    expect(pinctlStdin("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-failover\n", "apply", "-f", "-").stdout).toBe("configmap/after-failover created\n");
  });
});
