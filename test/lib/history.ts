// A recorded client history of key-value operations, the input of the
// linearizability checker (linearizability.ts). Clients record through
// HistoryRecorder; chaos tests save histories as JSON lines for replay.

import { performance } from "node:perf_hooks";
import { readFile, writeFile } from "node:fs/promises";

export interface GetInput {
  kind: "get";
}
export interface PutInput {
  kind: "put";
  value: string;
}
/** Compare-and-set: succeeds iff the key's value equals `expect` (null: the key is absent). */
export interface CasInput {
  kind: "cas";
  expect: string | null;
  value: string;
}
export interface DeleteInput {
  kind: "delete";
}
export type KvInput = GetInput | PutInput | CasInput | DeleteInput;

export interface GetOutput {
  /** null: the key is absent. */
  value: string | null;
  revision?: number;
}
export interface PutOutput {
  revision?: number;
}
export interface CasOutput {
  succeeded: boolean;
}
export interface DeleteOutput {
  /** How many keys the delete removed: 1 or 0 for a single key. */
  deleted: number;
}
export type KvOutput = GetOutput | PutOutput | CasOutput | DeleteOutput;

/** The output that goes with an input kind. */
export type OutputOf<I extends KvInput> = I extends GetInput
  ? GetOutput
  : I extends PutInput
    ? PutOutput
    : I extends CasInput
      ? CasOutput
      : I extends DeleteInput
        ? DeleteOutput
        : never;

/**
 * One operation of a history. Times come from one monotonic clock.
 * `return === null` means the outcome is unknown (timeout, lost connection,
 * 5xx): the operation may have taken effect at any time after `call`, or
 * never; its `output` is then null and is not checked.
 */
export interface Operation<I = KvInput, O = KvOutput> {
  id: number;
  clientId: string;
  key: string;
  input: I;
  call: number;
  return: number | null;
  output: O | null;
}

/** A key-value operation whose output type matches its input kind. */
export type KvOperation = {
  [K in KvInput["kind"]]: Operation<Extract<KvInput, { kind: K }>, OutputOf<Extract<KvInput, { kind: K }>>>;
}[KvInput["kind"]];

/** What `begin` hands back; pass it to exactly one of ok, unknown, fail. */
export interface OpHandle<I extends KvInput = KvInput> {
  readonly id: number;
  readonly input: I;
}

interface OpenOp {
  clientId: string;
  key: string;
  input: KvInput;
  call: number;
}

export interface HistoryRecorderOptions {
  /**
   * Monotonic clock. Default performance.now() (milliseconds, fractional),
   * which is only comparable within one process: clients in other processes
   * need a shared clock, and the simulator passes its virtual clock.
   */
  clock?: () => number;
}

/**
 * Records operations as clients issue them. Call `begin` just before sending
 * a request and ok/unknown/fail just after its answer, so that the recorded
 * interval contains the moment the cluster acted on it.
 */
export class HistoryRecorder {
  private readonly clock: () => number;
  private nextId = 0;
  private lastTime = -Infinity;
  private readonly open = new Map<number, OpenOp>();
  private readonly done: KvOperation[] = [];

  constructor(options: HistoryRecorderOptions = {}) {
    this.clock = options.clock ?? (() => performance.now());
  }

  begin<I extends KvInput>(clientId: string, key: string, input: I): OpHandle<I> {
    const id = this.nextId++;
    this.open.set(id, { clientId, key, input: structuredClone(input), call: this.now() });
    return { id, input };
  }

  /** The operation completed with this output. */
  ok<I extends KvInput>(handle: OpHandle<I>, output: OutputOf<I>): void {
    const op = this.take(handle);
    const ret = this.now();
    this.done.push({ id: handle.id, ...op, return: ret, output: structuredClone(output) } as KvOperation);
  }

  /** The outcome is unknown: it may or may not have taken effect (timeout, connection lost, 5xx). */
  unknown<I extends KvInput>(handle: OpHandle<I>): void {
    const op = this.take(handle);
    this.done.push({ id: handle.id, ...op, return: null, output: null } as KvOperation);
  }

