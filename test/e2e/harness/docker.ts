// The Docker CLI, as the e2e tests use it to look at and hurt pods' containers
// (the kubelet itself talks to the engine through dockerode).

import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";

const exec = promisify(execFile);

export const LABEL_NODE = "io.pinsetter.node";
export const LABEL_POD_NAME = "io.kubernetes.pod.name";
export const LABEL_POD_NAMESPACE = "io.kubernetes.pod.namespace";
export const LABEL_CONTAINER = "io.kubernetes.container.name";
export const LABEL_KIND = "io.pinsetter.container.kind";

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec("docker", args, { maxBuffer: 16 << 20, timeout: 60_000 });
  return stdout.trim();
}

export interface ContainerInfo {
  id: string;
  node: string;
  pod: string;
  namespace: string;
  container: string;
  kind: string;
  state: string;
}

/** Containers carrying the given labels (all states). */
export async function containers(labels: Record<string, string>, opts: { running?: boolean } = {}): Promise<ContainerInfo[]> {
  const args = ["ps", "--no-trunc", "--format", "{{json .}}"];
  if (!opts.running) args.push("-a");
  for (const [k, v] of Object.entries(labels)) args.push("--filter", `label=${k}=${v}`);
  const out = await docker(...args);
  return out
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const j = JSON.parse(line) as { ID: string; Labels: string; State: string };
      const l = Object.fromEntries(
        j.Labels.split(",")
          .map((kv) => kv.split("="))
          .map(([k, ...v]) => [k, v.join("=")]),
      );
      return {
        id: j.ID,
        node: l[LABEL_NODE] ?? "",
        pod: l[LABEL_POD_NAME] ?? "",
        namespace: l[LABEL_POD_NAMESPACE] ?? "",
        container: l[LABEL_CONTAINER] ?? "",
        kind: l[LABEL_KIND] ?? "",
        state: j.State,
      };
    });
}

/** Every container (any state, sandboxes too) of these nodes. */
export async function nodeContainers(nodes: string[]): Promise<ContainerInfo[]> {
  return (await Promise.all(nodes.map((n) => containers({ [LABEL_NODE]: n })))).flat();
}

/** Running app containers (not sandboxes) of a node set. */
export async function appContainers(nodes: string[], pod?: string): Promise<ContainerInfo[]> {
  const all = (await Promise.all(nodes.map((n) => containers({ [LABEL_NODE]: n, ...(pod ? { [LABEL_POD_NAME]: pod } : {}) }, { running: true })))).flat();
  return all.filter((c) => c.kind !== "sandbox" && c.container !== "POD");
}

/** Removes every container of these nodes, synchronously (also from an exit hook). */
export function removeNodeContainersSync(nodes: string[]): number {
  let removed = 0;
  for (const n of nodes) {
    const ps = spawnSync("docker", ["ps", "-aq", "--filter", `label=${LABEL_NODE}=${n}`], { encoding: "utf8", timeout: 30_000 });
    const ids = (ps.stdout ?? "").split("\n").filter(Boolean);
    if (ids.length === 0) continue;
    spawnSync("docker", ["rm", "-f", "-v", ...ids], { encoding: "utf8", timeout: 60_000 });
    removed += ids.length;
  }
  return removed;
}

export function dockerAnswers(): boolean {
  return spawnSync("docker", ["info"], { timeout: 20_000 }).status === 0;
}

export function imagePresent(image: string): boolean {
  return spawnSync("docker", ["image", "inspect", image], { timeout: 20_000 }).status === 0;
}
