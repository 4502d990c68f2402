// Greedy vs flow on the traces of issue 12, in process (see README.md).
//
//   npm run build && node dist/bench/placement/run.js [--quick] [--repeat N]

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { Framework } from "../../src/scheduler/framework.js";
import { FlowPlacer } from "../../src/scheduler/flow/flow-placer.js";
import { GreedyPlacer } from "../../src/scheduler/placer.js";
import { defaultProfile } from "../../src/scheduler/plugins/index.js";
import { burstTrace, churnTrace, lcg, runTrace, spreadTrace, tightTrace, type RunResult, type Trace } from "./traces.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const repeatAt = args.indexOf("--repeat");
const repeat = repeatAt >= 0 ? Number(args[repeatAt + 1]) : 3;

const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? args[onlyAt + 1]!.split(",") : null;
const placersAt = args.indexOf("--placers");
const placers = (placersAt >= 0 ? args[placersAt + 1]!.split(",") : ["greedy", "flow", "flow-incremental"]) as ("greedy" | "flow" | "flow-incremental")[];

const all: [string, () => Trace][] = quick
  ? [["burst", () => burstTrace(200, 2000)], ["tight", () => tightTrace(100)], ["spread", () => spreadTrace(100, 20, 30)], ["churn", () => churnTrace(100, 10)]]
  : [["burst", () => burstTrace()], ["tight", () => tightTrace(100)], ["spread", () => spreadTrace()], ["churn", () => churnTrace()]];
const traces = all.filter(([name]) => !only || only.includes(name)).map(([, make]) => make);

type Row = Omit<RunResult, "reasons"> & { run: number };
const rows: Row[] = [];
const flowStats: Record<string, unknown>[] = [];

for (const make of traces) {
  for (let run = 0; run < repeat; run++) {
    for (const which of placers) {
      const trace = make();
      const fw = new Framework(defaultProfile());
      const placer =
        which === "greedy" ? new GreedyPlacer(fw, lcg(run + 7)) : new FlowPlacer(fw, { incremental: which === "flow-incremental", random: lcg(run + 7) });
      const r = runTrace(trace, placer);
      const { reasons: _r, cache: _c, ...row } = r;
      rows.push({ ...row, placer: which, run });
      if (placer instanceof FlowPlacer && placer.lastStats) flowStats.push({ trace: trace.name, placer: which, run, ...placer.lastStats });
      console.log(JSON.stringify({ ...row, placer: which, run, placeMsPerBatch: row.placeMsPerBatch.length > 3 ? undefined : row.placeMsPerBatch }));
    }
  }
}

const out = path.join(import.meta.dirname, "..", "..", "..", "bench", "results");
fs.mkdirSync(out, { recursive: true });
const report = { date: new Date().toISOString(), loadAverage: os.loadavg(), cpus: os.cpus().length, quick, repeat, rows, flowStats };
fs.writeFileSync(path.join(out, `placement${quick ? "-quick" : ""}${only ? "-" + only.join("-") : ""}.json`), JSON.stringify(report, null, 2) + "\n");
