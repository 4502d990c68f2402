// The one validation point of cluster.config.json: untrusted JSON in, a
// resolved ClusterConfig or every problem found (each with its field path) out.
// Pure: no file is read or written here (load.ts reads the file).

import net from "node:net";
import path from "node:path";

import { parseCpuMillicores, parseMemoryBytes } from "./quantity.js";
import {
  CLIENT_AUTH_MODES,
  CONFIG_DEFAULTS,
  MEMBER_NAME_RE,
  MIN_DERIVED_TICK_MS,
  RUNTIME_KINDS,
  deriveTickMs,
  type ClientAuth,
  type ClusterConfig,
  type MasterConfig,
  type NodeCapacity,
  type NodeConfig,
  type RaftSettings,
  type RuntimeKind,
  type StoreSettings,
  type NodeLifecycleSettings,
  type AutoscalingSettings,
  PLACER_KINDS,
  type SchedulerSettings,
} from "./types.js";

/** One problem in the config. `path` is the field ("masters[1].raftPort"), "" for the file as a whole. */
export interface ConfigFieldError {
  path: string;
  message: string;
  /** For syntax errors: where in the file (1-based). */
  line?: number;
  column?: number;
}

export type ParseConfigResult = { ok: true; config: ClusterConfig } | { ok: false; errors: ConfigFieldError[] };

/** A config that cannot be used. `message` holds one line per problem, each naming the file and field. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly file: string;
  readonly errors: readonly ConfigFieldError[];

  constructor(file: string, errors: readonly ConfigFieldError[]) {
    super(formatConfigErrors(file, errors));
    this.file = file;
    this.errors = errors;
  }
}

/** "cluster.config.json: masters[1].raftPort: must be ...", one line per error (compiler style). */
export function formatConfigErrors(file: string, errors: readonly ConfigFieldError[]): string {
  return errors
    .map((e) => {
      const where = e.line !== undefined ? `${file}:${e.line}:${e.column ?? 1}` : file;
      return e.path === "" ? `${where}: ${e.message}` : `${where}: ${e.path}: ${e.message}`;
    })
    .join("\n");
}

// ---------------------------------------------------------------------------
// Field readers. Each records what is wrong and returns undefined for a value
// that is missing or invalid, so that one pass collects every error.

const TOP_FIELDS = ["clusterName", "dataDir", "token", "clientAuth", "raft", "store", "nodeLifecycle", "autoscaling", "scheduler", "masters", "nodes"] as const;
const AUTOSCALING_FIELDS = ["metricsScrapeIntervalSeconds", "syncPeriodSeconds"] as const;
const SCHEDULER_FIELDS = ["placer", "batchSize", "flowSchedulerName"] as const;
const RAFT_FIELDS = [
  "heartbeatMs",
  "electionTimeoutMs",
  "snapshotEvery",
  "tickMs",
  "maxInflightMsgs",
  "maxInflightBytes",
  "maxMsgBytes",
  "maxEntriesPerMsg",
] as const;
const STORE_FIELDS = ["retainMinutes"] as const;
const NODE_LIFECYCLE_FIELDS = [
  "leaseRenewIntervalSeconds",
  "nodeMonitorGracePeriodSeconds",
  "nodeMonitorPeriodSeconds",
  "defaultUnreachableTolerationSeconds",
  "defaultNotReadyTolerationSeconds",
  "unhealthyZoneThreshold",
] as const;
const MASTER_FIELDS = ["name", "host", "raftPort", "clientPort", "apiPort"] as const;
const NODE_FIELDS = ["name", "host", "kubeletPort", "runtime", "capacity"] as const;
const CAPACITY_FIELDS = ["cpu", "memory", "pods"] as const;

/** etcd refuses election timeouts above 50 s; so do we. */
export const MAX_ELECTION_TIMEOUT_MS = 50_000;

