// Pod volumes on the node's disk, under <nodeDataDir>/pods/<uid>/volumes:
// emptyDir as a directory shared by the pod's containers, configMap and
// secret projected as files (read-only in the container), hostPath as is.

import fs from "node:fs/promises";
import path from "node:path";
import type { ConfigMap, Container, KeyToPath, Pod, Secret } from "../api/types.js";
import { ContainerConfigError } from "./container-config.js";
import type { Mount } from "./runtime.js";

export interface VolumeSources {
  configMap(name: string): Promise<ConfigMap | null>;
  secret(name: string): Promise<Secret | null>;
}

interface PreparedVolume {
  hostPath: string;
  readOnly: boolean;
}

export function podDir(nodeDir: string, uid: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(uid)) throw new Error(`unexpected pod uid ${JSON.stringify(uid)}`);
  return path.join(nodeDir, "pods", uid);
}

function safeRelative(p: string): string {
  const norm = path.posix.normalize(p);
  if (norm.startsWith("..") || path.posix.isAbsolute(norm)) throw new ContainerConfigError(`invalid volume item path ${p}`);
  return norm;
}

async function project(dir: string, data: Record<string, Buffer>, items: KeyToPath[] | undefined, mode: number, optional: boolean, what: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const entries = items?.length ? items.map((i) => [i.key, i.path, i.mode ?? mode] as const) : Object.keys(data).map((k) => [k, k, mode] as const);
  for (const [key, rel, m] of entries) {
    const value = data[key];
    if (value === undefined) {
      if (optional) continue;
      throw new ContainerConfigError(`key "${key}" not found in ${what}`);
    }
    const file = path.join(dir, safeRelative(rel));
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, value, { mode: m });
  }
}

/** Creates or refreshes the pod's volumes; returns each volume's host path. */
export async function prepareVolumes(pod: Pod, dir: string, sources: VolumeSources): Promise<Map<string, PreparedVolume>> {
  const out = new Map<string, PreparedVolume>();
  for (const v of pod.spec.volumes ?? []) {
    if (v.emptyDir) {
      const p = path.join(dir, "volumes", "empty-dir", v.name);
      await fs.mkdir(p, { recursive: true });
      await fs.chmod(p, 0o777); // containers may run as any user
      out.set(v.name, { hostPath: p, readOnly: false });
    } else if (v.configMap) {
      const name = v.configMap.name ?? "";
      const cm = await sources.configMap(name);
      if (!cm && !v.configMap.optional) throw new ContainerConfigError(`configmap "${name}" not found`);
      const data: Record<string, Buffer> = {};
      for (const [k, val] of Object.entries(cm?.data ?? {})) data[k] = Buffer.from(val);
      for (const [k, val] of Object.entries(cm?.binaryData ?? {})) data[k] = Buffer.from(val, "base64");
      const p = path.join(dir, "volumes", "configmap", v.name);
      await project(p, data, v.configMap.items, v.configMap.defaultMode ?? 0o644, v.configMap.optional === true, `configmap "${name}"`);
      out.set(v.name, { hostPath: p, readOnly: true });
    } else if (v.secret) {
      const name = v.secret.secretName ?? "";
      const s = await sources.secret(name);
      if (!s && !v.secret.optional) throw new ContainerConfigError(`secret "${name}" not found`);
      const data: Record<string, Buffer> = {};
      for (const [k, val] of Object.entries(s?.data ?? {})) data[k] = Buffer.from(val, "base64");
      const p = path.join(dir, "volumes", "secret", v.name);
      await project(p, data, v.secret.items, v.secret.defaultMode ?? 0o644, v.secret.optional === true, `secret "${name}"`);
      out.set(v.name, { hostPath: p, readOnly: true });
    } else if (v.hostPath) {
      out.set(v.name, { hostPath: v.hostPath.path, readOnly: false });
    }
  }
  return out;
}

/** A container's mounts from its volumeMounts. */
export function containerMounts(c: Container, volumes: Map<string, PreparedVolume>): Mount[] {
  return (c.volumeMounts ?? []).map((m) => {
    const v = volumes.get(m.name);
    if (!v) throw new ContainerConfigError(`volume "${m.name}" not found or not supported`);
    const hostPath = m.subPath ? path.join(v.hostPath, safeRelative(m.subPath)) : v.hostPath;
    return { hostPath, containerPath: m.mountPath, readOnly: v.readOnly || m.readOnly === true };
  });
}
