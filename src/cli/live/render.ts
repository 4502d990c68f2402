// Renders the live view's model into screen lines: the pinsetter (masters),
// one lane of pins per node, the unscheduled pins, deployments, events, and
// the key help. Pure: lines are built from styled segments, cut to the
// terminal's width by visible length, then coloured (or not, for a pipe).

import { styleText } from "node:util";
import type { ClusterModel, Lane, Pin, PinState } from "./model.js";

type Style = Parameters<typeof styleText>[0];

export interface Segment {
  text: string;
  style?: Style;
}

export type Line = Segment[];

export interface Selection {
  lane: number;
  deployment: number;
  master: number;
}

export interface RenderOptions {
  width: number;
  height: number;
  color: boolean;
  selection: Selection;
  /** one line of feedback under the view ("knocked down w1") */
  message?: string;
  /** keys that work in this mode (up can kill processes; pinctl top cannot) */
  keys: { knock: boolean; pause: boolean; scale: boolean };
}

export const PIN_GLYPHS: Record<PinState, { glyph: string; style: Style; label: string }> = {
  ready: { glyph: "●", style: "green", label: "ready" },
  running: { glyph: "◐", style: "cyan", label: "running" },
  pending: { glyph: "○", style: "yellow", label: "pending" },
  crashing: { glyph: "✖", style: "red", label: "crash-looping" },
  failed: { glyph: "✖", style: "magenta", label: "failed" },
  succeeded: { glyph: "✓", style: "gray", label: "completed" },
  terminating: { glyph: "◌", style: "gray", label: "terminating" },
};

export function render(model: ClusterModel, opts: RenderOptions): string[] {
  const lines: Line[] = [];
  const sel = opts.selection;
  lines.push([{ text: `Pinsetter · cluster ${model.clusterName}`, style: "bold" }, { text: `   ${new Date().toLocaleTimeString()}`, style: "gray" }]);
  lines.push([]);

  // The pinsetter: the masters.
  const masterLine: Line = [{ text: "pinsetter  ", style: "bold" }];
  model.masters.forEach((m, i) => {
    const selected = opts.keys.pause && i === sel.master;
    const role = m.down ? "down" : m.paused ? "paused" : m.role === "leader" ? "LEADER" : m.role;
    const style: Style = m.down || m.paused ? "red" : m.role === "leader" ? "green" : m.healthy ? "white" : "yellow";
    masterLine.push({ text: selected ? "[" : " ", style: "gray" });
    masterLine.push({ text: `${m.name} ${role}`, style });
    if (m.term !== null && !m.down) masterLine.push({ text: ` t${m.term} c${m.commit ?? "-"}`, style: "gray" });
    masterLine.push({ text: selected ? "]" : " ", style: "gray" });
  });
  if (model.masters.length === 0) masterLine.push({ text: "(masters unknown: no config)", style: "gray" });
  lines.push(masterLine);
  lines.push([]);

  // The pins: one lane per node.
  const nameWidth = Math.max(6, ...model.lanes.map((l) => l.node.length));
  model.lanes.forEach((lane, i) => lines.push(laneLine(lane, nameWidth, opts.keys.knock && i === sel.lane)));
  if (model.lanes.length === 0) lines.push([{ text: "  no nodes yet", style: "gray" }]);
  if (model.unscheduled.length > 0) {
    lines.push([{ text: `  ${"pending".padEnd(nameWidth)}  `, style: "yellow" }, { text: "unscheduled  ", style: "gray" }, ...pins(model.unscheduled)]);
  }
  lines.push([
    { text: "  " },
    ...Object.values(PIN_GLYPHS).flatMap((g) => [{ text: g.glyph, style: g.style }, { text: ` ${g.label}  `, style: "gray" as Style }]),
  ]);
  lines.push([]);

  // Deployments.
  lines.push([{ text: "deployments", style: "bold" }]);
  if (model.deployments.length === 0) lines.push([{ text: "  none", style: "gray" }]);
  model.deployments.forEach((d, i) => {
    const selected = opts.keys.scale && i === sel.deployment;
    const ok = d.ready >= d.desired && !d.rollingOut;
    lines.push([
      { text: selected ? "▸ " : "  ", style: "cyan" },
      { text: `${d.namespace === "default" ? "" : d.namespace + "/"}${d.name}`.padEnd(24), style: selected ? "bold" : "white" },
      { text: `${d.ready}/${d.desired} ready`.padEnd(14), style: ok ? "green" : "yellow" },
      { text: `${d.updated} up-to-date  ${d.available} available`, style: "gray" },
      ...(d.rollingOut ? [{ text: "  rolling out", style: "cyan" as Style }] : []),
    ]);
  });
  lines.push([]);

  // Recent events.
  lines.push([{ text: "events", style: "bold" }]);
  const room = Math.max(1, opts.height - lines.length - 4);
  const events = model.events.slice(-room);
  if (events.length === 0) lines.push([{ text: "  none yet", style: "gray" }]);
  for (const e of events) {
    const t = e.time ? new Date(e.time).toLocaleTimeString() : "";
    lines.push([
      { text: `  ${t} `, style: "gray" },
      { text: `${e.reason.padEnd(17)} `, style: e.type === "Warning" ? "red" : "green" },
      { text: `${e.object}: `, style: "white" },
      { text: e.message, style: "gray" },
    ]);
  }
  lines.push([]);
  if (opts.message) lines.push([{ text: opts.message, style: "cyan" }]);
  lines.push(helpLine(opts));

  return lines.slice(0, Math.max(1, opts.height)).map((l) => finish(l, opts.width, opts.color));
}