const CLUSTER_NAME_RE = /^[a-z0-9-]{1,63}$/;
const HOST_LABEL_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/i;
// Visible ASCII: the token travels in "Authorization: Bearer <token>".
const TOKEN_RE = /^[\x21-\x7e]+$/;

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const field = (parent: string, key: string): string => (parent === "" ? key : `${parent}.${key}`);
const item = (parent: string, i: number): string => `${parent}[${i}]`;

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

function unknownFieldMessage(key: string, known: readonly string[]): string {
  const close = known.find((k) => k.toLowerCase() === key.toLowerCase() || editDistance(k, key) <= 2);
  if (close !== undefined) return `unknown field (did you mean "${close}"?)`;
  return `unknown field (known fields: ${known.join(", ")})`;
}

class Reader {
  readonly errors: ConfigFieldError[] = [];

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  /** An object with only known fields; unknown ones are reported (typo protection). */
  object(v: unknown, path: string, known: readonly string[]): Obj | undefined {
    if (!isObject(v)) {
      this.error(path, path === "" ? "the configuration must be a JSON object" : "must be an object");
      return undefined;
    }
    for (const key of Object.keys(v)) {
      if (!known.includes(key)) this.error(field(path, key), unknownFieldMessage(key, known));
    }
    return v;
  }

  string(obj: Obj, key: string, path: string, dflt?: string): string | undefined {
    const v = obj[key];
    const p = field(path, key);
    if (v === undefined) {
      if (dflt === undefined) this.error(p, "is required");
      return dflt;
    }
    if (typeof v !== "string") {
      this.error(p, "must be a string");
      return undefined;
    }
    return v;
  }

