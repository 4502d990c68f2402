// The live "pinsetter and pins" view, tested as a person would use it:
// `pinsetter up` runs in tmux, the test presses keys and reads the screen
// (capture-pane). Two nodes (sim runtime, so no Docker is needed) carry a
// deployment's pins; pressing `k` knocks the selected node down (kill -9 of
// its process) and its pins are set up again on the other lane; `r` brings
// it back; `q` stops every process of the cluster.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deployment } from "../../src/api/types.js";
import { KubeClient } from "../../src/client/kube-client.js";

const ROOT = join(import.meta.dirname, "..", "..");
const PINSETTER = join(ROOT, "dist", "src", "cli", "pinsetter.js");
const TOKEN = "live-view-token";
const SESSION = `pinsetter-live-${process.pid}`;
const masters = ["127.0.0.161", "127.0.0.162", "127.0.0.163"].map((host, i) => ({ name: `m${i + 1}`, host, raftPort: 7161, clientPort: 2661, apiPort: 6661 }));
const nodes = [
  { name: "lane-a", host: "127.0.0.171", kubeletPort: 10661, runtime: "sim" },
  { name: "lane-b", host: "127.0.0.172", kubeletPort: 10661, runtime: "sim" },
];

const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
if (!hasTmux && process.env.CI === "true") throw new Error("tmux is missing: CI installs it (.ci/run); the live view test must not skip there");
let dir = "";
let config = "";
let client: KubeClient;

function screen(): string {
  return execFileSync("tmux", ["capture-pane", "-t", SESSION, "-p"], { encoding: "utf8" });
}

function press(key: string): void {
  execFileSync("tmux", ["send-keys", "-t", SESSION, key]);
}

function laneOf(text: string, node: string): string {
  return text.split("\n").find((l) => l.includes(` ${node} `)) ?? "";
}

function pins(line: string, glyph = "●"): number {
  const bar = line.split("│")[1] ?? "";
  return [...bar].filter((c) => c === glyph).length;
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${hasTmux ? screen() : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The cluster's node processes (up, masters, nodes); not tmux, whose command line names the config too. */
function clusterProcesses(): string[] {
  const r = spawnSync("pgrep", ["-f", config], { encoding: "utf8" });
  return r.stdout.split("\n").filter((pid) => {
    if (!pid) return false;
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "tmux: server";
    } catch {
      return false; // gone meanwhile
    }
  });
}

describe.skipIf(!hasTmux)("the live view in pinsetter up", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "live-view-it-"));
    config = join(dir, "cluster.config.json");
    writeFileSync(
      config,
      JSON.stringify({
        clusterName: "live",
        dataDir: "data",
        token: TOKEN,
        nodeLifecycle: { leaseRenewIntervalSeconds: 0.5, nodeMonitorGracePeriodSeconds: 2, defaultUnreachableTolerationSeconds: 0, defaultNotReadyTolerationSeconds: 0 },
        masters,
        nodes,
      }),
    );
    client = new KubeClient({ servers: masters.map((m) => `http://${m.host}:${m.apiPort}`), token: TOKEN, timeoutMs: 5000 });
    execFileSync("tmux", ["new-session", "-d", "-s", SESSION, "-x", "110", "-y", "45", `${process.execPath} ${PINSETTER} --config ${config} up`]);
    // Keep the pane when up exits, so a failure shows what it printed last.
    execFileSync("tmux", ["set-option", "-t", SESSION, "remain-on-exit", "on"]);
  });

  afterAll(async () => {
    client?.close();
    spawnSync("tmux", ["kill-session", "-t", SESSION]);
    for (const pid of clusterProcesses()) spawnSync("kill", ["-9", pid]);
    if (dir && !process.env.KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
  });

  it("shows the pinsetter and the pins, and sets a knocked-down node's pins up on the other lane", async () => {
    await until("a leader and two Ready lanes", () => {
      const s = screen();
      return s.includes("LEADER") && laneOf(s, "lane-a").includes("Ready") && laneOf(s, "lane-b").includes("Ready");
    }, 60_000);

    const deployment: Deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "pins", namespace: "default" },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: "pins" } },
        template: { metadata: { labels: { app: "pins" } }, spec: { containers: [{ name: "c", image: "pinsetter/busybox:1" }] } },
      },
    };
    await client.create("deployments", deployment);
    await until("4 ready pins over both lanes", () => {
      const s = screen();
      return pins(laneOf(s, "lane-a")) + pins(laneOf(s, "lane-b")) === 4 && pins(laneOf(s, "lane-a")) > 0 && /pins\s+4\/4 ready/.test(s);
    }, 60_000);

    // The first lane is selected: knock it down.
    expect(screen()).toMatch(/▸ lane-a/);
    press("k");
    await until("lane-a shown down", () => laneOf(screen(), "lane-a").includes("DOWN"), 10_000);
    await until("all 4 pins set up again on lane-b", () => {
      const s = screen();
      return pins(laneOf(s, "lane-b")) === 4 && pins(laneOf(s, "lane-a")) === 0;
    }, 60_000);
    expect(screen()).toMatch(/NodeNotReady|TaintManagerEviction|Killing|SuccessfulCreate/);

    press("r");
    await until("lane-a Ready again", () => {
      const l = laneOf(screen(), "lane-a");
      return l.includes("Ready") && !l.includes("DOWN");
    }, 30_000);

    press("q");
    await until("every process of the cluster stopped", () => clusterProcesses().length === 0, 30_000);
  }, 240_000);
});
