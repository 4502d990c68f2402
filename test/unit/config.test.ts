// cluster.config.json: the shipped example validates, defaults and paths
// resolve, every kind of mistake is reported with its field path, and a bad
// config is refused before anything touches the disk.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterEach, beforeEach, describe, expect, test } from "vitest";

import {
  CONFIG_DEFAULTS,
  ConfigError,
  deriveTickMs,
  findMaster,
  findNode,
  loadClusterConfig,
  masterDataDir,
  nodeDataDir,
  parseClusterConfig,
  parseCpuMillicores,
  parseMemoryBytes,
  parseQuantity,
  resolveConfigPath,
  scaledValue,
  type ClusterConfig,
  type ConfigFieldError,
} from "../../src/config/index.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

type Json = Record<string, unknown>;

/** The smallest valid config: one master, no nodes, every default left out. */
function minimalConfig(): Json {
  return {
    clusterName: "test",
    token: "secret",
    masters: [{ name: "m1", host: "127.0.0.11", raftPort: 7001, clientPort: 2379, apiPort: 6443 }],
  };
}

/** A config close to the shipped one, for mistakes to be planted in. */
function fullConfig(): Json {
  return {
    clusterName: "demo",
    dataDir: ".pinsetter",
    token: "change-me",
    raft: { heartbeatMs: 100, electionTimeoutMs: 1000, snapshotEvery: 10000 },
    masters: [
      { name: "m1", host: "127.0.0.11", raftPort: 7001, clientPort: 2379, apiPort: 6443 },
      { name: "m2", host: "127.0.0.12", raftPort: 7001, clientPort: 2379, apiPort: 6443 },
      { name: "m3", host: "127.0.0.13", raftPort: 7001, clientPort: 2379, apiPort: 6443 },
    ],
    nodes: [
      {
        name: "w1",
        host: "127.0.0.21",
        kubeletPort: 10250,
        runtime: "docker",
        capacity: { cpu: "2", memory: "4Gi", pods: 110 },
      },
      { name: "w2", host: "127.0.0.22", kubeletPort: 10250, runtime: "docker" },
    ],
  };
}