  int(obj: Obj, key: string, path: string, min: number, max: number, dflt?: number): number | undefined {
    const v = obj[key];
    const p = field(path, key);
    if (v === undefined) {
      if (dflt === undefined) this.error(p, "is required");
      return dflt;
    }
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
      if (max === Number.MAX_SAFE_INTEGER) {
        this.error(p, min === 1 ? "must be a positive integer" : `must be an integer >= ${min}`);
      } else {
        this.error(p, `must be an integer between ${min} and ${max}`);
      }
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(obj: Obj, key: string, path: string, allowed: readonly T[], dflt?: T): T | undefined {
    const v = obj[key];
    const p = field(path, key);
    if (v === undefined) {
      if (dflt === undefined) this.error(p, `is required (one of ${allowed.map((a) => `"${a}"`).join(", ")})`);
      return dflt;
    }
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
      this.error(p, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
      return undefined;
    }
    return v as T;
  }

  /** An array field; `dflt` undefined means required. */
  array(obj: Obj, key: string, path: string, dflt?: unknown[]): unknown[] | undefined {
    const v = obj[key];
    const p = field(path, key);
    if (v === undefined) {
      if (dflt === undefined) this.error(p, "is required");
      return dflt;
    }
    if (!Array.isArray(v)) {
      this.error(p, "must be an array");
      return undefined;
    }
    return v;
  }
}

/** Why `host` cannot be a member's address, or undefined when it can. */
function hostProblem(host: string): string | undefined {
  if (host === "") return "must not be empty";
  if (/^[0-9.]+$/.test(host)) {
    if (!net.isIPv4(host)) return `"${host}" is not a valid IPv4 address`;
    if (host === "0.0.0.0") return "0.0.0.0 is not an address peers can reach or dial from; use the member's own address";
    return undefined;
  }
  if (net.isIPv6(host)) return "IPv6 addresses are not supported; use an IPv4 address or a hostname";
  if (host.length > 253 || !host.split(".").every((label) => HOST_LABEL_RE.test(label))) {
    return `"${host}" is neither an IPv4 address nor a valid hostname`;
  }
  return undefined;
}

function must<T>(v: T | undefined, what: string): T {
  // Only reached when no error was recorded, so every value read is present.
  if (v === undefined) throw new Error(`config validation bug: ${what} missing without an error`);
  return v;
}

// ---------------------------------------------------------------------------

function readRaft(r: Reader, raw: unknown): RaftSettings | undefined {
  const path = "raft";
  const d = CONFIG_DEFAULTS.raft;
  const obj = raw === undefined ? {} : r.object(raw, path, RAFT_FIELDS);
  if (obj === undefined) return undefined;
  const MAX = Number.MAX_SAFE_INTEGER;
  const heartbeatMs = r.int(obj, "heartbeatMs", path, 1, MAX, d.heartbeatMs);
  const electionTimeoutMs = r.int(obj, "electionTimeoutMs", path, 1, MAX_ELECTION_TIMEOUT_MS, d.electionTimeoutMs);
  const snapshotEvery = r.int(obj, "snapshotEvery", path, 1, MAX, d.snapshotEvery);
  const explicitTick = obj.tickMs === undefined ? undefined : r.int(obj, "tickMs", path, 1, MAX);
  const maxInflightMsgs = r.int(obj, "maxInflightMsgs", path, 1, MAX, d.maxInflightMsgs);
  const maxInflightBytes = r.int(obj, "maxInflightBytes", path, 0, MAX, d.maxInflightBytes);
  const maxMsgBytes = r.int(obj, "maxMsgBytes", path, 1, MAX, d.maxMsgBytes);
  const maxEntriesPerMsg = r.int(obj, "maxEntriesPerMsg", path, 1, MAX, d.maxEntriesPerMsg);

  if (heartbeatMs === undefined || electionTimeoutMs === undefined) return undefined;
  // The election timeout must leave room for heartbeats: a follower that
  // merely missed one (a GC pause, a slow disk) must not call an election.
  // 2x is the floor; etcd recommends about 10x the heartbeat (and about the
  // round-trip time for the heartbeat itself).
  if (electionTimeoutMs < 2 * heartbeatMs) {
    r.error(
      "raft.electionTimeoutMs",
      `must be at least 2 × raft.heartbeatMs (${2 * heartbeatMs}), so that a follower can miss a heartbeat ` +
        `without calling an election; about 10 × is recommended`,
    );
    return undefined;
  }
  let tickMs: number;
  if (obj.tickMs !== undefined) {
    if (explicitTick === undefined) return undefined;
    if (heartbeatMs % explicitTick !== 0 || electionTimeoutMs % explicitTick !== 0) {
      r.error(
        "raft.tickMs",
        `must divide raft.heartbeatMs (${heartbeatMs}) and raft.electionTimeoutMs (${electionTimeoutMs}) exactly, ` +
          `so that both are whole numbers of ticks`,
      );
      return undefined;
    }
    tickMs = explicitTick;
  } else {
    tickMs = deriveTickMs(heartbeatMs, electionTimeoutMs);
    // A tick shorter than the heartbeat and than 5 ms comes from timings with
    // no useful common divisor (101/1000 -> 1 ms): refuse rather than wake up
    // a thousand times a second because of a typo.
    if (tickMs < Math.min(MIN_DERIVED_TICK_MS, heartbeatMs)) {
      r.error(
        "raft.electionTimeoutMs",
        `raft.heartbeatMs (${heartbeatMs}) and raft.electionTimeoutMs (${electionTimeoutMs}) have no common ` +
          `tick of at least ${MIN_DERIVED_TICK_MS} ms (largest: ${tickMs} ms); make electionTimeoutMs a multiple ` +
          `of heartbeatMs, or set raft.tickMs`,
      );
      return undefined;
    }
  }
  if (
    snapshotEvery === undefined ||
    maxInflightMsgs === undefined ||
    maxInflightBytes === undefined ||
    maxMsgBytes === undefined ||
    maxEntriesPerMsg === undefined
  ) {
    return undefined;
  }
  return {
    heartbeatMs,
    electionTimeoutMs,
    snapshotEvery,
    tickMs,
    heartbeatTicks: heartbeatMs / tickMs,
    electionTicks: electionTimeoutMs / tickMs,
    maxInflightMsgs,
    maxInflightBytes,
    maxMsgBytes,
    maxEntriesPerMsg,
  };
}

function readStore(r: Reader, raw: unknown): StoreSettings | undefined {
  const obj = raw === undefined ? {} : r.object(raw, "store", STORE_FIELDS);
  if (obj === undefined) return undefined;
  const v = obj.retainMinutes;
  if (v === undefined) return { retainMinutes: CONFIG_DEFAULTS.store.retainMinutes };
  // Fractions are allowed (0.5 = 30 s) so tests can exercise compaction quickly.
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    r.error("store.retainMinutes", "must be a number of minutes greater than 0");
    return undefined;
  }
  return { retainMinutes: v };
}