function laneLine(lane: Lane, nameWidth: number, selected: boolean): Line {
  const readyStyle: Style = lane.ready === "True" ? "green" : lane.ready === "False" ? "red" : "yellow";
  const state =
    lane.process === "stopped" ? "DOWN" : lane.ready === "True" ? (lane.unschedulable ? "Cordoned" : "Ready") : lane.ready === "False" ? "NotReady" : "Unknown";
  const lease = lane.leaseAgeSeconds === null ? "lease -" : `lease ${lane.leaseAgeSeconds < 10 ? lane.leaseAgeSeconds.toFixed(1) : Math.round(lane.leaseAgeSeconds)}s`;
  return [
    { text: selected ? "▸ " : "  ", style: "cyan" },
    { text: lane.node.padEnd(nameWidth), style: selected ? "bold" : "white" },
    { text: `  ${state.padEnd(8)}`, style: lane.process === "stopped" ? "red" : readyStyle },
    { text: ` ${lease.padEnd(10)} `, style: "gray" },
    { text: "│ ", style: "gray" },
    ...pins(lane.pins),
  ];
}

function pins(list: Pin[]): Segment[] {
  return list.map((p) => ({ text: PIN_GLYPHS[p.state].glyph, style: PIN_GLYPHS[p.state].style }));
}

function helpLine(opts: RenderOptions): Line {
  const keys: string[] = [];
  if (opts.keys.knock) keys.push("↑↓ node", "k knock down", "r set up again");
  if (opts.keys.pause) keys.push("m master", "p pause/resume");
  if (opts.keys.scale) keys.push("←→ deployment", "+/- scale");
  keys.push("q quit");
  return [{ text: keys.join(" · "), style: "gray" }];
}

/** Cuts a line to `width` visible characters, then styles it. */
function finish(line: Line, width: number, color: boolean): string {
  let room = width;
  let out = "";
  for (const seg of line) {
    if (room <= 0) break;
    const chars = [...seg.text];
    const text = chars.length > room ? chars.slice(0, room).join("") : seg.text;
    room -= Math.min(chars.length, room);
    out += color && seg.style ? styleText(seg.style, text) : text;
  }
  return out;
}
