// Logger construction for master and node processes: pino JSON lines to a
// file (under `pinsetter up`) or to stderr.

import { pino, type Logger } from "pino";

export function createLogger(opts: { level?: string; file?: string | null; base?: Record<string, unknown> }): Logger {
  const level = opts.level ?? process.env.PINSETTER_LOG_LEVEL ?? "info";
  const destination = opts.file ? pino.destination({ dest: opts.file, mkdir: true, sync: false }) : pino.destination(2);
  return pino({ level, base: opts.base ?? { pid: process.pid } }, destination);
}
