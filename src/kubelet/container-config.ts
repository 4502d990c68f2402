// From a pod's container spec to what a runtime runs: environment (value,
// valueFrom, envFrom, the downward API), $(VAR) expansion, and Kubernetes'
// command/args rules against the image's Entrypoint/Cmd. Pure: ConfigMaps and
// Secrets are looked up by the caller and passed in.

import { createHash } from "node:crypto";
import type { ConfigMap, Container, Pod, Secret } from "../api/types.js";
import { toBytes, toMilli } from "../api/quantity.js";

/** A missing ConfigMap, Secret or key: the container waits with CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  override name = "ContainerConfigError";
}

export interface EnvSources {
  configMaps: Map<string, ConfigMap | null>;
  secrets: Map<string, Secret | null>;
  nodeName: string;
  hostIP: string;
  podIP: string;
}

/** The names of ConfigMaps and Secrets a container's env needs. */
export function envReferences(c: Container): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const e of c.env ?? []) {
    if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
    if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
  }
  for (const f of c.envFrom ?? []) {
    if (f.configMapRef?.name) configMaps.add(f.configMapRef.name);
    if (f.secretRef?.name) secrets.add(f.secretRef.name);
  }
  return { configMaps, secrets };
}

/**
 * Expands $(VAR) from `vars`; $$ escapes a dollar; a reference to an unknown
 * variable stays as written (Kubernetes' third_party/forked/golang/expansion).
 */
export function expand(input: string, vars: ReadonlyMap<string, string>): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== "$" || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i++;
      continue;
    }
    if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = vars.get(name);
      out += v !== undefined ? v : `$(${name})`;
      i = close;
      continue;
    }
    out += ch;
  }
  return out;
}

function decodeSecret(v: string): string {
  return Buffer.from(v, "base64").toString("utf8");
}

function fieldRef(pod: Pod, path: string, src: EnvSources): string {
  switch (path) {
    case "metadata.name":
      return pod.metadata.name ?? "";
    case "metadata.namespace":
      return pod.metadata.namespace ?? "default";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "spec.nodeName":
      return src.nodeName;
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "default";
    case "status.podIP":
      return src.podIP;
    case "status.podIPs":
      return src.podIP;
    case "status.hostIP":
    case "status.hostIPs":
      return src.hostIP;
  }
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]!] ?? "";
  throw new ContainerConfigError(`unsupported fieldRef ${path}`);
}

function lookup<T>(map: Map<string, T | null>, name: string): T | null {
  return map.get(name) ?? null;
}

/** The container's environment in order, with valueFrom resolved and $(VAR) expanded. */
export function resolveEnv(pod: Pod, c: Container, src: EnvSources): { name: string; value: string }[] {
  const vars = new Map<string, string>();
  const order: string[] = [];
  const set = (k: string, v: string) => {
    if (!vars.has(k)) order.push(k);
    vars.set(k, v);
  };
  for (const f of c.envFrom ?? []) {
    const prefix = f.prefix ?? "";
    if (f.configMapRef) {
      const name = f.configMapRef.name ?? "";
      const cm = lookup(src.configMaps, name);
      if (!cm) {
        if (f.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) set(prefix + k, v);
    }
    if (f.secretRef) {
      const name = f.secretRef.name ?? "";
      const s = lookup(src.secrets, name);
      if (!s) {
        if (f.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      for (const [k, v] of Object.entries(s.data ?? {})) set(prefix + k, decodeSecret(v));
    }
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) set(e.name, fieldRef(pod, vf.fieldRef.fieldPath, src));
      else if (vf.configMapKeyRef) {
        const ref = vf.configMapKeyRef;
        const cm = lookup(src.configMaps, ref.name ?? "");
        const v = cm?.data?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          throw new ContainerConfigError(cm ? `key "${ref.key}" not found in configmap "${ref.name}"` : `configmap "${ref.name}" not found`);
        }
        set(e.name, v);
      } else if (vf.secretKeyRef) {
        const ref = vf.secretKeyRef;
        const s = lookup(src.secrets, ref.name ?? "");
        const v = s?.data?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          throw new ContainerConfigError(s ? `key "${ref.key}" not found in secret "${ref.name}"` : `secret "${ref.name}" not found`);
        }
        set(e.name, decodeSecret(v));
      } else if (vf.resourceFieldRef) {
        const r = vf.resourceFieldRef;
        const q = c.resources?.limits?.[r.resource.replace(/^limits\./, "")] ?? c.resources?.requests?.[r.resource.replace(/^requests\./, "")];
        set(e.name, q === undefined ? "0" : r.resource.endsWith("cpu") ? String(Math.ceil(toMilli(q) / 1000)) : String(toBytes(q)));
      }
    } else {
      // Values may refer to variables defined before them.
      set(e.name, expand(e.value ?? "", vars));
    }
  }
  return order.map((name) => ({ name, value: vars.get(name)! }));
}

