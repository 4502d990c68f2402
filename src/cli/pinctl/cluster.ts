// pinctl cluster status|add-master|remove-master.

import type { Command } from "commander";
import { stringify as toYaml } from "yaml";
import { findMaster } from "../../config/index.js";
import { fetchMasterStatus, type MasterStatus } from "../../client/master-status.js";
import { runAction, UserError } from "../errors.js";
import { resolveContext, storeClient, type GlobalOptions, type PinctlContext } from "./context.js";

export interface ClusterMemberView {
  name: string;
  role: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  healthy: boolean;
}

export interface ClusterStatusView {
  leader: string | null;
  members: ClusterMemberView[];
}

async function fetchStatus(url: string, token: string | undefined): Promise<MasterStatus | null> {
  const u = new URL(url);
  const r = await fetchMasterStatus({ host: u.hostname, port: Number(u.port), token });
  if (r === "unauthorized") throw new UserError(`${url}: unauthorized (wrong or missing token)`);
  return r;
}

/** Which masters to show: those of the config, else the members the server knows. */
async function memberUrls(ctx: PinctlContext): Promise<{ name: string; url: string }[]> {
  if (ctx.config && ctx.endpoints.length === ctx.config.masters.length) {
    return ctx.config.masters.map((m) => ({ name: m.name, url: `http://${m.host}:${m.clientPort}` }));
  }
  const client = storeClient(ctx, 3000);
  try {
    const list = await client.memberList();
    return list.members.map((m) => ({ name: m.name, url: m.clientURLs[0] ?? "" }));
  } finally {
    client.close();
  }
}

export async function clusterStatus(ctx: PinctlContext): Promise<ClusterStatusView> {
  const members = await memberUrls(ctx);
  const statuses = await Promise.all(members.map((m) => fetchStatus(m.url, ctx.token)));
  const view: ClusterStatusView = { leader: null, members: [] };
  let leaderTerm = -1;
  members.forEach((m, i) => {
    const s = statuses[i];
    if (!s) {
      view.members.push({ name: m.name, role: "unreachable", term: 0, commitIndex: 0, appliedIndex: 0, healthy: false });
      return;
    }
    view.members.push({ name: m.name, role: s.role, term: s.term, commitIndex: s.commitIndex, appliedIndex: s.appliedIndex, healthy: s.healthy });
    if (s.role === "leader" && s.term > leaderTerm) {
      leaderTerm = s.term;
      view.leader = s.name;
    }
  });
  return view;
}

function renderStatus(view: ClusterStatusView): string {
  const rows = [["NAME", "ROLE", "TERM", "COMMIT", "APPLIED", "HEALTHY"]];
  for (const m of view.members) {
    rows.push([m.name + (m.name === view.leader ? " *" : ""), m.role, String(m.term), String(m.commitIndex), String(m.appliedIndex), m.healthy ? "yes" : "no"]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

export function registerCluster(program: Command): void {
  const cluster = program.command("cluster").description("the masters: status and membership");
  const globals = () => program.opts<GlobalOptions>();

  cluster
    .command("status")
    .description("each master's role, term, commit and applied index, and health")
    .action(() =>
      runAction(async () => {
        const ctx = resolveContext(globals());
        const view = await clusterStatus(ctx);
        if (ctx.output === "json") process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
        else if (ctx.output === "yaml") process.stdout.write(toYaml(view));
        else if (ctx.output === "name") process.stdout.write(view.members.map((m) => `${m.name}\n`).join(""));
        else process.stdout.write(`${renderStatus(view)}\n`);
        if (view.members.every((m) => !m.healthy) && view.members.every((m) => m.role === "unreachable")) {
          throw new UserError("no master answered");
        }
      }),
    );

  cluster
    .command("add-master <name>")
    .description("add a master from the config: it joins as a learner and becomes a voter once caught up")
    .option("--wait", "wait until the new master is a voter (start it meanwhile)")
    .option("--timeout <seconds>", "how long --wait waits", "120")
    .action((name: string, opts: { wait?: boolean; timeout: string }) =>
      runAction(async () => {
        const ctx = resolveContext(globals());
        if (!ctx.config) throw new UserError("add-master needs the cluster config (--config) to find the new master's addresses");
        const master = findMaster(ctx.config, name);
        const client = storeClient(ctx);
        try {
          // etcd's member/add takes peer URLs only; Pinsetter also accepts the
          // member's name and ports so masters need no restart to learn them.
          const added = await client.request<{ member?: { ID?: string } }>("/v3/cluster/member/add", {
            peerURLs: [`http://${master.host}:${master.raftPort}`],
            isLearner: true,
            name: master.name,
            clientURLs: [`http://${master.host}:${master.clientPort}`],
            apiPort: master.apiPort,
          }, { idempotent: false });
          process.stdout.write(`added ${name} (ID ${added.member?.ID ?? "?"}) as a learner; start it with: pinsetter master --name ${name}\n`);
          if (!opts.wait) return;
          const deadline = Date.now() + Number(opts.timeout) * 1000;
          while (Date.now() < deadline) {
            const list = await client.memberList();
            const me = list.members.find((m) => m.name === name);
            if (me && !me.isLearner) {
              process.stdout.write(`${name} caught up and is now a voter\n`);
              return;
            }
            await new Promise((r) => setTimeout(r, 500));
          }
          throw new UserError(`${name} did not catch up within ${opts.timeout} s (is it running?)`);
        } finally {
          client.close();
        }
      }),
    );

  cluster
    .command("remove-master <name>")
    .description("remove a master from the cluster (the leader too: the others elect a new one)")
    .action((name: string) =>
      runAction(async () => {
        const ctx = resolveContext(globals());
        const client = storeClient(ctx);
        try {
          const list = await client.memberList();
          const member = list.members.find((m) => m.name === name);
          if (!member) throw new UserError(`no master named "${name}" in the cluster; members: ${list.members.map((m) => m.name).join(", ")}`);
          await client.memberRemove(member.id);
          process.stdout.write(`removed ${name}\n`);
        } finally {
          client.close();
        }
      }),
    );
}
