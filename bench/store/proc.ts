// What the bench reads about member processes from /proc: resident memory
// (VmRSS and its anonymous/file split, VmHWM) and CPU time (utime + stime).
// Linux only, like the rest of the bench.

import { readFileSync } from "node:fs";

export interface MemorySample {
  /** Resident set, KiB. */
  rssKiB: number;
  /** Anonymous pages (heap), KiB. */
  anonKiB: number;
  /** File-backed pages (binary, mmapped files such as bbolt's db), KiB. */
  fileKiB: number;
  /** Peak resident set since start, KiB. */
  hwmKiB: number;
}

/** VmRSS & co. of a running process, or null if it is gone. */
export function readMemory(pid: number): MemorySample | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { rssKiB: field("VmRSS"), anonKiB: field("RssAnon"), fileKiB: field("RssFile"), hwmKiB: field("VmHWM") };
}

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process in milliseconds, or null if it is gone. */
export function readCpuMs(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Sum of CPU ms over pids (gone ones count 0). */
export function sumCpuMs(pids: number[]): number {
  return pids.reduce((s, p) => s + (readCpuMs(p) ?? 0), 0);
}

export const MiB = (kib: number): number => Math.round((kib / 1024) * 10) / 10;

/** CPU ms spent by the whole machine (all processes, all cores) since boot, from /proc/stat. */
export function machineBusyMs(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
  return (busy * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** The 1-minute load average. */
export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}
