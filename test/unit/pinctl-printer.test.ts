// pinctl's text output: columns aligned as kubectl's tabwriter does, ages as
// kubectl's HumanDuration words them, server Tables rendered with the
// NAMESPACE column for -A and priority>0 columns only with -o wide.

import { describe, expect, it } from "vitest";
import { alignColumns, formatAge, humanDuration, renderTable, type Table } from "../../src/cli/pinctl/printer.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe("ages", () => {
  it.each([
    [0, "0s"],
    [-1500, "0s"],
    [-5000, "<invalid>"],
    [5 * S, "5s"],
    [119 * S, "119s"],
    [2 * M, "2m"],
    [2 * M + 5 * S, "2m5s"],
    [12 * M + 30 * S, "12m"],
    [179 * M, "179m"],
    [3 * H, "3h"],
    [3 * H + 20 * M, "3h20m"],
    [10 * H, "10h"],
    [47 * H, "47h"],
    [2 * D, "2d"],
    [3 * D + 4 * H, "3d4h"],
    [40 * D, "40d"],
    [2 * 365 * D + 10 * D, "2y10d"],
    [9 * 365 * D, "9y"],
  ])("%d ms reads %s", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it("reads a timestamp's age from now, <unknown> without one", () => {
    const now = Date.parse("2026-11-30T12:00:00Z");
    expect(formatAge("2026-11-30T11:57:00Z", now)).toBe("3m");
    expect(formatAge(undefined, now)).toBe("<unknown>");
    expect(formatAge("garbage", now)).toBe("<unknown>");
  });
});

describe("column alignment", () => {
  it("pads each column to its widest cell with three spaces between, no trailing blanks", () => {
    const lines = alignColumns([
      ["NAME", "READY", "AGE"],
      ["web-abc", "1/1", "5s"],
      ["a", "10/10", "120m"],
    ]);
    expect(lines).toEqual(["NAME      READY   AGE", "web-abc   1/1     5s", "a         10/10   120m"]);
  });
});

const table: Table = {
  kind: "Table",
  columnDefinitions: [
    { name: "Name", type: "string", format: "name", priority: 0 },
    { name: "Ready", type: "string", priority: 0 },
    { name: "IP", type: "string", priority: 1 },
    { name: "Age", type: "string", format: "date", priority: 0 },
  ],
  rows: [
    { cells: ["web-1", "1/1", "10.0.0.1", "5m"], object: { metadata: { name: "web-1", namespace: "default" } } },
    { cells: ["db", "0/1", null, "2026-11-30T11:00:00Z"], object: { metadata: { name: "db", namespace: "prod" } } },
  ],
};

describe("server-side Tables", () => {
  const now = Date.parse("2026-11-30T12:00:00Z");

  it("hides priority>0 columns unless wide, and turns raw timestamps into ages", () => {
    expect(renderTable(table, { wide: false, withNamespace: false, now })).toEqual(["NAME    READY   AGE", "web-1   1/1     5m", "db      0/1     60m"]);
  });

  it("shows every column with -o wide, <none> for empty cells", () => {
    expect(renderTable(table, { wide: true, withNamespace: false, now })).toEqual([
      "NAME    READY   IP         AGE",
      "web-1   1/1     10.0.0.1   5m",
      "db      0/1     <none>     60m",
    ]);
  });

  it("adds a LABELS column with sorted k=v pairs for --show-labels", () => {
    const labelled: Table = { ...table, rows: table.rows.map((r, i) => ({ ...r, object: { metadata: { ...r.object!.metadata, ...(i === 0 ? { labels: { tier: "a", app: "web" } } : {}) } } })) };
    expect(renderTable(labelled, { wide: false, withNamespace: false, showLabels: true, now })).toEqual([
      "NAME    READY   AGE   LABELS",
      "web-1   1/1     5m    app=web,tier=a",
      "db      0/1     60m   <none>",
    ]);
  });

  it("puts a NAMESPACE column first for -A and prefixes names with the kind when asked", () => {
    expect(renderTable(table, { wide: false, withNamespace: true, kindPrefix: "pod", now })).toEqual([
      "NAMESPACE   NAME        READY   AGE",
      "default     pod/web-1   1/1     5m",
      "prod        pod/db      0/1     60m",
    ]);
  });
});