  /** A definite failure (a 4xx): the operation did not happen, so it leaves the history. */
  fail<I extends KvInput>(handle: OpHandle<I>): void {
    this.take(handle);
  }

  /**
   * The history so far, ordered by call. Operations still open (begun but not
   * finished, e.g. a client stopped mid-request) are included with an
   * unknown outcome, which is what they are.
   */
  history(): KvOperation[] {
    const ops: KvOperation[] = [...this.done];
    for (const [id, op] of this.open) ops.push({ id, ...op, return: null, output: null } as KvOperation);
    return ops.sort((a, b) => a.call - b.call || a.id - b.id);
  }

  /** Number of operations begun and not yet finished. */
  get pending(): number {
    return this.open.size;
  }

  toJsonLines(): string {
    return historyToJsonLines(this.history());
  }

  async save(path: string): Promise<void> {
    await writeFile(path, this.toJsonLines());
  }

  private take(handle: OpHandle): OpenOp {
    const op = this.open.get(handle.id);
    if (op === undefined) throw new Error(`history: operation ${handle.id} was already finished or never begun`);
    this.open.delete(handle.id);
    return op;
  }

  private now(): number {
    const t = this.clock();
    if (!(t >= this.lastTime)) throw new Error(`history: clock went backwards (${t} after ${this.lastTime})`);
    this.lastTime = t;
    return t;
  }
}

export function historyToJsonLines(ops: readonly KvOperation[]): string {
  return ops.map((op) => JSON.stringify(op)).join("\n") + (ops.length > 0 ? "\n" : "");
}

/** Parses and validates a history saved as JSON lines (one operation per line). */
export function parseHistory(text: string): KvOperation[] {
  const ops: KvOperation[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      throw new Error(`history line ${i + 1}: not JSON (${(err as Error).message})`);
    }
    const problem = validateOperation(raw);
    if (problem !== null) throw new Error(`history line ${i + 1}: ${problem}`);
    // An unknown outcome may have been saved without an output field.
    ops.push({ ...(raw as KvOperation), output: (raw as KvOperation).output ?? null } as KvOperation);
  }
  return ops;
}

export async function loadHistory(path: string): Promise<KvOperation[]> {
  return parseHistory(await readFile(path, "utf8"));
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

const isStringOrNull = (x: unknown): boolean => x === null || typeof x === "string";
const isOptionalNumber = (x: unknown): boolean => x === undefined || typeof x === "number";

/** Returns what is wrong with `raw` as a KvOperation, or null if nothing is. */
export function validateOperation(raw: unknown): string | null {
  if (!isObject(raw)) return "not an object";
  if (typeof raw.id !== "number") return "id must be a number";
  if (typeof raw.clientId !== "string") return "clientId must be a string";
  if (typeof raw.key !== "string") return "key must be a string";
  if (typeof raw.call !== "number" || !Number.isFinite(raw.call)) return "call must be a finite number";
  if (raw.return !== null && (typeof raw.return !== "number" || !(raw.return >= raw.call)))
    return "return must be null or a number not before call";
  const input = raw.input;
  if (!isObject(input)) return "input must be an object";
  const output = raw.output;
  if (raw.return === null) {
    if (output !== null && output !== undefined) return "an operation with unknown outcome has no output";
  } else if (!isObject(output)) return "a completed operation needs an output object";
  const out = isObject(output) ? output : null;
  switch (input.kind) {
    case "get":
      if (out && (!isStringOrNull(out.value) || !isOptionalNumber(out.revision))) return "get output needs value: string|null";
      return null;
    case "put":
      if (typeof input.value !== "string") return "put input needs value: string";
      if (out && !isOptionalNumber(out.revision)) return "put output revision must be a number";
      return null;
    case "cas":
      if (!isStringOrNull(input.expect) || typeof input.value !== "string")
        return "cas input needs expect: string|null and value: string";
      if (out && typeof out.succeeded !== "boolean") return "cas output needs succeeded: boolean";
      return null;
    case "delete":
      if (out && typeof out.deleted !== "number") return "delete output needs deleted: number";
      return null;
    default:
      return `unknown input kind ${JSON.stringify(input.kind)}`;
  }
}