function readNodeLifecycle(r: Reader, raw: unknown): NodeLifecycleSettings | undefined {
  const p = "nodeLifecycle";
  const obj = raw === undefined ? {} : r.object(raw, p, NODE_LIFECYCLE_FIELDS);
  if (obj === undefined) return undefined;
  const d = CONFIG_DEFAULTS.nodeLifecycle;
  let ok = true;
  // Seconds may be fractional (0.5) so tests and benchmarks can run fast.
  const seconds = (key: (typeof NODE_LIFECYCLE_FIELDS)[number], dflt: number, min: number, what: string): number => {
    const v = obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || (min === 0 && v < 0)) {
      r.error(`${p}.${key}`, what);
      ok = false;
      return dflt;
    }
    return v;
  };
  const positive = "must be a number of seconds greater than 0";
  const settings: NodeLifecycleSettings = {
    leaseRenewIntervalSeconds: seconds("leaseRenewIntervalSeconds", d.leaseRenewIntervalSeconds, Number.MIN_VALUE, positive),
    nodeMonitorGracePeriodSeconds: seconds("nodeMonitorGracePeriodSeconds", d.nodeMonitorGracePeriodSeconds, Number.MIN_VALUE, positive),
    nodeMonitorPeriodSeconds: seconds("nodeMonitorPeriodSeconds", d.nodeMonitorPeriodSeconds, Number.MIN_VALUE, positive),
    defaultUnreachableTolerationSeconds: seconds("defaultUnreachableTolerationSeconds", d.defaultUnreachableTolerationSeconds, 0, "must be a number of seconds, 0 or more"),
    defaultNotReadyTolerationSeconds: seconds("defaultNotReadyTolerationSeconds", d.defaultNotReadyTolerationSeconds, 0, "must be a number of seconds, 0 or more"),
    unhealthyZoneThreshold: d.unhealthyZoneThreshold,
  };
  const t = obj.unhealthyZoneThreshold;
  if (t !== undefined) {
    if (typeof t !== "number" || !(t > 0 && t <= 1)) {
      r.error(`${p}.unhealthyZoneThreshold`, "must be a fraction greater than 0 and at most 1");
      ok = false;
    } else settings.unhealthyZoneThreshold = t;
  }
  if (ok && settings.nodeMonitorGracePeriodSeconds < 2 * settings.leaseRenewIntervalSeconds) {
    r.error(
      `${p}.nodeMonitorGracePeriodSeconds`,
      `must be at least 2 × nodeLifecycle.leaseRenewIntervalSeconds (${2 * settings.leaseRenewIntervalSeconds}), ` +
        "so that one late renewal does not mark a node unreachable",
    );
    ok = false;
  }
  return ok ? settings : undefined;
}

