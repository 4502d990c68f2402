// The solver alone on the 10k-pod / 1,000-node burst network (the input the
// flow placer builds in its first round): fresh solves, then incremental
// re-solves after a small change (Firmament's measurement) against fresh
// solves of the same changed network.
//
//   npm run build && node dist/bench/placement/solve.js [--repeat 7]

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { FlowPlacer } from "../../src/scheduler/flow/flow-placer.js";
import { FlowNetwork, type NetworkInput } from "../../src/scheduler/flow/network.js";
import { Framework } from "../../src/scheduler/framework.js";
import { defaultProfile } from "../../src/scheduler/plugins/index.js";
import { burstTrace, lcg, runTrace } from "./traces.js";

const at = process.argv.indexOf("--repeat");
const repeat = at > 0 ? Number(process.argv[at + 1]) : 7;

// Capture the network of the placer's first round.
const placer = new FlowPlacer(new Framework(defaultProfile()));
const network = (placer as unknown as { network: FlowNetwork }).network;
const solve = network.solve.bind(network);
let input: NetworkInput | null = null;
network.solve = (i: NetworkInput) => {
  input ??= i;
  return solve(i);
};
runTrace(burstTrace(), placer);
if (!input) throw new Error("no network captured");
const base: NetworkInput = input;

/** A small change: 10 classes lose or gain 5 pods' worth of supply, 10 nodes are gone. */
function changed(rnd: () => number): NetworkInput {
  const gone = new Set<string>();
  const names = [...base.nodes.keys()];
  for (let i = 0; i < 10; i++) gone.add(names[Math.floor(rnd() * names.length)]!);
  const classes = base.classes.map((c) => ({ ...c, nodes: c.nodes.filter((n) => !gone.has(n.node)) }));
  for (let i = 0; i < 10; i++) {
    const k = Math.floor(rnd() * classes.length);
    const c = classes[k]!;
    const unit = c.supply / Math.max(1, Math.round(c.supply / 5)); // keep multiples of the pod size roughly
    classes[k] = { ...c, supply: Math.max(0, c.supply + (rnd() < 0.5 ? -1 : 1) * Math.round(5 * unit)) };
  }
  const nodes = new Map([...base.nodes].filter(([n]) => !gone.has(n)));
  return { classes, nodes };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: +s[0]!.toFixed(1), median: +s[Math.floor(s.length / 2)]!.toFixed(1), max: +s[s.length - 1]!.toFixed(1) };
};
const fresh: number[] = [];
const freshPhases: number[] = [];
for (let i = 0; i < repeat; i++) {
  const d = new FlowNetwork(false).solve(base);
  fresh.push(d.solveMs);
  freshPhases.push(d.phases);
}
const inc: number[] = [];
const incFresh: number[] = [];
const rnd = lcg(9);
for (let i = 0; i < repeat; i++) {
  const net = new FlowNetwork(true);
  net.solve(base);
  const next = changed(rnd);
  const a = net.solve(next);
  const b = new FlowNetwork(false).solve(next);
  if (a.result.cost !== b.result.cost) throw new Error(`incremental cost ${a.result.cost} != fresh ${b.result.cost}`);
  inc.push(a.solveMs);
  incFresh.push(b.solveMs);
}
const report = {
  date: new Date().toISOString(),
  loadAverage: os.loadavg(),
  network: { classes: base.classes.length, nodes: base.nodes.size, supplyUnits: base.classes.reduce((n, c) => n + c.supply, 0) },
  freshSolveMs: stats(fresh),
  freshPhases: stats(freshPhases),
  afterSmallChange: { incrementalSolveMs: stats(inc), freshSolveMs: stats(incFresh) },
};
console.log(JSON.stringify(report, null, 2));
const out = path.join(import.meta.dirname, "..", "..", "..", "bench", "results");
fs.writeFileSync(path.join(out, "placement-solve.json"), JSON.stringify(report, null, 2) + "\n");
