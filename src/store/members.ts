// The replicated member registry: who the masters are and where they listen.
// It is part of the store's replicated state (conf change entries carry each
// member's addresses as context, snapshots carry the registry), so a member
// learns another member's addresses from the log, not from its own config.

import type { ConfChange, ConfState } from "../../raft/index.js";
import { memberIdOf } from "./identity.js";

export interface MemberAddresses {
  host: string;
  raftPort: number;
  clientPort: number;
  apiPort: number;
}

export interface MemberInfo extends MemberAddresses {
  name: string;
  /** etcd-style 64-bit member ID as a decimal string. */
  id: string;
  isLearner: boolean;
}

export function encodeMemberContext(addresses: MemberAddresses): Uint8Array {
  const { host, raftPort, clientPort, apiPort } = addresses;
  return Buffer.from(JSON.stringify({ host, raftPort, clientPort, apiPort }), "utf8");
}

function decodeMemberContext(data: Uint8Array | undefined): MemberAddresses | null {
  if (!data || data.length === 0) return null;
  try {
    const v = JSON.parse(Buffer.from(data).toString("utf8")) as Partial<MemberAddresses>;
    if (typeof v.host !== "string" || typeof v.raftPort !== "number" || typeof v.clientPort !== "number" || typeof v.apiPort !== "number") return null;
    return { host: v.host, raftPort: v.raftPort, clientPort: v.clientPort, apiPort: v.apiPort };
  } catch {
    return null;
  }
}

export class MemberRegistry {
  private members = new Map<string, MemberInfo>();

  constructor(private readonly clusterName: string) {}

  /** Applies a committed membership change; `conf` is the configuration after it. */
  apply(change: ConfChange, conf: ConfState): void {
    if (change.type === "removeNode") {
      this.members.delete(change.node);
    } else {
      const known = this.members.get(change.node);
      const addresses = decodeMemberContext(change.context) ?? known;
      if (addresses) {
        this.members.set(change.node, {
          name: change.node,
          id: memberIdOf(this.clusterName, change.node),
          host: addresses.host,
          raftPort: addresses.raftPort,
          clientPort: addresses.clientPort,
          apiPort: addresses.apiPort,
          isLearner: false,
        });
      }
    }
    this.syncRoles(conf);
  }

  /** Marks learners from the configuration (the source of truth for roles). */
  syncRoles(conf: ConfState): void {
    for (const m of this.members.values()) m.isLearner = conf.learners.includes(m.name);
  }

  get(name: string): MemberInfo | undefined {
    return this.members.get(name);
  }

  byId(id: string): MemberInfo | undefined {
    for (const m of this.members.values()) if (m.id === id) return m;
    return undefined;
  }

  list(): MemberInfo[] {
    return [...this.members.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  toJSON(): MemberInfo[] {
    return this.list();
  }

  replace(members: MemberInfo[]): void {
    this.members = new Map(members.map((m) => [m.name, { ...m }]));
  }
}
