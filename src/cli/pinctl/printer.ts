// Text output as kubectl prints it: columns aligned with three spaces between
// them (kubectl's tabwriter), ages as 5s, 3m, 2h, 4d, and the server's Table
// rows turned into lines. Pure functions, tested on their own.

import { ageSince, formatAge as formatAgeMs } from "../../api/tables.js";

/** Aligns rows into columns: each column as wide as its widest cell, three spaces apart, no trailing blanks. */
export function alignColumns(rows: string[][], minWidths: number[] = [], gap = 3): string[] {
  const widths = columnWidths(rows, minWidths);
  return rows.map((row) => padRow(row, widths, gap));
}

export function columnWidths(rows: string[][], minWidths: number[] = []): number[] {
  const widths = [...minWidths];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return widths;
}

export function padRow(row: string[], widths: number[], gap = 3): string {
  return row
    .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? cell.length)))
    .join(" ".repeat(gap))
    .trimEnd();
}

/** kubectl's duration.HumanDuration: 45s, 2m5s, 12m, 3h20m, 10h, 3d4h, 40d, 2y10d (the API's AGE column formatter). */
export function humanDuration(ms: number): string {
  return formatAgeMs(ms);
}

/** The age of a timestamp, "<unknown>" when there is none. */
export function formatAge(timestamp: string | undefined | null, now: number = Date.now()): string {
  return ageSince(timestamp, new Date(now));
}

// ------------------------------------------------------------------ Tables

/** meta.k8s.io/v1 Table as the API server answers `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. */
export interface TableColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
}

export interface TableRow {
  cells: unknown[];
  object?: { metadata?: { name?: string; namespace?: string; creationTimestamp?: string }; kind?: string; apiVersion?: string };
}

export interface Table {
  kind: "Table";
  apiVersion?: string;
  metadata?: { resourceVersion?: string };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

export function isTable(v: unknown): v is Table {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "Table" && Array.isArray((v as Table).columnDefinitions);
}

export interface TableRenderOptions {
  wide: boolean;
  /** Prefix a NAMESPACE column (get -A). */
  withNamespace: boolean;
  /** Print NAME as kind/name (several kinds in one get). */
  kindPrefix?: string;
  /** Leave out the header line (watch events after the first table). */
  noHeaders?: boolean;
  /** Append a LABELS column (get --show-labels). */
  showLabels?: boolean;
  now?: number;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** One cell as kubectl prints it: <none> for empty, ages for timestamps the server left raw. */
export function formatCell(value: unknown, column: TableColumn | undefined, now: number): string {
  if (value === null || value === undefined || value === "") return column?.type === "string" && value === "" ? "" : "<none>";
  if (typeof value === "string") {
    if (column?.format === "date" && ISO_TIME.test(value)) return formatAge(value, now);
    return value;
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map(String).join(",");
  return JSON.stringify(value);
}

/** Labels as kubectl prints them: k=v,k2=v2 sorted by key, <none> when empty. */
export function labelString(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(",") : "<none>";
}

/** Header and rows of a Table as string cells, without alignment. */
export function tableCells(table: Table, opts: TableRenderOptions): { header: string[]; rows: string[][] } {
  const now = opts.now ?? Date.now();
  const visible = table.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => opts.wide || (c.priority ?? 0) === 0);
  const header = visible.map(({ c }) => c.name.toUpperCase());
  const nameIndex = table.columnDefinitions.findIndex((c) => c.name.toLowerCase() === "name");
  const rows = table.rows.map((row) =>
    visible.map(({ c, i }) => {
      const cell = formatCell(row.cells[i], c, now);
      return i === nameIndex && opts.kindPrefix ? `${opts.kindPrefix}/${cell}` : cell;
    }),
  );
  if (opts.showLabels) {
    header.push("LABELS");
    table.rows.forEach((row, r) => rows[r]!.push(labelString((row.object?.metadata as { labels?: Record<string, string> } | undefined)?.labels)));
  }
  if (opts.withNamespace) {
    header.unshift("NAMESPACE");
    table.rows.forEach((row, r) => rows[r]!.unshift(row.object?.metadata?.namespace ?? ""));
  }
  return { header, rows };
}

/** A whole Table as aligned lines (header first unless noHeaders). */
export function renderTable(table: Table, opts: TableRenderOptions): string[] {
  const { header, rows } = tableCells(table, opts);
  return alignColumns(opts.noHeaders ? rows : [header, ...rows]);
}
