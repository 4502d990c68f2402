// Finds and reads cluster.config.json (--config > PINSETTER_CONFIG >
// ./cluster.config.json) and hands it to the validator. Read-only by design: a
// bad config is refused before any directory or file is created.

import fs from "node:fs";
import path from "node:path";

import type { ClusterConfig, MasterConfig, NodeConfig } from "./types.js";
import { ConfigError, parseClusterConfig, type ConfigFieldError } from "./validate.js";

export const CONFIG_ENV_VAR = "PINSETTER_CONFIG";
export const DEFAULT_CONFIG_FILE = "cluster.config.json";
/** A config file is a few kilobytes; anything this large is the wrong file. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface LoadConfigOptions {
  /** The --config flag. */
  path?: string | undefined;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Relative paths (flag, env, default) resolve against this; defaults to process.cwd(). */
  cwd?: string;
}

export type ConfigSource = "flag" | "env" | "default";

export interface ResolvedConfigPath {
  /** Absolute. */
  path: string;
  /** How it was chosen, for error messages ("from PINSETTER_CONFIG"). */
  source: ConfigSource;
  /** As the user would recognise it: relative to cwd when inside it. */
  display: string;
}

/** How a path is shown in messages: relative to `cwd` when it lies below it, else absolute. */
export function displayPath(absPath: string, cwd: string = process.cwd()): string {
  const rel = path.relative(cwd, absPath);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : absPath;
}

/** Picks the config file: explicit path (--config) > $PINSETTER_CONFIG > ./cluster.config.json. */
export function resolveConfigPath(opts: LoadConfigOptions = {}): ResolvedConfigPath {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  let chosen: string;
  let source: ConfigSource;
  if (opts.path !== undefined) {
    if (opts.path.trim() === "") {
      throw new ConfigError("--config", [{ path: "", message: "must name a file (got an empty path)" }]);
    }
    chosen = opts.path;
    source = "flag";
  } else if (env[CONFIG_ENV_VAR] !== undefined && env[CONFIG_ENV_VAR]?.trim() !== "") {
    chosen = env[CONFIG_ENV_VAR] ?? "";
    source = "env";
  } else {
    chosen = DEFAULT_CONFIG_FILE;
    source = "default";
  }
  const abs = path.resolve(cwd, chosen);
  return { path: abs, source, display: displayPath(abs, cwd) };
}

function sourceHint(source: ConfigSource): string {
  switch (source) {
    case "flag":
      return "given with --config";
    case "env":
      return `from ${CONFIG_ENV_VAR}`;
    case "default":
      return `the default; use --config FILE or ${CONFIG_ENV_VAR} to name another`;
  }
}

function readFailure(where: ResolvedConfigPath, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  const message =
    code === "ENOENT"
      ? `config file not found (${sourceHint(where.source)})`
      : code === "EACCES"
        ? "cannot be read: permission denied"
        : `cannot be read: ${(err as Error).message}`;
  return new ConfigError(where.display, [{ path: "", message }]);
}

function readConfigText(where: ResolvedConfigPath): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(where.path);
  } catch (err) {
    throw readFailure(where, err);
  }
  if (stat.isDirectory()) {
    throw new ConfigError(where.display, [
      { path: "", message: `is a directory, not a config file (${sourceHint(where.source)})` },
    ]);
  }
  if (stat.size > MAX_CONFIG_BYTES) {
    throw new ConfigError(where.display, [
      { path: "", message: `is ${stat.size} bytes, more than a config file can be (${MAX_CONFIG_BYTES})` },
    ]);
  }
  try {
    return fs.readFileSync(where.path, "utf8");
  } catch (err) {
    throw readFailure(where, err);
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.min(offset, text.length));
  const lines = before.split("\n");
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

/** JSON.parse's error as a ConfigFieldError with the line and column (V8 gives a position, or both). */
export function jsonSyntaxError(text: string, err: Error): ConfigFieldError {
  const raw = err.message;
  let loc: { line: number; column: number } | undefined;
  const lc = /\(line (\d+) column (\d+)\)/.exec(raw);
  const pos = /at position (\d+)/.exec(raw);
  if (lc !== null) loc = { line: Number(lc[1]), column: Number(lc[2]) };
  else if (pos !== null) loc = lineColumn(text, Number(pos[1]));
  else if (/end of JSON input/.test(raw)) loc = lineColumn(text, text.length);
  const detail = raw
    .replace(/\s*\(line \d+ column \d+\)/, "")
    .replace(/\s*in JSON at position \d+/, "")
    .replace(/^Unexpected end of JSON input$/, "unexpected end of file");
  return { path: "", message: `invalid JSON: ${detail}`, ...loc };
}

/**
 * Loads, validates and resolves the cluster config. Throws ConfigError (one
 * line per problem, each naming the file and field) when the file is missing,
 * is not JSON, or does not validate. Never creates or writes anything.
 */
export function loadClusterConfig(opts: LoadConfigOptions = {}): ClusterConfig {
  const where = resolveConfigPath(opts);
  const text = readConfigText(where).replace(/^\uFEFF/, "");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(where.display, [jsonSyntaxError(text, err as Error)]);
  }
  const result = parseClusterConfig(raw, where.path);
  if (!result.ok) throw new ConfigError(where.display, result.errors);
  return result.config;
}

function unknownMember(config: ClusterConfig, kind: "master" | "node", name: string): ConfigError {
  const own = kind === "master" ? config.masters : config.nodes;
  const other = kind === "master" ? config.nodes : config.masters;
  const otherKind = kind === "master" ? "node" : "master";
  const known = own.length > 0 ? own.map((m) => m.name).join(", ") : "none";
  const isOther = other.some((m) => m.name === name) ? ` ("${name}" is a ${otherKind})` : "";
  return new ConfigError(displayPath(config.configPath), [
    { path: `${kind}s`, message: `no ${kind} named "${name}"${isOther}; known ${kind}s: ${known}` },
  ]);
}

/** The master called `name` (pinsetter master --name), or a ConfigError naming the known masters. */
export function findMaster(config: ClusterConfig, name: string): MasterConfig {
  const m = config.masters.find((x) => x.name === name);
  if (m === undefined) throw unknownMember(config, "master", name);
  return m;
}

/** The node called `name` (pinsetter node --name), or a ConfigError naming the known nodes. */
export function findNode(config: ClusterConfig, name: string): NodeConfig {
  const n = config.nodes.find((x) => x.name === name);
  if (n === undefined) throw unknownMember(config, "node", name);
  return n;
}
