// Stock kubectl binaries (1.27, the oldest here, 1.32 and 1.33, the newest) against
// three real masters: discovery, get in every output, get -w, apply of a
// multi-document manifest twice (the second a patch that keeps fields others
// set), diff, scale, describe, delete -f, and a wrong token refused. kubectl
// sends a bearer token only over TLS, so the kubeconfig uses https.

import { spawn, spawnSync } from "node:child_process";
import http from "node:http";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigMap, Deployment, KubeObject, Namespace, Node, Pod } from "../../src/api/types.js";
import type { KubeClient } from "../../src/client/kube-client.js";
import { startCluster, until, type TestCluster } from "./apiserver-harness.js";

const masters = ["127.0.0.184", "127.0.0.185", "127.0.0.186"].map((host, i) => ({ name: `m${i + 1}`, host, raftPort: 7711, clientPort: 2789, apiPort: 6853 }));

const SDK_BIN = "/usr/lib/google-cloud-sdk/bin";
function kubectlPath(name: string): string | null {
  const onPath = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
  if (onPath) return onPath;
  return existsSync(join(SDK_BIN, name)) ? join(SDK_BIN, name) : null;
}

const VERSIONS = ["kubectl.1.27", "kubectl", "kubectl.1.33"].map((n) => ({ name: n, path: kubectlPath(n) })).filter((v) => v.path !== null) as { name: string; path: string }[];

let cluster: TestCluster;
let client: KubeClient;
let kubeconfig = "";
let badKubeconfig = "";

function writeKubeconfig(path: string, token: string, server: string): void {
  writeFileSync(
    path,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: pinsetter",
      "  cluster:",
      `    server: ${server}`,
      "    insecure-skip-tls-verify: true",
      "users:",
      "- name: admin",
      "  user:",
      `    token: ${token}`,
      "contexts:",
      "- name: pinsetter",
      "  context: {cluster: pinsetter, user: admin, namespace: default}",
      "current-context: pinsetter",
      "",
    ].join("\n"),
  );
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(bin: string, args: string[], opts: { config?: string; input?: string } = {}): Run {
  const r = spawnSync(bin, args, {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, KUBECONFIG: opts.config ?? kubeconfig, HOME: cluster.dir },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** kubectl without blocking this process (which may be serving something kubectl reaches). */
function kubectlAsync(bin: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: cluster.dir } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  cluster = await startCluster({ clusterName: "kubectl-test", masters });
  client = cluster.client();
  kubeconfig = join(cluster.dir, "kubeconfig");
  badKubeconfig = join(cluster.dir, "kubeconfig-bad");
  writeKubeconfig(kubeconfig, cluster.token, cluster.apiUrl(masters[1]!, true));
  writeKubeconfig(badKubeconfig, "not-the-token", cluster.apiUrl(masters[1]!, true));
}, 120_000);

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

const manifest = (ns: string, replicas: number, image: string) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${ns}
  labels:
    app: web
spec:
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
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${ns}
spec:
  type: NodePort
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: ${ns}
data:
  mode: fast
