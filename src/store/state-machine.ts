// The store as Raft's state machine: committed entries carry encoded store
// commands that are applied to the MVCC store; membership changes update the
// member registry. Snapshots hold both. Apply is deterministic, so every
// master computes the same state and the same results.

import { Packr, unpack } from "msgpackr";
import { releaseLargePackBuffer } from "../../raft/codec/pack-buffer.js";

const packr = new Packr();
import type { ConfChange, ConfState, SnapshotMetadata, StateMachine } from "../../raft/index.js";
import { MemberRegistry, type MemberInfo } from "./members.js";
import { decodeCommand, MvccStore, type StoreCommand, type StoreResult } from "./mvcc/index.js";

const SNAPSHOT_VERSION = 1;

export type CommandListener = (command: StoreCommand, result: StoreResult, index: number) => void;
export type ConfChangeListener = (change: ConfChange, conf: ConfState, index: number) => void;

export class StoreStateMachine implements StateMachine {
  readonly mvcc = new MvccStore();
  readonly members: MemberRegistry;
  private conf: ConfState = { voters: [], learners: [] };
  private readonly commandListeners = new Set<CommandListener>();
  private readonly confListeners = new Set<ConfChangeListener>();

  constructor(clusterName: string) {
    this.members = new MemberRegistry(clusterName);
  }

  apply(command: Uint8Array, index: number): StoreResult {
    const cmd = decodeCommand(command);
    const result = this.mvcc.apply(cmd, index);
    for (const l of this.commandListeners) l(cmd, result, index);
    return result;
  }

  applyConfChange(change: ConfChange, conf: ConfState, index: number): void {
    this.conf = conf;
    this.members.apply(change, conf);
    this.mvcc.markApplied(index);
    for (const l of this.confListeners) l(change, conf, index);
  }

  onConfChange(listener: ConfChangeListener): () => void {
    this.confListeners.add(listener);
    return () => this.confListeners.delete(listener);
  }

  /** Current membership (voters and learners) as applied. */
  configuration(): ConfState {
    return { voters: [...this.conf.voters], learners: [...this.conf.learners] };
  }

  onCommand(listener: CommandListener): () => void {
    this.commandListeners.add(listener);
    return () => this.commandListeners.delete(listener);
  }

  snapshot(): Uint8Array {
    const data = packr.pack([SNAPSHOT_VERSION, this.mvcc.snapshot(), this.members.toJSON(), this.conf]);
    releaseLargePackBuffer(data.length);
    return data;
  }

  restore(data: Uint8Array, metadata: SnapshotMetadata): void {
    const decoded = unpack(data) as unknown;
    if (!Array.isArray(decoded) || decoded[0] !== SNAPSHOT_VERSION) {
      throw new Error(`store snapshot at index ${metadata.index}: unknown format`);
    }
    const [, mvccData, members] = decoded as [number, Uint8Array, MemberInfo[]];
    this.mvcc.restore(mvccData);
    this.members.replace(members);
    this.conf = { voters: [...metadata.conf.voters], learners: [...metadata.conf.learners] };
    this.members.syncRoles(this.conf);
  }
}