function readAutoscaling(r: Reader, raw: unknown): AutoscalingSettings | undefined {
  const p = "autoscaling";
  const obj = raw === undefined ? {} : r.object(raw, p, AUTOSCALING_FIELDS);
  if (obj === undefined) return undefined;
  const d = CONFIG_DEFAULTS.autoscaling;
  let ok = true;
  const seconds = (key: (typeof AUTOSCALING_FIELDS)[number], dflt: number): number => {
    const v = obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0.1 || v > 3600) {
      r.error(`${p}.${key}`, "must be a number of seconds from 0.1 to 3600");
      ok = false;
      return dflt;
    }
    return v;
  };
  const settings: AutoscalingSettings = {
    metricsScrapeIntervalSeconds: seconds("metricsScrapeIntervalSeconds", d.metricsScrapeIntervalSeconds),
    syncPeriodSeconds: seconds("syncPeriodSeconds", d.syncPeriodSeconds),
  };
  return ok ? settings : undefined;
}

function readScheduler(r: Reader, raw: unknown): SchedulerSettings | undefined {
  const p = "scheduler";
  const obj = raw === undefined ? {} : r.object(raw, p, SCHEDULER_FIELDS);
  if (obj === undefined) return undefined;
  const d = CONFIG_DEFAULTS.scheduler;
  let ok = true;
  const settings: SchedulerSettings = { placer: d.placer, batchSize: d.batchSize, flowSchedulerName: d.flowSchedulerName };
  if (obj.placer !== undefined) {
    if (typeof obj.placer === "string" && (PLACER_KINDS as readonly string[]).includes(obj.placer)) settings.placer = obj.placer as SchedulerSettings["placer"];
    else {
      r.error(`${p}.placer`, `must be one of ${PLACER_KINDS.map((k) => JSON.stringify(k)).join(", ")}`);
      ok = false;
    }
  }
  if (obj.batchSize !== undefined) {
    if (typeof obj.batchSize === "number" && Number.isInteger(obj.batchSize) && obj.batchSize >= 1 && obj.batchSize <= 100_000) settings.batchSize = obj.batchSize;
    else {
      r.error(`${p}.batchSize`, "must be an integer from 1 to 100000");
      ok = false;
    }
  }
  if (obj.flowSchedulerName !== undefined) {
    if (typeof obj.flowSchedulerName === "string" && (obj.flowSchedulerName === "" || MEMBER_NAME_RE.test(obj.flowSchedulerName))) {
      settings.flowSchedulerName = obj.flowSchedulerName;
    } else {
      r.error(`${p}.flowSchedulerName`, 'must be a DNS label (e.g. "flow-scheduler") or "" for none');
      ok = false;
    }
  }
  return ok ? settings : undefined;
}

interface Listener {
  host: string;
  port: number;
  path: string;
}

interface MemberCommon {
  name: string | undefined;
  host: string | undefined;
}

function readMemberCommon(r: Reader, obj: Obj, path: string): MemberCommon {
  const name = r.string(obj, "name", path);
  if (name !== undefined && !MEMBER_NAME_RE.test(name)) {
    r.error(
      field(path, "name"),
      `"${name}" is not a valid name: use at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit`,
    );
  }
  const host = r.string(obj, "host", path);
  const problem = host === undefined ? undefined : hostProblem(host);
  if (problem !== undefined) r.error(field(path, "host"), problem);
  return { name, host: problem === undefined ? host : undefined };
}

function addListeners(listeners: Listener[], host: string | undefined, path: string, ports: [string, number | undefined][]): void {
  if (host === undefined) return;
  for (const [key, port] of ports) {
    if (port !== undefined) listeners.push({ host, port, path: field(path, key) });
  }
}

function readMasters(r: Reader, raw: unknown[], listeners: Listener[]): MasterConfig[] | undefined {
  if (raw.length === 0) {
    r.error("masters", "must list at least one master");
    return undefined;
  }
  const masters: (MasterConfig | undefined)[] = raw.map((m, i) => {
    const path = item("masters", i);
    const obj = r.object(m, path, MASTER_FIELDS);
    if (obj === undefined) return undefined;
    const { name, host } = readMemberCommon(r, obj, path);
    const raftPort = r.int(obj, "raftPort", path, 1, 65535);
    const clientPort = r.int(obj, "clientPort", path, 1, 65535);
    const apiPort = r.int(obj, "apiPort", path, 1, 65535);
    addListeners(listeners, host, path, [
      ["raftPort", raftPort],
      ["clientPort", clientPort],
      ["apiPort", apiPort],
    ]);
    if (name === undefined || host === undefined || raftPort === undefined || clientPort === undefined || apiPort === undefined) {
      return undefined;
    }
    return { name, host, raftPort, clientPort, apiPort };
  });
  return masters.every((m) => m !== undefined) ? (masters as MasterConfig[]) : undefined;
}

