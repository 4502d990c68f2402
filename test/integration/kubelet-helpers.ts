// Helpers of the kubelet integration tests: a local busybox image (no registry
// is reachable), Docker reachability, and cleanup of test containers by label.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { LABELS } from "../../src/kubelet/runtime.js";
import { until } from "../lib/cluster-processes.js";

export const TEST_IMAGE = "pinsetter/kubelet-test:1";

export async function dockerAvailable(): Promise<boolean> {
  try {
    await new Docker().ping();
    return true;
  } catch {
    return false;
  }
}

/** Builds TEST_IMAGE (busybox with its applets linked, httpd serving /www) unless present. */
export function ensureTestImage(): void {
  try {
    execFileSync("docker", ["image", "inspect", TEST_IMAGE], { stdio: "ignore" });
    return;
  } catch {
    // build it
  }
  const busybox = ["/usr/bin/busybox", "/bin/busybox"].find((p) => fs.existsSync(p));
  if (!busybox) throw new Error("busybox-static is needed to build the test image");
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "kubelet-img-"));
  try {
    fs.mkdirSync(path.join(root, "bin"), { recursive: true });
    fs.mkdirSync(path.join(root, "www"), { recursive: true });
    fs.mkdirSync(path.join(root, "tmp"), { recursive: true });
    fs.copyFileSync(busybox, path.join(root, "bin/busybox"));
    fs.chmodSync(path.join(root, "bin/busybox"), 0o755);
    const applets = execFileSync(busybox, ["--list"], { encoding: "utf8" }).split("\n").filter((a) => a && a !== "busybox");
    for (const a of applets) fs.symlinkSync("busybox", path.join(root, "bin", a));
    fs.writeFileSync(path.join(root, "www/index.html"), "hello from the kubelet test image\n");
    const tar = execFileSync("tar", ["-C", root, "-c", "."], { maxBuffer: 64 * 1024 * 1024 });
    execFileSync("docker", ["import", "--change", 'ENV PATH=/bin', "--change", 'CMD ["httpd","-f","-p","80","-h","/www"]', "-", TEST_IMAGE], { input: tar, stdio: ["pipe", "ignore", "inherit"] });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Removes every container labelled with this node name (the tests' own). */
export async function removeNodeContainers(nodeName: string): Promise<void> {
  const docker = new Docker();
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.node}=${nodeName}`] }) as unknown as Record<string, string[]> });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
}

/** until() of the shared cluster scaffolding, with the pause as a plain argument. */
export function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  return until(what, fn, timeoutMs, { everyMs });
}