/**
 * Kubernetes' command/args against the image: command replaces Entrypoint
 * (and drops the image's Cmd), args replace Cmd. Docker applies the image's
 * values for whichever is left unset, which is exactly that rule. $(VAR)
 * references expand from the container's environment.
 */
export function resolveCommand(c: Container, env: { name: string; value: string }[]): { entrypoint?: string[]; cmd?: string[] } {
  const vars = new Map(env.map((e) => [e.name, e.value]));
  const out: { entrypoint?: string[]; cmd?: string[] } = {};
  if (c.command && c.command.length > 0) {
    out.entrypoint = c.command.map((s) => expand(s, vars));
    out.cmd = (c.args ?? []).map((s) => expand(s, vars));
  } else if (c.args && c.args.length > 0) {
    out.cmd = c.args.map((s) => expand(s, vars));
  }
  return out;
}

/** Docker's resource limits from the container's limits (cpu as NanoCpus, memory in bytes) and cpu request (shares). */
export function resourceLimits(c: Container): { nanoCpus?: number; memoryBytes?: number; cpuShares?: number } {
  const out: { nanoCpus?: number; memoryBytes?: number; cpuShares?: number } = {};
  const lim = c.resources?.limits ?? {};
  const req = c.resources?.requests ?? {};
  if (lim.cpu !== undefined) out.nanoCpus = toMilli(lim.cpu) * 1_000_000;
  if (lim.memory !== undefined) out.memoryBytes = toBytes(lim.memory);
  const cpuReq = req.cpu ?? lim.cpu;
  if (cpuReq !== undefined) out.cpuShares = Math.max(2, Math.floor((toMilli(cpuReq) * 1024) / 1000));
  return out;
}

/** A hash of the container spec: a container created from another spec is restarted. */
export function containerHash(c: Container): string {
  // Probes and resources of a running container may be edited without a restart in
  // newer Kubernetes; the image, command and env may not. Hash what needs a restart.
  const relevant = { image: c.image, command: c.command, args: c.args, env: c.env, envFrom: c.envFrom, workingDir: c.workingDir, ports: c.ports, volumeMounts: c.volumeMounts };
  return createHash("sha256").update(JSON.stringify(relevant)).digest("hex").slice(0, 12);
}

/** Normalizes an image reference the way Docker does: no tag means :latest. */
export function normalizeImage(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) return image;
  const lastSlash = image.lastIndexOf("/");
  const lastColon = image.lastIndexOf(":");
  return lastColon > lastSlash ? image : `${image}:latest`;
}

/**
 * The pull policy: as set, else IfNotPresent. Kubernetes defaults :latest to
 * Always, but ARCHITECTURE §6 says images pull IfNotPresent here: no registry
 * is reachable, so Always would fail every locally built :latest image.
 */
export function pullPolicy(c: Container): "Always" | "IfNotPresent" | "Never" {
  return c.imagePullPolicy ?? "IfNotPresent";
}

/** A probe or hook port: a number, or the name of one of the container's ports. */
export function resolvePort(port: number | string, named: Record<string, number>): number {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = named[port];
  if (p === undefined) throw new Error(`unknown named port ${port}`);
  return p;
}