/** A capacity quantity: a string ("500m") or, as Kubernetes manifests allow, a plain JSON number. */
function readQuantity(
  r: Reader,
  obj: Obj,
  key: "cpu" | "memory",
  path: string,
  dflt: string,
  parse: (text: string) => { ok: true; value: number } | { ok: false; message: string },
): { text: string; value: number } | undefined {
  const v = obj[key];
  const p = field(path, key);
  let text: string;
  if (v === undefined) text = dflt;
  else if (typeof v === "string") text = v;
  else if (typeof v === "number" && Number.isFinite(v)) text = String(v);
  else {
    r.error(p, `must be a quantity string such as "${dflt}"`);
    return undefined;
  }
  const parsed = parse(text);
  if (!parsed.ok) {
    r.error(p, parsed.message);
    return undefined;
  }
  if (parsed.value <= 0) {
    r.error(p, "must be greater than 0");
    return undefined;
  }
  return { text, value: parsed.value };
}

function readCapacity(r: Reader, raw: unknown, path: string): NodeCapacity | undefined {
  const d = CONFIG_DEFAULTS.capacity;
  const obj = raw === undefined ? {} : r.object(raw, path, CAPACITY_FIELDS);
  if (obj === undefined) return undefined;
  const cpu = readQuantity(r, obj, "cpu", path, d.cpu, parseCpuMillicores);
  const memory = readQuantity(r, obj, "memory", path, d.memory, (t) => parseMemoryBytes(t));
  const pods = r.int(obj, "pods", path, 1, Number.MAX_SAFE_INTEGER, d.pods);
  if (cpu === undefined || memory === undefined || pods === undefined) return undefined;
  return { cpu: cpu.text, memory: memory.text, pods, cpuMillicores: cpu.value, memoryBytes: memory.value };
}

function readNodes(r: Reader, raw: unknown[], listeners: Listener[]): NodeConfig[] | undefined {
  const nodes: (NodeConfig | undefined)[] = raw.map((n, i) => {
    const path = item("nodes", i);
    const obj = r.object(n, path, NODE_FIELDS);
    if (obj === undefined) return undefined;
    const { name, host } = readMemberCommon(r, obj, path);
    const kubeletPort = r.int(obj, "kubeletPort", path, 1, 65535);
    const runtime: RuntimeKind | undefined = r.oneOf(obj, "runtime", path, RUNTIME_KINDS);
    const capacity = readCapacity(r, obj.capacity, field(path, "capacity"));
    addListeners(listeners, host, path, [["kubeletPort", kubeletPort]]);
    if (name === undefined || host === undefined || kubeletPort === undefined || runtime === undefined || capacity === undefined) {
      return undefined;
    }
    return { name, host, kubeletPort, runtime, capacity };
  });
  return nodes.every((n) => n !== undefined) ? (nodes as NodeConfig[]) : undefined;
}

/** Names are unique across masters and nodes: they are Raft IDs, Node object names and data directories. */
function checkUniqueNames(r: Reader, raw: Obj): void {
  const seen = new Map<string, string>();
  for (const kind of ["masters", "nodes"] as const) {
    const list = raw[kind];
    if (!Array.isArray(list)) continue;
    list.forEach((m: unknown, i) => {
      if (!isObject(m) || typeof m.name !== "string") return;
      const path = item(kind, i);
      const first = seen.get(m.name);
      if (first !== undefined) r.error(field(path, "name"), `"${m.name}" is already the name of ${first}`);
      else seen.set(m.name, path);
    });
  }
}

