// What the runtime holds for one pod, grouped the way the kubelet reasons
// about it: the current sandbox and, per container name, its latest instance
// and the one before (for lastState and `logs --previous`).

import type { RuntimeContainer } from "./runtime.js";

export interface Instances {
  latest: RuntimeContainer;
  previous: RuntimeContainer | null;
  /** Instances older than `previous`: garbage. */
  older: RuntimeContainer[];
}

export interface PodView {
  sandbox: RuntimeContainer | null;
  /** Sandboxes other than the current one: garbage once stopped. */
  oldSandboxes: RuntimeContainer[];
  init: Map<string, Instances>;
  app: Map<string, Instances>;
}

function byAttemptDesc(a: RuntimeContainer, b: RuntimeContainer): number {
  return b.attempt - a.attempt || b.createdAt.localeCompare(a.createdAt);
}

export function podView(containers: RuntimeContainer[]): PodView {
  const sandboxes = containers.filter((c) => c.kind === "sandbox").sort(byAttemptDesc);
  const group = (kind: "init" | "app") => {
    const byName = new Map<string, RuntimeContainer[]>();
    for (const c of containers) {
      if (c.kind !== kind) continue;
      const list = byName.get(c.name) ?? [];
      list.push(c);
      byName.set(c.name, list);
    }
    const out = new Map<string, Instances>();
    for (const [name, list] of byName) {
      list.sort(byAttemptDesc);
      out.set(name, { latest: list[0]!, previous: list[1] ?? null, older: list.slice(2) });
    }
    return out;
  };
  return { sandbox: sandboxes[0] ?? null, oldSandboxes: sandboxes.slice(1), init: group("init"), app: group("app") };
}
