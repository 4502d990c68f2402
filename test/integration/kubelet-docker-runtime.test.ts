// The Docker runtime against a real engine: sandbox with the pod IP and a
// hostPort, containers sharing its network, env, logs (demuxed, tail,
// previous instance by id), exec, probes, stop with grace, listing by node
// label (what a restarted kubelet adopts) and removal.

import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import type { Pod } from "../../src/api/types.js";
import { DockerRuntime } from "../../src/kubelet/docker-runtime.js";
import type { ContainerSpec } from "../../src/kubelet/runtime.js";
import { dockerAvailable, ensureTestImage, removeNodeContainers, TEST_IMAGE, waitFor } from "./kubelet-helpers.js";

const hasDocker = await dockerAvailable();
const NODE = `kt-rt-${process.pid}`;
const HOST = "127.0.0.61";
const HOST_PORT = 18000 + (process.pid % 1000);

function spec(name: string, extra: Partial<ContainerSpec>, sandboxId: string): ContainerSpec {
  return {
    podUid: "11111111-2222-3333-4444-555555555555",
    podNamespace: "default",
    podName: "rt",
    annotations: {},
    name,
    kind: "app",
    attempt: 0,
    hash: "h1",
    image: TEST_IMAGE,
    env: [],
    mounts: [],
    sandboxId,
    tty: false,
    stdin: false,
    ...extra,
  };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

describe.skipIf(!hasDocker)("docker runtime", () => {
  const rt = new DockerRuntime({ nodeName: NODE, logger: pino({ level: "silent" }) });

  beforeAll(async () => {
    ensureTestImage();
    await rt.start();
  }, 120_000);

  afterAll(async () => {
    await rt.close();
    await removeNodeContainers(NODE);
  });

  it("runs a pod: sandbox IP and hostPort, containers on its network, env, logs, exec, probes, stop, list and remove", async () => {
    const sb = await rt.runSandbox({ podUid: "11111111-2222-3333-4444-555555555555", podNamespace: "default", podName: "rt", annotations: {}, attempt: 0, hostname: "rt", portBindings: [{ containerPort: 80, hostPort: HOST_PORT, hostIP: HOST, protocol: "TCP" }], hostNetwork: false, hostIP: HOST });
    expect(sb.state).toBe("running");
    expect(sb.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    // The web container uses the image's Cmd (httpd) and gets its env.
    const web = await rt.createContainer(spec("web", { env: [{ name: "GREETING", value: "hi there" }], nanoCpus: 500_000_000, memoryBytes: 64 * 1024 * 1024 }, sb.id));
    await rt.startContainer(web);
    const hc = (await rt.docker.getContainer(web).inspect()).HostConfig;
    expect(hc.NanoCpus).toBe(500_000_000);
    expect(hc.Memory).toBe(64 * 1024 * 1024);
    expect(hc.NetworkMode).toBe(`container:${sb.id}`);
    // A second container prints its env and exits 3.
    const job = await rt.createContainer(spec("job", { entrypoint: ["sh", "-c"], cmd: ['echo "line1 $GREETING"; echo err >&2; sleep 0.2; echo line3; exit 3'], env: [{ name: "GREETING", value: "yo" }] }, sb.id));
    await rt.startContainer(job);

    const pod = { metadata: { name: "rt", namespace: "default", uid: "u" }, spec: { containers: [] } } as Pod;
    const webInst = (await rt.podContainers("11111111-2222-3333-4444-555555555555")).find((c) => c.name === "web")!;
    const target = { kind: "readiness" as const, pod, container: webInst, podIP: sb.ip!, namedPorts: { http: 80 } };
    await waitFor("httpd answers on the pod IP", () => rt.probe(target, { httpGet: { port: "http", path: "/" } }, 1000));
    expect(await rt.probe(target, { httpGet: { port: 80, path: "/missing" } }, 1000)).toBe(false);
    expect(await rt.probe(target, { tcpSocket: { port: 80 } }, 1000)).toBe(true);
    expect(await rt.probe(target, { tcpSocket: { port: 81 } }, 1000)).toBe(false);
    expect(await rt.probe(target, { exec: { command: ["sh", "-c", 'test "$GREETING" = "hi there"'] } }, 2000)).toBe(true);
    expect(await rt.probe(target, { exec: { command: ["false"] } }, 2000)).toBe(false);

    // hostPort published on the node's address.
    const viaHost = await waitFor("hostPort answers", async () => (await get(`http://${HOST}:${HOST_PORT}/`)).body);
    expect(viaHost).toContain("hello from the kubelet test image");

    const jobInst = await waitFor("job exits", async () => (await rt.podContainers("11111111-2222-3333-4444-555555555555")).find((c) => c.name === "job" && c.state === "exited"));
    expect(jobInst.exitCode).toBe(3);
    expect(jobInst.reason).toBe("Error");
    expect(jobInst.finishedAt).toMatch(/Z$/);

    const chunks: Buffer[] = [];
    await rt.logs(job, { follow: false, timestamps: false }, (c) => chunks.push(c), new AbortController().signal);
    const text = Buffer.concat(chunks).toString();
    expect(text).toContain("line1 yo");
    expect(text).toContain("err");
    expect(text).not.toMatch(/[\x00-\x02]\x00\x00\x00/); // demuxed: no frame headers
    const tail: Buffer[] = [];
    await rt.logs(job, { follow: false, timestamps: true, tailLines: 1 }, (c) => tail.push(c), new AbortController().signal);
    expect(Buffer.concat(tail).toString().trim()).toMatch(/^\d{4}-\d\d-\d\dT\S+ line3$/);

    // Everything is listed under the node label, sandbox included.
    const listed = await rt.listContainers();
    expect(listed.map((c) => c.name).sort()).toEqual(["POD", "job", "web"]);
    expect(listed.every((c) => c.podUid === "11111111-2222-3333-4444-555555555555")).toBe(true);

    // httpd stops on SIGTERM (through the container's init) well before the grace period.
    const t0 = Date.now();
    await rt.stopContainer(web, 20);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const stopped = (await rt.podContainers("11111111-2222-3333-4444-555555555555")).find((c) => c.id === web)!;
    expect(stopped.state).toBe("exited");

    for (const c of listed) await rt.removeContainer(c.id);
    expect(await rt.listContainers()).toEqual([]);
  }, 120_000);

  it("two nodes on one engine see only their own containers", async () => {
    const other = new DockerRuntime({ nodeName: `${NODE}-b`, logger: pino({ level: "silent" }) });
    try {
      const mine = await rt.runSandbox({ podUid: "aaaaaaaa-0000-0000-0000-000000000001", podNamespace: "default", podName: "a", annotations: {}, attempt: 0, hostname: "a", portBindings: [], hostNetwork: false, hostIP: HOST });
      const theirs = await other.runSandbox({ podUid: "bbbbbbbb-0000-0000-0000-000000000002", podNamespace: "default", podName: "b", annotations: {}, attempt: 0, hostname: "b", portBindings: [], hostNetwork: false, hostIP: HOST });
      expect((await rt.listContainers()).map((c) => c.id)).toEqual([mine.id]);
      expect((await other.listContainers()).map((c) => c.id)).toEqual([theirs.id]);
      expect(await rt.podContainers("bbbbbbbb-0000-0000-0000-000000000002")).toEqual([]);
      await rt.removeContainer(mine.id);
    } finally {
      await removeNodeContainers(`${NODE}-b`);
    }
  }, 60_000);

  it("a host-network pod has the node's address as its IP", async () => {
    const sb = await rt.runSandbox({ podUid: "cccccccc-0000-0000-0000-000000000003", podNamespace: "default", podName: "hn", annotations: {}, attempt: 0, hostname: "hn", portBindings: [], hostNetwork: true, hostIP: HOST });
    expect(sb.ip).toBe(HOST);
    expect((await rt.docker.getContainer(sb.id).inspect()).HostConfig.NetworkMode).toBe("host");
    await rt.removeContainer(sb.id);
  }, 60_000);

  it("a pause image removed under a running kubelet is built again", async () => {
    const image = `pinsetter/pause-test-${process.pid}:1`;
    const own = new DockerRuntime({ nodeName: `${NODE}-p`, logger: pino({ level: "silent" }), pauseImage: image });
    try {
      await own.start();
      await own.docker.getImage(image).remove();
      const sb = await own.runSandbox({ podUid: "dddddddd-0000-0000-0000-000000000004", podNamespace: "default", podName: "pz", annotations: {}, attempt: 0, hostname: "pz", portBindings: [], hostNetwork: false, hostIP: HOST });
      expect(sb.state).toBe("running");
    } finally {
      await own.close();
      await removeNodeContainers(`${NODE}-p`);
      await own.docker.getImage(image).remove().catch(() => undefined);
    }
  }, 60_000);

  it("Never pull of a missing image is ErrImageNeverPull; a pull without a registry is ErrImagePull", async () => {
    await expect(rt.ensureImage("pinsetter/does-not-exist:9", "Never")).rejects.toMatchObject({ reason: "ErrImageNeverPull" });
    await expect(rt.ensureImage("pinsetter/does-not-exist:9", "IfNotPresent")).rejects.toMatchObject({ reason: "ErrImagePull" });
    await expect(rt.ensureImage(TEST_IMAGE, "IfNotPresent")).resolves.toBeUndefined();
    // Always with no registry: the local copy runs (a missing one is ErrImagePull).
    await expect(rt.ensureImage(TEST_IMAGE, "Always")).resolves.toBeUndefined();
    await expect(rt.ensureImage("pinsetter/does-not-exist:9", "Always")).rejects.toMatchObject({ reason: "ErrImagePull" });
  }, 120_000);
});