/** Every member binds its ports on its own host: two listeners on one host:port cannot both start. */
function checkUniqueListeners(r: Reader, listeners: Listener[]): void {
  const seen = new Map<string, string>();
  for (const l of listeners) {
    const key = `${l.host.toLowerCase()}:${l.port}`;
    const first = seen.get(key);
    if (first !== undefined) r.error(l.path, `${l.host}:${l.port} is already used by ${first}`);
    else seen.set(key, l.path);
  }
}

/**
 * Validates parsed JSON and resolves it: defaults applied, dataDir made
 * absolute against the directory of `configPath`, Raft timings turned into
 * ticks. Reports every error found, not just the first.
 */
export function parseClusterConfig(raw: unknown, configPath: string): ParseConfigResult {
  const r = new Reader();
  const root = r.object(raw, "", TOP_FIELDS);
  if (root === undefined) return { ok: false, errors: r.errors };

  const clusterName = r.string(root, "clusterName", "");
  if (clusterName !== undefined && !CLUSTER_NAME_RE.test(clusterName)) {
    r.error("clusterName", `must be 1 to 63 lowercase letters, digits and "-" (got ${JSON.stringify(clusterName)})`);
  }

  const dataDir = r.string(root, "dataDir", "", CONFIG_DEFAULTS.dataDir);
  if (dataDir !== undefined && (dataDir === "" || dataDir.includes("\0"))) {
    r.error("dataDir", dataDir === "" ? "must not be empty" : "must not contain NUL characters");
  }

  const clientAuth: ClientAuth | undefined = r.oneOf(root, "clientAuth", "", CLIENT_AUTH_MODES, CONFIG_DEFAULTS.clientAuth);

  // Required even with clientAuth "none": it is also the secret behind the
  // HMAC of the peer handshake, which must not fall back to an empty key.
  const token = r.string(root, "token", "");
  if (token !== undefined && !TOKEN_RE.test(token)) {
    r.error(
      "token",
      token === ""
        ? "must not be empty (it authenticates clients and the masters to each other)"
        : "must be printable ASCII without spaces (it is sent in an HTTP Authorization header)",
    );
  }

  const raft = readRaft(r, root.raft);
  const store = readStore(r, root.store);
  const nodeLifecycle = readNodeLifecycle(r, root.nodeLifecycle);
  const autoscaling = readAutoscaling(r, root.autoscaling);
  const scheduler = readScheduler(r, root.scheduler);

  const listeners: Listener[] = [];
  const mastersRaw = r.array(root, "masters", "");
  const masters = mastersRaw === undefined ? undefined : readMasters(r, mastersRaw, listeners);
  const nodesRaw = r.array(root, "nodes", "", []);
  const nodes = nodesRaw === undefined ? undefined : readNodes(r, nodesRaw, listeners);
  checkUniqueNames(r, root);
  checkUniqueListeners(r, listeners);

  if (r.errors.length > 0) return { ok: false, errors: r.errors };

  const absConfigPath = path.resolve(configPath);
  const configDir = path.dirname(absConfigPath);
  return {
    ok: true,
    config: {
      configPath: absConfigPath,
      configDir,
      clusterName: must(clusterName, "clusterName"),
      dataDir: path.resolve(configDir, must(dataDir, "dataDir")),
      token: must(token, "token"),
      clientAuth: must(clientAuth, "clientAuth"),
      raft: must(raft, "raft"),
      store: must(store, "store"),
      nodeLifecycle: must(nodeLifecycle, "nodeLifecycle"),
      autoscaling: must(autoscaling, "autoscaling"),
      scheduler: must(scheduler, "scheduler"),
      masters: must(masters, "masters"),
      nodes: must(nodes, "nodes"),
    },
  };
}