function valid(raw: unknown, configPath = "/etc/pinsetter/cluster.config.json"): ClusterConfig {
  const result = parseClusterConfig(raw, configPath);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.map((e) => `${e.path}: ${e.message}`).join("\n")}`);
  return result.config;
}

function errorsOf(raw: unknown): ConfigFieldError[] {
  const result = parseClusterConfig(raw, "/etc/pinsetter/cluster.config.json");
  if (result.ok) throw new Error("expected the config to be refused, but it validated");
  return result.errors;
}

function masters(cfg: Json): Json[] {
  return cfg.masters as Json[];
}
function nodes(cfg: Json): Json[] {
  return cfg.nodes as Json[];
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pinsetter-config-"));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function writeConfig(rel: string, content: unknown): string {
  const file = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return file;
}

describe("the shipped cluster.config.json", () => {
  test("validates and describes the cluster of ARCHITECTURE section 2", () => {
    const cfg = loadClusterConfig({ cwd: REPO_ROOT, env: {} });
    expect(cfg.configPath).toBe(path.join(REPO_ROOT, "cluster.config.json"));
    expect(cfg.clusterName).toBe("demo");
    expect(cfg.token).toBe("change-me");
    expect(cfg.dataDir).toBe(path.join(REPO_ROOT, ".pinsetter"));
    expect(cfg.masters.map((m) => `${m.name}@${m.host}:${m.raftPort}/${m.clientPort}/${m.apiPort}`)).toEqual([
      "m1@127.0.0.11:7001/2379/6443",
      "m2@127.0.0.12:7001/2379/6443",
      "m3@127.0.0.13:7001/2379/6443",
    ]);
    expect(cfg.nodes.map((n) => `${n.name}@${n.host}:${n.kubeletPort}/${n.runtime}`)).toEqual([
      "w1@127.0.0.21:10250/docker",
      "w2@127.0.0.22:10250/docker",
    ]);
    expect(masterDataDir(cfg, "m2")).toBe(path.join(REPO_ROOT, ".pinsetter", "m2"));
    expect(nodeDataDir(cfg, "w1")).toBe(path.join(REPO_ROOT, ".pinsetter", "w1"));
  });
});

describe("defaults", () => {
  test("a minimal config gets every default", () => {
    const cfg = valid(minimalConfig());
    expect(cfg.clientAuth).toBe("token");
    expect(cfg.dataDir).toBe("/etc/pinsetter/.pinsetter");
    expect(cfg.store).toEqual({ retainMinutes: 5 });
    expect(cfg.nodes).toEqual([]);
    expect(cfg.raft).toEqual({
      heartbeatMs: 100,
      electionTimeoutMs: 1000,
      snapshotEvery: 10000,
      tickMs: 50,
      heartbeatTicks: 2,
      electionTicks: 20,
      maxInflightMsgs: CONFIG_DEFAULTS.raft.maxInflightMsgs,
      maxInflightBytes: CONFIG_DEFAULTS.raft.maxInflightBytes,
      maxMsgBytes: CONFIG_DEFAULTS.raft.maxMsgBytes,
      maxEntriesPerMsg: CONFIG_DEFAULTS.raft.maxEntriesPerMsg,
    });
  });

  test("a node without capacity gets 2 CPUs, 4Gi and 110 pods; a partial capacity keeps what it says", () => {
    const raw = fullConfig();
    (nodes(raw)[0] as Json).capacity = { cpu: "500m" };
    const cfg = valid(raw);
    expect(cfg.nodes[0]?.capacity).toEqual({ cpu: "500m", memory: "4Gi", pods: 110, cpuMillicores: 500, memoryBytes: 4 * 2 ** 30 });
    expect(cfg.nodes[1]?.capacity).toEqual({ cpu: "2", memory: "4Gi", pods: 110, cpuMillicores: 2000, memoryBytes: 4 * 2 ** 30 });
  });

  test("clientAuth \"none\" is accepted", () => {
    expect(valid({ ...minimalConfig(), clientAuth: "none" }).clientAuth).toBe("none");
  });

  test("nodes may be empty or left out", () => {
    expect(valid({ ...minimalConfig(), nodes: [] }).nodes).toEqual([]);
    expect(valid(minimalConfig()).nodes).toEqual([]);
  });

  test.each([
    // heartbeatMs, electionTimeoutMs, tickMs, heartbeatTicks, electionTicks
    [100, 1000, 50, 2, 20],
    [150, 1000, 50, 3, 20],
    [30, 300, 30, 1, 10],
    [70, 700, 35, 2, 20],
    [10, 50, 10, 1, 5],
    [3, 30, 3, 1, 10],
  ])("raft %i/%i ms runs on a %i ms tick: %i heartbeat ticks, %i election ticks", (hb, et, tick, hbTicks, etTicks) => {
    expect(deriveTickMs(hb, et)).toBe(tick);
    const cfg = valid({ ...minimalConfig(), raft: { heartbeatMs: hb, electionTimeoutMs: et } });
    expect([cfg.raft.tickMs, cfg.raft.heartbeatTicks, cfg.raft.electionTicks]).toEqual([tick, hbTicks, etTicks]);
  });

  test("an explicit raft.tickMs wins over the derived one", () => {
    const cfg = valid({ ...minimalConfig(), raft: { tickMs: 100 } });
    expect([cfg.raft.tickMs, cfg.raft.heartbeatTicks, cfg.raft.electionTicks]).toEqual([100, 1, 10]);
  });
});

describe("paths", () => {
  test("a relative dataDir resolves against the config file's directory, not the working directory", () => {
    const file = writeConfig("conf/sub/cluster.json", { ...minimalConfig(), dataDir: "../state" });
    const elsewhere = path.join(tmp, "elsewhere");
    fs.mkdirSync(elsewhere);
    const cfg = loadClusterConfig({ path: file, cwd: elsewhere, env: {} });
    expect(cfg.configPath).toBe(file);
    expect(cfg.configDir).toBe(path.join(tmp, "conf/sub"));
    expect(cfg.dataDir).toBe(path.join(tmp, "conf/state"));
    expect(masterDataDir(cfg, "m1")).toBe(path.join(tmp, "conf/state/m1"));
  });

  test("an absolute dataDir is kept", () => {
    const cfg = valid({ ...minimalConfig(), dataDir: "/var/lib/pinsetter" });
    expect(cfg.dataDir).toBe("/var/lib/pinsetter");
  });
});

type Mistake = [what: string, plant: (cfg: Json) => void, path: string, message: RegExp];

const MISTAKES: Mistake[] = [
  ["the cluster name is missing", (c) => delete c.clusterName, "clusterName", /is required/],
  ["the cluster name has capitals", (c) => (c.clusterName = "Demo_1"), "clusterName", /lowercase letters, digits and "-"/],
  ["the token is missing", (c) => delete c.token, "token", /is required/],
  ["the token is empty", (c) => (c.token = ""), "token", /must not be empty/],
  ["the token is empty with clientAuth none (it still guards the peers)", (c) => Object.assign(c, { token: "", clientAuth: "none" }), "token", /must not be empty/],
  ["the token has a space", (c) => (c.token = "change me"), "token", /without spaces/],
  ["clientAuth is not a mode", (c) => (c.clientAuth = "basic"), "clientAuth", /must be one of "token", "none"/],
  ["dataDir is not a string", (c) => (c.dataDir = 42), "dataDir", /must be a string/],
  ["masters is empty", (c) => (c.masters = []), "masters", /at least one master/],
  ["masters is missing", (c) => delete c.masters, "masters", /is required/],
  ["a master is not an object", (c) => ((c.masters as unknown[])[1] = "m2"), "masters[1]", /must be an object/],
  ["a port is out of range", (c) => (masters(c)[1]!.raftPort = 70000), "masters[1].raftPort", /must be an integer between 1 and 65535/],
  ["a port is fractional", (c) => (masters(c)[0]!.apiPort = 6443.5), "masters[0].apiPort", /must be an integer between 1 and 65535/],
  ["a port is a string", (c) => (masters(c)[2]!.clientPort = "2379"), "masters[2].clientPort", /must be an integer between 1 and 65535/],
  ["a port is missing", (c) => delete nodes(c)[0]!.kubeletPort, "nodes[0].kubeletPort", /is required/],
  ["a master name is not a DNS label", (c) => (masters(c)[2]!.name = "M3"), "masters[2].name", /not a valid name/],
  ["a node reuses a master's name", (c) => (nodes(c)[0]!.name = "m1"), "nodes[0].name", /"m1" is already the name of masters\[0\]/],
  ["two masters share a name", (c) => (masters(c)[2]!.name = "m2"), "masters[2].name", /already the name of masters\[1\]/],
  ["a host is not a valid IPv4 address", (c) => (masters(c)[0]!.host = "127.0.0.300"), "masters[0].host", /not a valid IPv4 address/],
  ["a host is the unspecified address", (c) => (masters(c)[0]!.host = "0.0.0.0"), "masters[0].host", /0\.0\.0\.0 is not an address/],
  ["a host is not a hostname", (c) => (nodes(c)[1]!.host = "bad_host!"), "nodes[1].host", /neither an IPv4 address nor a valid hostname/],
  ["two masters listen on one address", (c) => Object.assign(masters(c)[1]!, { host: "127.0.0.11", clientPort: 2380, apiPort: 6444 }), "masters[1].raftPort", /127\.0\.0\.11:7001 is already used by masters\[0\]\.raftPort/],
  ["a master uses one port twice", (c) => (masters(c)[0]!.clientPort = 7001), "masters[0].clientPort", /127\.0\.0\.11:7001 is already used by masters\[0\]\.raftPort/],
  ["a kubelet takes a master's port", (c) => Object.assign(nodes(c)[0]!, { host: "127.0.0.12", kubeletPort: 6443 }), "nodes[0].kubeletPort", /already used by masters\[1\]\.apiPort/],
  ["the heartbeat is zero", (c) => ((c.raft as Json).heartbeatMs = 0), "raft.heartbeatMs", /must be a positive integer/],
  ["the election timeout is under twice the heartbeat", (c) => ((c.raft as Json).electionTimeoutMs = 150), "raft.electionTimeoutMs", /at least 2 × raft\.heartbeatMs \(200\)/],
  ["the election timeout is beyond 50 s", (c) => ((c.raft as Json).electionTimeoutMs = 60000), "raft.electionTimeoutMs", /between 1 and 50000/],
  ["heartbeat and election timeout share no sensible tick", (c) => Object.assign(c.raft as Json, { heartbeatMs: 101 }), "raft.electionTimeoutMs", /no common tick of at least 5 ms/],
  ["tickMs does not divide the timings", (c) => ((c.raft as Json).tickMs = 30), "raft.tickMs", /must divide raft\.heartbeatMs \(100\) and raft\.electionTimeoutMs \(1000\)/],
  ["snapshotEvery is zero", (c) => ((c.raft as Json).snapshotEvery = 0), "raft.snapshotEvery", /must be a positive integer/],
  ["retainMinutes is zero", (c) => (c.store = { retainMinutes: 0 }), "store.retainMinutes", /greater than 0/],
  ["a runtime is unknown", (c) => (nodes(c)[0]!.runtime = "podman"), "nodes[0].runtime", /must be one of "docker", "sim"/],
  ["a cpu quantity does not parse", (c) => (nodes(c)[0]!.capacity = { cpu: "two" }), "nodes[0].capacity.cpu", /not a quantity/],
  ["a memory quantity is in millibytes", (c) => (nodes(c)[0]!.capacity = { memory: "512m" }), "nodes[0].capacity.memory", /did you mean "512Mi"/],
  ["pods is zero", (c) => (nodes(c)[1]!.capacity = { pods: 0 }), "nodes[1].capacity.pods", /must be a positive integer/],
  ["nodes is not an array", (c) => (c.nodes = "w1"), "nodes", /must be an array/],
  ["a top-level field is misspelt", (c) => (c.master = []), "master", /unknown field \(did you mean "masters"\?\)/],
  ["a top-level field is unknown", (c) => (c.colour = "blue"), "colour", /unknown field \(known fields: clusterName, /],
  ["a raft field is misspelt", (c) => ((c.raft as Json).heartbeatMS = 50), "raft.heartbeatMS", /unknown field \(did you mean "heartbeatMs"\?\)/],
  ["a node field is unknown", (c) => (nodes(c)[1]!.labels = {}), "nodes[1].labels", /unknown field/],
];

describe("mistakes are reported with their field path", () => {
  test.each(MISTAKES)("%s", (_what, plant, wantPath, wantMessage) => {
    const raw = fullConfig();
    plant(raw);
    const errors = errorsOf(raw);
    expect(errors.map((e) => e.path)).toEqual([wantPath]);
    expect(errors[0]?.message).toMatch(wantMessage);
  });

  test("a config that is not an object is refused as a whole", () => {
    expect(errorsOf([1, 2])).toEqual([{ path: "", message: "the configuration must be a JSON object" }]);
  });

  test("several mistakes are all reported in one go, not just the first", () => {
    const raw = fullConfig();
    for (const what of [
      "the cluster name is missing",
      "a port is out of range",
      "a node reuses a master's name",
      "the election timeout is under twice the heartbeat",
      "a runtime is unknown",
      "a top-level field is misspelt",
    ]) {
      const mistake = MISTAKES.find((m) => m[0] === what);
      if (mistake === undefined) throw new Error(`no mistake called ${what}`);
      mistake[1](raw);
    }
    expect(errorsOf(raw).map((e) => e.path).sort()).toEqual(
      ["clusterName", "masters[1].raftPort", "nodes[0].name", "raft.electionTimeoutMs", "nodes[0].runtime", "master"].sort(),
    );
  });
});

describe("loading", () => {
  test("a refused config throws a ConfigError naming the file and the field", () => {
    const raw = fullConfig();
    masters(raw)[1]!.raftPort = 70000;
    writeConfig("cluster.config.json", raw);
    let caught: unknown;
    try {
      loadClusterConfig({ cwd: tmp, env: {} });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.message).toBe("cluster.config.json: masters[1].raftPort: must be an integer between 1 and 65535");
    expect(err.errors).toEqual([{ path: "masters[1].raftPort", message: "must be an integer between 1 and 65535" }]);
  });

  test("invalid JSON is reported with the file, line and column", () => {
    writeConfig("cluster.config.json", '{\n  "clusterName": "demo",\n  "token": "x",,\n}\n');
    expect(() => loadClusterConfig({ cwd: tmp, env: {} })).toThrow(/^cluster\.config\.json:3:16: invalid JSON: /);
  });

  test("a missing file says how it was chosen", () => {
    expect(() => loadClusterConfig({ cwd: tmp, env: {} })).toThrow(
      /^cluster\.config\.json: config file not found \(the default; use --config FILE or PINSETTER_CONFIG/,
    );
    expect(() => loadClusterConfig({ cwd: tmp, env: { PINSETTER_CONFIG: "nope.json" } })).toThrow(
      /^nope\.json: config file not found \(from PINSETTER_CONFIG\)/,
    );
  });

  test("--config wins over PINSETTER_CONFIG, which wins over ./cluster.config.json", () => {
    writeConfig("flag.json", { ...minimalConfig(), clusterName: "from-flag" });
    writeConfig("env/env.json", { ...minimalConfig(), clusterName: "from-env" });
    writeConfig("cluster.config.json", { ...minimalConfig(), clusterName: "from-default" });
    const env = { PINSETTER_CONFIG: "env/env.json" };
    expect(loadClusterConfig({ path: "flag.json", env, cwd: tmp }).clusterName).toBe("from-flag");
    expect(loadClusterConfig({ env, cwd: tmp }).clusterName).toBe("from-env");
    expect(loadClusterConfig({ env: {}, cwd: tmp }).clusterName).toBe("from-default");
    expect(loadClusterConfig({ env: { PINSETTER_CONFIG: "" }, cwd: tmp }).clusterName).toBe("from-default");
    expect(resolveConfigPath({ env, cwd: tmp })).toEqual({
      path: path.join(tmp, "env/env.json"),
      source: "env",
      display: path.join("env", "env.json"),
    });
  });

  test("a bad config is refused before anything is written", () => {
    const raw = { ...fullConfig(), dataDir: "state" };
    masters(raw)[0]!.host = "not a host";
    writeConfig("cluster.config.json", raw);
    expect(() => loadClusterConfig({ cwd: tmp, env: {} })).toThrow(ConfigError);
    expect(fs.existsSync(path.join(tmp, "state"))).toBe(false);
    expect(fs.readdirSync(tmp)).toEqual(["cluster.config.json"]);
  });

  test("even a good config is only read: loading creates no directory", () => {
    writeConfig("cluster.config.json", { ...fullConfig(), dataDir: "state" });
    const cfg = loadClusterConfig({ cwd: tmp, env: {} });
    expect(cfg.dataDir).toBe(path.join(tmp, "state"));
    expect(fs.readdirSync(tmp)).toEqual(["cluster.config.json"]);
  });
});

describe("finding members by name", () => {
  const cfg = valid(fullConfig());

  test("known names are found", () => {
    expect(findMaster(cfg, "m2").host).toBe("127.0.0.12");
    expect(findNode(cfg, "w2").host).toBe("127.0.0.22");
  });

  test("an unknown name is refused with the list of known members", () => {
    expect(() => findMaster(cfg, "m9")).toThrow(/no master named "m9"; known masters: m1, m2, m3/);
    expect(() => findMaster(cfg, "w1")).toThrow(/"w1" is a node/);
    expect(() => findNode(cfg, "w3")).toThrow(/no node named "w3"; known nodes: w1, w2/);
    expect(() => findNode(valid(minimalConfig()), "w1")).toThrow(/known nodes: none/);
  });
});

describe("resource quantities", () => {
  test.each([
    ["2", 2000],
    ["500m", 500],
    ["1.5", 1500],
    ["0.1", 100],
    [".5", 500],
    ["+2", 2000],
    ["1k", 1_000_000],
    ["1e3", 1_000_000],
    ["0.0001", 1],
    ["0.1m", 1],
  ])("cpu %s is %i millicores", (text, millicores) => {
    expect(parseCpuMillicores(text)).toEqual({ ok: true, value: millicores });
  });

  test.each([
    ["4Gi", 4 * 2 ** 30],
    ["512Mi", 512 * 2 ** 20],
    ["1000000", 1_000_000],
    ["1Ki", 1024],
    ["0.5Ki", 512],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["1Ti", 2 ** 40],
    ["1k", 1000],
    ["1M", 1_000_000],
    ["1G", 1_000_000_000],
    ["1T", 1_000_000_000_000],
    ["128974848", 128974848],
    ["129e6", 129_000_000],
    ["123Mi", 123 * 2 ** 20],
  ])("memory %s is %i bytes", (text, bytes) => {
    expect(parseMemoryBytes(text)).toEqual({ ok: true, value: bytes });
  });

  test.each([
    ["", /must not be empty/],
    ["abc", /not a quantity/],
    ["Gi", /not a quantity/],
    ["1.2.3", /unknown suffix/],
    ["5 Gi", /unknown suffix " Gi"/],
    ["1Qi", /unknown suffix "Qi"/],
    ["1e", /unknown suffix "e"/],
    ["1e999", /exponent beyond/],
    ["-1", /must not be negative/],
    ["1".repeat(65), /at most 64 characters/],
  ])("%j is not a quantity", (text, message) => {
    const result = parseCpuMillicores(text);
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.message).toMatch(message);
  });

  test("fractional bytes are refused unless asked for, as Kubernetes would round them up", () => {
    expect(parseMemoryBytes("512m")).toEqual({ ok: false, message: '"512m" is not a whole number of bytes ("m" is milli; did you mean "512Mi"?)' });
    expect(parseMemoryBytes("512m", { allowFractionalBytes: true })).toEqual({ ok: true, value: 1 });
  });

  test("values beyond 2^53 are refused rather than rounded", () => {
    expect(parseMemoryBytes("16E")).toEqual({ ok: false, message: '"16E" is too large' });
  });

  test("parsing is exact: 1.50 is 150 × 10^-2, and scales to 1500 milli without rounding", () => {
    const q = parseQuantity("1.50");
    expect(q).toEqual({ ok: true, value: { text: "1.50", mantissa: 150n, exp10: -2, exp2: 0 } });
    if (q.ok) {
      expect(scaledValue(q.value, -3)).toEqual({ value: 1500n, exact: true });
      expect(scaledValue(q.value, 0)).toEqual({ value: 2n, exact: false });
    }
  });
});

describe("autoscaling settings", () => {
  test("defaults, accepts fractions, and names a bad field", () => {
    const base = { clusterName: "c", token: "t", masters: [{ name: "m1", host: "127.0.0.11", raftPort: 7001, clientPort: 2379, apiPort: 6443 }] };
    const ok = parseClusterConfig({ ...base, autoscaling: { syncPeriodSeconds: 0.5 } }, "/tmp/x.json");
    expect(ok.ok && ok.config.autoscaling).toEqual({ metricsScrapeIntervalSeconds: 5, syncPeriodSeconds: 0.5 });
    const bad = parseClusterConfig({ ...base, autoscaling: { syncPeriodSeconds: -1, nope: 1 } }, "/tmp/x.json");
    expect(bad.ok).toBe(false);
    const fields = bad.ok ? [] : bad.errors.map((e) => e.path);
    expect(fields).toContain("autoscaling.syncPeriodSeconds");
    expect(fields.some((f) => f.startsWith("autoscaling.nope"))).toBe(true);
  });
});
