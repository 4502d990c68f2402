// pinctl describe KIND NAME: a readable summary of one object (pods,
// deployments, replicasets, nodes and services in kubectl's layout; other
// kinds as their metadata and fields), followed by the object's Events.

import type { Command } from "commander";
import { stringify as toYaml } from "yaml";
import type { ResourceInfo } from "../../api/resources.js";
import type { Container, ContainerStatus, Deployment, Event, KubeObject, LabelSelector, Node, Pod, PodTemplateSpec, ReplicaSet, Service } from "../../api/types.js";
import { KubeApiError, type KubeClient } from "../../client/kube-client.js";
import { UserError } from "../errors.js";
import { parseResourceArgs } from "./args.js";
import { DescribeWriter } from "./describe-writer.js";
import { isNotFound, notFoundError, nsFor, runKube } from "./kube.js";
import { deepEqual } from "./apply-patch.js";
import { alignColumns, formatAge } from "./printer.js";
import { ownedReplicaSets, templateOfReplicaSet } from "./rollout-logic.js";

function selectorString(sel: LabelSelector | undefined): string {
  if (!sel) return "<none>";
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(",")})`);
  }
  return parts.length ? parts.join(",") : "<none>";
}

function time(ts: string | undefined): string {
  if (!ts) return "<unset>";
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toUTCString().replace("GMT", "+0000");
}

function meta(w: DescribeWriter, obj: KubeObject, info: ResourceInfo): void {
  w.pair(0, "Name", obj.metadata.name);
  if (info.namespaced) w.pair(0, "Namespace", obj.metadata.namespace);
  w.pair(0, "CreationTimestamp", time(obj.metadata.creationTimestamp));
  w.map(0, "Labels", obj.metadata.labels);
  const annotations = { ...(obj.metadata.annotations ?? {}) };
  // kubectl leaves the bulky last-applied configuration out too.
  delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
  w.map(0, "Annotations", annotations, ": ");
}

function containers(w: DescribeWriter, level: number, list: Container[], statuses: ContainerStatus[] | undefined): void {
  for (const c of list) {
    w.heading(level, `  ${c.name}`.trimStart());
    const st = statuses?.find((s) => s.name === c.name);
    if (st?.containerID) w.pair(level + 1, "Container ID", st.containerID);
    w.pair(level + 1, "Image", c.image);
    const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? "TCP"}`);
    w.pair(level + 1, ports.length > 1 ? "Ports" : "Port", ports.join(", ") || "<none>");
    const hostPorts = (c.ports ?? []).map((p) => `${p.hostPort ?? 0}/${p.protocol ?? "TCP"}`);
    w.pair(level + 1, hostPorts.length > 1 ? "Host Ports" : "Host Port", hostPorts.join(", ") || "<none>");
    if (c.command?.length) w.pair(level + 1, "Command", c.command.join("\n"));
    if (c.args?.length) w.pair(level + 1, "Args", c.args.join("\n"));
    if (st) {
      const s = st.state;
      if (s?.running) w.pair(level + 1, "State", "Running").pair(level + 2, "Started", time(s.running.startedAt));
      else if (s?.waiting) w.pair(level + 1, "State", "Waiting").pair(level + 2, "Reason", s.waiting.reason);
      else if (s?.terminated) w.pair(level + 1, "State", "Terminated").pair(level + 2, "Reason", s.terminated.reason).pair(level + 2, "Exit Code", s.terminated.exitCode);
      w.pair(level + 1, "Ready", st.ready ? "True" : "False");
      w.pair(level + 1, "Restart Count", st.restartCount ?? 0);
    }
    const res = c.resources ?? {};
    if (res.limits) w.map(level + 1, "Limits", res.limits, ": ");
    if (res.requests) w.map(level + 1, "Requests", res.requests, ": ");
    const env = (c.env ?? []).map((e) => `${e.name}: ${e.value ?? (e.valueFrom ? "<set from a reference>" : "")}`);
    w.pair(level + 1, "Environment", env.length ? env.join("\n") : "<none>");
    const mounts = (c.volumeMounts ?? []).map((m) => `${m.mountPath} from ${m.name} (${m.readOnly ? "ro" : "rw"})`);
    w.pair(level + 1, "Mounts", mounts.length ? mounts.join("\n") : "<none>");
  }
}