`;

it("finds the kubectl binaries", () => {
  expect(VERSIONS.length).toBeGreaterThanOrEqual(2);
});

describe.each(VERSIONS)("$name", ({ name, path }) => {
  const ns = `ns-${name.replace(/[^a-z0-9]/g, "")}`;

  it("reads /version and refuses a wrong token", () => {
    const v = kubectl(path, ["get", "--raw", "/version"]);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ major: "1" });
    const bad = kubectl(path, ["get", "pods"], { config: badKubeconfig });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Unauthorized|credentials/);
  });

  it("applies a multi-document manifest, then again after an edit as a patch that keeps fields set by others", async () => {
    await client.create<Namespace>("namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const file = join(cluster.dir, `${ns}.yaml`);
    writeFileSync(file, manifest(ns, 2, "nginx:1.25"));
    const first = kubectl(path, ["apply", "-f", file]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/deployment.apps\/web created/);
    expect(first.stdout).toMatch(/service\/web created/);
    expect(first.stdout).toMatch(/configmap\/settings created/);
    expect(first.stderr).not.toMatch(/warning/i);

    // Someone else sets a label and an annotation.
    await client.patch("deployments", ns, "web", { metadata: { labels: { team: "blue" }, annotations: { "example.com/owner": "ops" } } });

    writeFileSync(file, manifest(ns, 3, "nginx:1.27"));
    const diff = kubectl(path, ["diff", "-f", file]);
    expect(diff.code, diff.stderr).toBe(1);
    expect(diff.stdout).toMatch(/^-\s+(- )?image: nginx:1.25/m);
    expect(diff.stdout).toMatch(/^\+\s+(- )?image: nginx:1.27/m);

    const second = kubectl(path, ["apply", "-f", file]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/deployment.apps\/web configured/);
    expect(second.stdout).toMatch(/configmap\/settings unchanged/);
    const d = await client.get<Deployment>("deployments", ns, "web");
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.template.spec.containers[0]!.image).toBe("nginx:1.27");
    expect(d.metadata.labels).toMatchObject({ app: "web", team: "blue" });
    expect(d.metadata.annotations?.["example.com/owner"]).toBe("ops");
    expect(d.metadata.generation).toBe(2);

    const clean = kubectl(path, ["diff", "-f", file]);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
  });

  it("gets as a table, wide, yaml and json", async () => {
    await client.create<Pod>("pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "solo", namespace: ns }, spec: { containers: [{ name: "c", image: "busybox" }] } });
    const table = kubectl(path, ["get", "deployments", "-n", ns]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/m);
    expect(table.stdout).toMatch(/^web\s+0\/3/m);
    const pods = kubectl(path, ["get", "pods", "-n", ns, "-o", "wide"]);
    expect(pods.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/m);
    expect(pods.stdout).toMatch(/^solo\s+0\/1\s+Pending/m);
    const svc = kubectl(path, ["get", "svc", "web", "-n", ns, "-o", "wide"]);
    expect(svc.stdout).toMatch(/NodePort\s+10\.\d+\.\d+\.\d+\s+<none>\s+80:3\d{4}\/TCP/);
    const yaml = parseYaml(kubectl(path, ["get", "deploy", "web", "-n", ns, "-o", "yaml"]).stdout) as Deployment;
    expect(yaml.spec.replicas).toBe(3);
    const json = JSON.parse(kubectl(path, ["get", "nodes,namespaces", "-o", "json"]).stdout) as { items: KubeObject[] };
    expect(json.items.map((i) => i.metadata.name)).toContain(ns);
  });

  it("watches with get -w", async () => {
    const child = spawn(path, ["get", "configmaps", "-n", ns, "-w"], { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: cluster.dir } });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    try {
      await until("the initial list", () => out.includes("settings"));
      await client.create<ConfigMap>("configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "arrived", namespace: ns } });
      await until("the new configmap in the watch output", () => out.includes("arrived"), 15_000);
    } finally {
      child.kill();
    }
  });

  it("creates with kubectl create, whose typed clients send protobuf bodies", async () => {
    const made = `${ns}-made`;
    for (const args of [
      ["create", "namespace", made],
      ["create", "configmap", "cfg", "-n", made, "--from-literal=a=1", "--from-literal=b=2"],
      ["create", "secret", "generic", "sec", "-n", made, "--from-literal=password=hunter2"],
      ["create", "deployment", "api", "-n", made, "--image=nginx:1.27", "--replicas=0", "--port=8080"],
      ["create", "service", "nodeport", "api", "-n", made, "--tcp=80:8080"],
    ]) {
      const r = kubectl(path, args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    }
    expect((await client.get<ConfigMap>("configmaps", made, "cfg")).data).toEqual({ a: "1", b: "2" });
    const sec = await client.get<KubeObject & { data?: Record<string, string> }>("secrets", made, "sec");
    expect(Buffer.from(sec.data?.password ?? "", "base64").toString()).toBe("hunter2");
    const d = await client.get<Deployment>("deployments", made, "api");
    expect(d.spec.replicas).toBe(0);
    expect(d.spec.selector.matchLabels).toEqual({ app: "api" });
    expect(d.spec.template.spec.containers[0]).toMatchObject({ name: "nginx", image: "nginx:1.27", ports: [{ containerPort: 8080 }] });
    expect(d.spec.template.metadata?.name).toBeUndefined();
    const svc = await client.get("services", made, "api");
    expect((svc.spec as { ports: { port: number; targetPort: number; nodePort: number }[] }).ports[0]).toMatchObject({ port: 80, targetPort: 8080 });
  });

  it("reads logs through the API server's proxy to the node's kubelet", async () => {
    // A stand-in kubelet on its own loopback address: the real one is tested in the kubelet's suites.
    const kubelet = http.createServer((req, res) => {
      res.writeHead(req.headers.authorization === `Bearer ${cluster.token}` ? 200 : 401, { "content-type": "text/plain" });
      res.end(`hello from ${req.url}\n`);
    });
    await new Promise<void>((r) => kubelet.listen(0, "127.0.0.189", r));
    try {
      const port = (kubelet.address() as { port: number }).port;
      const node = `kubelet-${ns}`;
      await client.create<Node>("nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: node },
        status: { addresses: [{ type: "InternalIP", address: "127.0.0.189" }], daemonEndpoints: { kubeletEndpoint: { Port: port } } },
      });
      await client.create<Pod>("pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "talker", namespace: ns }, spec: { nodeName: node, containers: [{ name: "main", image: "busybox" }] } });
      // The stand-in kubelet lives in this process: run kubectl without blocking it.
      const r = await kubectlAsync(path, ["logs", "talker", "-n", ns, "--tail", "3"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`hello from /containerLogs/${ns}/talker/main?tailLines=3\n`);
    } finally {
      kubelet.close();
    }
  });

  it("scales, describes, and deletes -f", async () => {
    const scale = kubectl(path, ["scale", "deployment", "web", "-n", ns, "--replicas", "5"]);
    expect(scale.code, scale.stderr).toBe(0);
    expect((await client.get<Deployment>("deployments", ns, "web")).spec.replicas).toBe(5);
    const describe = kubectl(path, ["describe", "deployment", "web", "-n", ns]);
    expect(describe.code, describe.stderr).toBe(0);
    expect(describe.stdout).toMatch(/^Name:\s+web/m);
    expect(describe.stdout).toMatch(/Replicas:\s+5 desired/);
    const dpod = kubectl(path, ["describe", "pod", "solo", "-n", ns]);
    expect(dpod.code, dpod.stderr).toBe(0);
    expect(dpod.stdout).toMatch(/^Status:\s+Pending/m);
    const file = join(cluster.dir, `${ns}.yaml`);
    const del = kubectl(path, ["delete", "-f", file]);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toMatch(/deployment.apps "web" deleted/);
    const gone = kubectl(path, ["get", "deployment", "web", "-n", ns]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/NotFound|not found/);
  });
});