function template(w: DescribeWriter, t: PodTemplateSpec): void {
  w.heading(0, "Pod Template");
  w.map(1, "Labels", t.metadata?.labels);
  if (t.metadata?.annotations && Object.keys(t.metadata.annotations).length) w.map(1, "Annotations", t.metadata.annotations, ": ");
  w.heading(1, "Containers");
  containers(w, 2, t.spec?.containers ?? [], undefined);
  w.pair(1, "Volumes", (t.spec?.volumes ?? []).map((v) => v.name).join("\n") || "<none>");
}

function conditionsTable(w: DescribeWriter, conditions: { type: string; status: string; reason?: string }[] | undefined, withReason: boolean): void {
  if (!conditions?.length) return;
  w.heading(0, "Conditions");
  const rows = [withReason ? ["Type", "Status", "Reason"] : ["Type", "Status"], withReason ? ["----", "------", "------"] : ["----", "------"]];
  for (const c of conditions) rows.push(withReason ? [c.type, c.status, c.reason ?? ""] : [c.type, c.status]);
  for (const line of alignColumns(rows, [], 2)) w.text(1, line);
}

/** The pod's QoS class as Kubernetes derives it, for servers that do not record it. */
export function qosClass(pod: Pod): string {
  const containers = pod.spec?.containers ?? [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ["cpu", "memory"]) {
      const l = lim[r];
      const q = req[r] ?? l;
      if (!l || q !== l) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

function describePod(w: DescribeWriter, pod: Pod, info: ResourceInfo): void {
  w.pair(0, "Name", pod.metadata.name).pair(0, "Namespace", pod.metadata.namespace);
  w.pair(0, "Priority", pod.spec?.priority ?? 0);
  w.pair(0, "Service Account", pod.spec?.serviceAccountName ?? "default");
  const node = pod.spec?.nodeName;
  w.pair(0, "Node", node ? `${node}${pod.status?.hostIP ? `/${pod.status.hostIP}` : ""}` : "<none>");
  w.pair(0, "Start Time", pod.status?.startTime ? time(pod.status.startTime) : undefined);
  w.map(0, "Labels", pod.metadata.labels);
  const annotations = { ...(pod.metadata.annotations ?? {}) };
  delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
  w.map(0, "Annotations", annotations, ": ");
  w.pair(0, "Status", pod.metadata.deletionTimestamp ? "Terminating" : (pod.status?.phase ?? "Pending"));
  if (pod.status?.reason) w.pair(0, "Reason", pod.status.reason);
  if (pod.status?.message) w.pair(0, "Message", pod.status.message);
  w.pair(0, "IP", pod.status?.podIP);
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller);
  if (owner) w.pair(0, "Controlled By", `${owner.kind}/${owner.name}`);
  w.heading(0, "Containers");
  containers(w, 1, pod.spec?.containers ?? [], pod.status?.containerStatuses);
  conditionsTable(w, pod.status?.conditions, false);
  w.pair(0, "Volumes", (pod.spec?.volumes ?? []).map((v) => v.name).join("\n") || "<none>");
  w.pair(0, "QoS Class", pod.status?.qosClass ?? qosClass(pod));
  w.map(0, "Node-Selectors", pod.spec?.nodeSelector, ":");
  const tol = (pod.spec?.tolerations ?? []).map((t) => `${t.key ?? ""}${t.operator === "Exists" ? "" : `=${t.value ?? ""}`}:${t.effect ?? ""}${t.tolerationSeconds !== undefined ? ` for ${t.tolerationSeconds}s` : ""}`);
  w.pair(0, "Tolerations", tol.join("\n") || "<none>");
  void info;
}

function describeDeployment(w: DescribeWriter, d: Deployment, info: ResourceInfo): void {
  meta(w, d, info);
  w.pair(0, "Selector", selectorString(d.spec.selector));
  const s = d.status ?? {};
  const desired = d.spec.replicas ?? 1;
  w.pair(0, "Replicas", `${desired} desired | ${s.updatedReplicas ?? 0} updated | ${s.replicas ?? 0} total | ${s.availableReplicas ?? 0} available | ${s.unavailableReplicas ?? 0} unavailable`);
  w.pair(0, "StrategyType", d.spec.strategy?.type ?? "RollingUpdate");
  w.pair(0, "MinReadySeconds", d.spec.minReadySeconds ?? 0);
  if ((d.spec.strategy?.type ?? "RollingUpdate") === "RollingUpdate") {
    const ru = d.spec.strategy?.rollingUpdate ?? {};
    w.pair(0, "RollingUpdateStrategy", `${ru.maxUnavailable ?? "25%"} max unavailable, ${ru.maxSurge ?? "25%"} max surge`);
  }
  if (d.spec.paused) w.pair(0, "Paused", "true");
  template(w, d.spec.template);
  conditionsTable(w, d.status?.conditions, true);
}

function describeReplicaSet(w: DescribeWriter, rs: ReplicaSet, info: ResourceInfo): void {
  meta(w, rs, info);
  w.pair(0, "Selector", selectorString(rs.spec.selector));
  const owner = rs.metadata.ownerReferences?.find((o) => o.controller);
  if (owner) w.pair(0, "Controlled By", `${owner.kind}/${owner.name}`);
  w.pair(0, "Replicas", `${rs.status?.replicas ?? 0} current / ${rs.spec.replicas ?? 1} desired`);
  w.pair(0, "Pods Status", `${rs.status?.readyReplicas ?? 0} Ready / ${rs.status?.availableReplicas ?? 0} Available`);
  template(w, rs.spec.template);
  conditionsTable(w, rs.status?.conditions, true);
}

function describeNode(w: DescribeWriter, n: Node, info: ResourceInfo): void {
  meta(w, n, info);
  const taints = (n.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`);
  w.pair(0, "Taints", taints.join("\n") || "<none>");
  w.pair(0, "Unschedulable", n.spec?.unschedulable ? "true" : "false");
  if (n.status?.conditions?.length) {
    w.heading(0, "Conditions");
    const rows = [["Type", "Status", "LastHeartbeatTime", "Reason", "Message"], ["----", "------", "-----------------", "------", "-------"]];
    for (const c of n.status.conditions) rows.push([c.type, c.status, time(c.lastHeartbeatTime), c.reason ?? "", c.message ?? ""]);
    for (const line of alignColumns(rows, [], 2)) w.text(1, line);
  }
  w.pair(0, "Addresses", (n.status?.addresses ?? []).map((a) => `${a.type}: ${a.address}`).join("\n") || "<none>");
  if (n.status?.capacity) w.map(0, "Capacity", n.status.capacity, ":  ");
  if (n.status?.allocatable) w.map(0, "Allocatable", n.status.allocatable, ":  ");
  const ni = n.status?.nodeInfo;
  if (ni) {
    w.heading(0, "System Info");
    w.pair(1, "Kernel Version", ni.kernelVersion).pair(1, "OS Image", ni.osImage).pair(1, "Operating System", ni.operatingSystem);
    w.pair(1, "Architecture", ni.architecture).pair(1, "Container Runtime Version", ni.containerRuntimeVersion).pair(1, "Kubelet Version", ni.kubeletVersion);
  }
}

function describeService(w: DescribeWriter, s: Service, info: ResourceInfo, endpoints: string): void {
  meta(w, s, info);
  const spec = s.spec ?? {};
  w.map(0, "Selector", spec.selector);
  w.pair(0, "Type", spec.type ?? "ClusterIP");
  w.pair(0, "IP", spec.clusterIP);
  for (const p of spec.ports ?? []) {
    w.pair(0, "Port", `${p.name ?? "<unset>"}  ${p.port}/${p.protocol ?? "TCP"}`);
    w.pair(0, "TargetPort", `${p.targetPort ?? p.port}/${p.protocol ?? "TCP"}`);
    if (p.nodePort) w.pair(0, "NodePort", `${p.name ?? "<unset>"}  ${p.nodePort}/${p.protocol ?? "TCP"}`);
    w.pair(0, "Endpoints", endpoints || "<none>");
  }
  w.pair(0, "Session Affinity", spec.sessionAffinity ?? "None");
}

/** kubectl's NewReplicaSet / OldReplicaSets lines: the one whose template is the deployment's, and the others with pods. */
function replicaSetsOfDeployment(w: DescribeWriter, d: Deployment, all: ReplicaSet[]): void {
  const owned = ownedReplicaSets(d, all);
  const isNew = (rs: ReplicaSet) => deepEqual(templateOfReplicaSet(rs), d.spec.template);
  const line = (rs: ReplicaSet) => `${rs.metadata.name} (${rs.status?.replicas ?? 0}/${rs.spec.replicas ?? 0} replicas created)`;
  const old = owned.filter((rs) => !isNew(rs) && ((rs.spec.replicas ?? 0) > 0 || (rs.status?.replicas ?? 0) > 0));
  const fresh = owned.find(isNew);
  w.pair(0, "OldReplicaSets", old.length ? old.map(line).join(", ") : "<none>");
  w.pair(0, "NewReplicaSet", fresh ? line(fresh) : "<none>");
}

/** The pods bound to a node that have not finished, with their requests, as kubectl lists them. */
function podsOnNode(w: DescribeWriter, n: Node, pods: Pod[]): void {
  const running = pods.filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  w.pair(0, "Non-terminated Pods", `(${running.length} in total)`);
  if (running.length === 0) return;
  const sum = (p: Pod, kind: "requests" | "limits", r: string) =>
    (p.spec?.containers ?? []).map((c) => c.resources?.[kind]?.[r]).filter(Boolean).join("+") || "0";
  const rows = [
    ["Namespace", "Name", "CPU Requests", "CPU Limits", "Memory Requests", "Memory Limits", "Age"],
    ["---------", "----", "------------", "----------", "---------------", "-------------", "---"],
    ...running.map((p) => [p.metadata.namespace ?? "", p.metadata.name ?? "", sum(p, "requests", "cpu"), sum(p, "limits", "cpu"), sum(p, "requests", "memory"), sum(p, "limits", "memory"), formatAge(p.metadata.creationTimestamp)]),
  ];
  for (const l of alignColumns(rows, [], 2)) w.text(1, l);
  void n;
}

function describeGeneric(w: DescribeWriter, obj: KubeObject, info: ResourceInfo): void {
  meta(w, obj, info);
  const { metadata: _m, apiVersion: _a, kind: _k, ...rest } = obj;
  const body = toYaml(rest).trimEnd();
  if (body && body !== "{}") for (const line of body.split("\n")) w.text(0, line);
}

/** Events about the object, by involvedObject fields; filtered here too in case the server ignores the selector. */
export async function eventsFor(client: KubeClient, obj: KubeObject, info: ResourceInfo): Promise<Event[]> {
  // Events about cluster-scoped objects (nodes) may sit in any namespace: search them all.
  const namespace = info.namespaced ? obj.metadata.namespace : undefined;
  const name = obj.metadata.name ?? "";
  const fields = [`involvedObject.name=${name}`, `involvedObject.kind=${info.kind}`];
  if (obj.metadata.uid) fields.push(`involvedObject.uid=${obj.metadata.uid}`);
  let items: Event[];
  try {
    items = (await client.listAll<Event>("events", { ...(namespace ? { namespace } : {}), fieldSelector: fields.join(",") })).items;
  } catch (err) {
    // A server that does not know these field labels answers 400: filter ourselves.
    if (!(err instanceof KubeApiError) || err.code !== 400) throw err;
    items = (await client.listAll<Event>("events", namespace ? { namespace } : {})).items;
  }
  return items
    .filter((e) => e.involvedObject?.name === name && (!e.involvedObject.kind || e.involvedObject.kind === info.kind) && (!obj.metadata.uid || !e.involvedObject.uid || e.involvedObject.uid === obj.metadata.uid))
    .sort((a, b) => Date.parse(eventTime(a) ?? "") - Date.parse(eventTime(b) ?? ""));
}

function eventTime(e: Event): string | undefined {
  return e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp;
}

export function renderEvents(events: Event[], now = Date.now()): string {
  if (events.length === 0) return "Events:  <none>\n";
  const rows = [
    ["Type", "Reason", "Age", "From", "Message"],
    ["----", "------", "----", "----", "-------"],
  ];
  for (const e of events) {
    const last = eventTime(e);
    const first = e.firstTimestamp ?? e.eventTime ?? last;
    const age = (e.count ?? 1) > 1 ? `${formatAge(last, now)} (x${e.count} over ${formatAge(first ?? undefined, now)})` : formatAge(last, now);
    rows.push([e.type ?? "Normal", e.reason ?? "", age, e.source?.component ?? e.reportingComponent ?? "", (e.message ?? "").trim()]);
  }
  return `Events:\n${alignColumns(rows, [], 2)
    .map((l) => `  ${l}`)
    .join("\n")}\n`;
}

async function endpointsOf(client: KubeClient, namespace: string | undefined, name: string): Promise<string> {
  try {
    const ep = await client.get("endpoints", namespace, name);
    const subsets = (ep.subsets ?? []) as { addresses?: { ip: string }[]; ports?: { port: number }[] }[];
    return subsets.flatMap((s) => (s.addresses ?? []).flatMap((a) => (s.ports?.length ? s.ports.map((p) => `${a.ip}:${p.port}`) : [a.ip]))).join(",");
  } catch (err) {
    if (isNotFound(err)) return "";
    throw err;
  }
}

export async function describeObject(client: KubeClient, info: ResourceInfo, obj: KubeObject): Promise<string> {
  const w = new DescribeWriter();
  switch (info.kind) {
    case "Pod":
      describePod(w, obj as Pod, info);
      break;
    case "Deployment":
      describeDeployment(w, obj as Deployment, info);
      replicaSetsOfDeployment(w, obj as Deployment, (await client.listAll<ReplicaSet>("replicasets", { namespace: obj.metadata.namespace ?? "default" })).items);
      break;
    case "ReplicaSet":
      describeReplicaSet(w, obj as ReplicaSet, info);
      break;
    case "Node":
      describeNode(w, obj as Node, info);
      podsOnNode(w, obj as Node, (await client.listAll<Pod>("pods", { fieldSelector: `spec.nodeName=${obj.metadata.name}` })).items);
      break;
    case "Service":
      describeService(w, obj as Service, info, await endpointsOf(client, obj.metadata.namespace, obj.metadata.name ?? ""));
      break;
    default:
      describeGeneric(w, obj, info);
  }
  if (info.kind === "Event") return w.render();
  return w.render() + renderEvents(await eventsFor(client, obj, info));
}

export function registerDescribe(program: Command): void {
  program
    .command("describe")
    .description("show one object (or those selected) in detail, with its events")
    .argument("<resources...>", "KIND NAME... or KIND/NAME")
    .option("-l, --selector <selector>", "describe every object that matches")
    .action((args: string[], opts: { selector?: string }) =>
      runKube(program, async (ctx) => {
        const { kinds, refs } = parseResourceArgs(args);
        const targets: { info: ResourceInfo; obj: KubeObject }[] = [];
        let missing = 0;
        for (const { info, name } of refs) {
          try {
            targets.push({ info, obj: await ctx.client.get(info, nsFor(info, ctx.namespace), name) });
          } catch (err) {
            if (!isNotFound(err)) throw err;
            process.stderr.write(`Error: ${notFoundError(info, name).message}\n`);
            missing++;
          }
        }
        if (refs.length === 0) {
          // Without names, kubectl describes every object of the kind (or those selected).
          for (const info of kinds) {
            const list = await ctx.client.listAll(info, { namespace: nsFor(info, ctx.namespace), ...(opts.selector ? { labelSelector: opts.selector } : {}) });
            for (const obj of list.items) targets.push({ info, obj });
          }
          if (targets.length === 0) throw new UserError(`No resources found in ${ctx.namespace} namespace.`);
        }
        const texts: string[] = [];
        for (const { info, obj } of targets) texts.push(await describeObject(ctx.client, info, obj));
        if (texts.length) process.stdout.write(texts.join("\n\n"));
        if (missing > 0) process.exitCode = 1;
      }),
    );
}
