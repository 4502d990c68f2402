// meta.k8s.io Table rows as kubectl shows them (Kubernetes' server-side
// printers): the columns of each resource, the pod STATUS column computed as
// kubectl computes it, and AGE in kubectl's human duration ("5s", "3m", "2h",
// "4d"). Column names are Kubernetes' ("Name", "Nominated Node"); kubectl and
// pinctl print them upper-cased.

import type { ResourceInfo } from "./resources.js";
import { labelSelectorToString } from "./selectors.js";
import type {
  ConfigMap,
  Container,
  Deployment,
  Endpoints,
  Event,
  HorizontalPodAutoscaler,
  KubeObject,
  LabelSelector,
  Lease,
  Namespace,
  Node,
  Pod,
  ReplicaSet,
  Secret,
  Service,
} from "./types.js";

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object: KubeObject;
}

export interface TableOptions {
  /** true: every column (what the API server returns; kubectl hides priority > 0 unless -o wide) */
  wide?: boolean;
  now?: Date;
}

export interface TableData {
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

// ------------------------------------------------------------ durations

/**
 * kubectl's HumanDuration: "45s", "119s", "2m5s" (under 10 minutes), "42m",
 * "3h20m" (under 8 hours), "10h", "3d4h" (under 8 days), "12d", "2y45d", "9y".
 */
export function formatAge(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** "<unknown>" for a missing timestamp, else the age of it. */
export function ageSince(timestamp: string | undefined | null, now: Date): string {
  if (timestamp === undefined || timestamp === null || timestamp === "") return "<unknown>";
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return "<unknown>";
  return formatAge(now.getTime() - t);
}

// ------------------------------------------------------------ pods

function hasCondition(conditions: { type: string; status: string }[] | undefined, type: string): boolean {
  return (conditions ?? []).some((c) => c.type === type && c.status === "True");
}

/** The STATUS, READY and RESTARTS columns of a pod, computed as kubectl's printPod does. */
export function podStatusColumns(pod: Pod, now: Date): { ready: string; status: string; restarts: string } {
  const spec = pod.spec ?? { containers: [] };
  const status = pod.status ?? {};
  const containers = spec.containers ?? [];
  const initContainers = spec.initContainers ?? [];
  let restarts = 0;
  let totalContainers = containers.length;
  let readyContainers = 0;
  let lastRestart = 0;
  let reason: string = status.phase ?? "";
  if (status.reason) reason = status.reason;
  if ((status.conditions ?? []).some((c) => c.type === "PodScheduled" && c.reason === "SchedulingGated")) reason = "SchedulingGated";

  const noteRestart = (finishedAt: string | undefined): void => {
    if (!finishedAt) return;
    const t = Date.parse(finishedAt);
    if (!Number.isNaN(t) && t > lastRestart) lastRestart = t;
  };
  const sidecar = (name: string): boolean =>
    initContainers.some((c) => c.name === name && (c as Container & { restartPolicy?: string }).restartPolicy === "Always");
  totalContainers += initContainers.filter((c) => sidecar(c.name)).length;

  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    if (c === undefined) continue;
    restarts += c.restartCount ?? 0;
    noteRestart(c.lastState?.terminated?.finishedAt);
    if (sidecar(c.name) && c.started === true) {
      if (c.ready) readyContainers++;
      continue;
    }
    const term = c.state?.terminated;
    const wait = c.state?.waiting;
    if (term !== undefined && term.exitCode === 0) continue;
    if (term !== undefined) {
      if (!term.reason) reason = term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
      else reason = `Init:${term.reason}`;
      initializing = true;
    } else if (wait !== undefined && wait.reason && wait.reason !== "PodInitializing") {
      reason = `Init:${wait.reason}`;
      initializing = true;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
      initializing = true;
    }
    break;
  }

  if (!initializing || hasCondition(status.conditions, "Initialized")) {
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      if (c === undefined) continue;
      restarts += c.restartCount ?? 0;
      noteRestart(c.lastState?.terminated?.finishedAt);
      const wait = c.state?.waiting;
      const term = c.state?.terminated;
      if (wait !== undefined && wait.reason) reason = wait.reason;
      else if (term !== undefined && term.reason) reason = term.reason;
      else if (term !== undefined && !term.reason) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (c.ready && c.state?.running !== undefined) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === "Completed" && hasRunning) reason = hasCondition(status.conditions, "Ready") ? "Running" : "NotReady";
  }

  const terminal = status.phase === "Succeeded" || status.phase === "Failed";
  if (pod.metadata?.deletionTimestamp && status.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata?.deletionTimestamp && !terminal) reason = "Terminating";
  if (reason === "") reason = "Pending";

  const restartText = lastRestart > 0 ? `${restarts} (${formatAge(now.getTime() - lastRestart)} ago)` : String(restarts);
  return { ready: `${readyContainers}/${totalContainers}`, status: reason, restarts: restartText };
}

// ------------------------------------------------------------ column sets

type Col = { name: string; type?: string; format?: string; description?: string; priority?: number };

const NAME: Col = { name: "Name", format: "name", description: "Name must be unique within a namespace." };
const AGE: Col = {
  name: "Age",
  description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
};
const wide = (c: Col): Col => ({ ...c, priority: 1 });

const none = (s: string | undefined | null): string => (s === undefined || s === null || s === "" ? "<none>" : s);

function age(obj: KubeObject, now: Date): string {
  return ageSince(obj.metadata?.creationTimestamp, now);
}

function selectorText(sel: LabelSelector | undefined | null): string {
  return labelSelectorToString(sel);
}

function mapSelectorText(sel: Record<string, string> | undefined): string {
  const entries = Object.entries(sel ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? "<none>" : entries.map(([k, v]) => `${k}=${v}`).join(",");
}

function containersAndImages(containers: Container[] | undefined): [string, string] {
  const list = containers ?? [];
  return [list.map((c) => c.name).join(","), list.map((c) => c.image ?? "").join(",")];
}

const PRINTERS: Record<string, { columns: Col[]; cells: (obj: KubeObject, now: Date) => unknown[] }> = {
  Pod: {
    columns: [
      NAME,
      { name: "Ready", description: "The aggregate readiness state of this pod for accepting traffic." },
      { name: "Status", description: "The aggregate status of the containers in this pod." },
      { name: "Restarts", description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted." },
      AGE,
      wide({ name: "IP", description: "IP address allocated to the pod. Routable at least within the cluster." }),
      wide({ name: "Node", description: "NodeName is a request to schedule this pod onto a specific node." }),
      wide({ name: "Nominated Node", description: "nominatedNodeName is set only when this pod preempts other pods on the node." }),
      wide({ name: "Readiness Gates", description: "If specified, all readiness gates will be evaluated for pod readiness." }),
    ],
    cells: (obj, now) => {
      const pod = obj as Pod;
      const { ready, status, restarts } = podStatusColumns(pod, now);
      const gates = ((pod.spec as { readinessGates?: { conditionType: string }[] } | undefined)?.readinessGates ?? []);
      const gatesText =
        gates.length === 0
          ? "<none>"
          : `${gates.filter((g) => hasCondition(pod.status?.conditions, g.conditionType)).length}/${gates.length}`;
      return [
        pod.metadata.name,
        ready,
        status,
        restarts,
        age(obj, now),
        none(pod.status?.podIP),
        none(pod.spec?.nodeName),
        none(pod.status?.nominatedNodeName),
        gatesText,
      ];
    },
  },
  Deployment: {
    columns: [
      NAME,
      { name: "Ready", description: "Number of the pod with ready state" },
      { name: "Up-to-date", type: "integer", description: "Total number of non-terminated pods targeted by this deployment that have the desired template spec." },
      { name: "Available", type: "integer", description: "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment." },
      AGE,
      wide({ name: "Containers", description: "Names of each container in the template." }),
      wide({ name: "Images", description: "Images referenced by each container in the template." }),
      wide({ name: "Selector", description: "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment." }),
    ],
    cells: (obj, now) => {
      const d = obj as Deployment;
      const [names, images] = containersAndImages(d.spec?.template?.spec?.containers);
      return [
        d.metadata.name,
        `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`,
        d.status?.updatedReplicas ?? 0,
        d.status?.availableReplicas ?? 0,
        age(obj, now),
        names,
        images,
        selectorText(d.spec?.selector),
      ];
    },
  },
  ReplicaSet: {
    columns: [
      NAME,
      { name: "Desired", type: "integer", description: "Replicas is the number of desired replicas." },
      { name: "Current", type: "integer", description: "Replicas is the most recently observed number of replicas." },
      { name: "Ready", type: "integer", description: "The number of ready replicas for this replica set." },
      AGE,
      wide({ name: "Containers", description: "Names of each container in the template." }),
      wide({ name: "Images", description: "Images referenced by each container in the template." }),
      wide({ name: "Selector", description: "Selector is a label query over pods that should match the replica count." }),
    ],
    cells: (obj, now) => {
      const rs = obj as ReplicaSet;
      const [names, images] = containersAndImages(rs.spec?.template?.spec?.containers);
      return [
        rs.metadata.name,
        rs.spec?.replicas ?? 0,
        rs.status?.replicas ?? 0,
        rs.status?.readyReplicas ?? 0,
        age(obj, now),
        names,
        images,
        selectorText(rs.spec?.selector),
      ];
    },
  },
  Service: {
    columns: [
      NAME,
      { name: "Type", description: "type determines how the Service is exposed." },
      { name: "Cluster-IP", description: "clusterIP is the IP address of the service and is usually assigned randomly." },
      { name: "External-IP", description: "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service." },
      { name: "Port(s)", description: "The list of ports that are exposed by this service." },
      AGE,
      wide({ name: "Selector", description: "Route service traffic to pods with label keys and values matching this selector." }),
    ],
    cells: (obj, now) => {
      const svc = obj as Service;
      const s = svc.spec ?? {};
      const type = s.type ?? "ClusterIP";
      return [svc.metadata.name, type, none(s.clusterIP), serviceExternalIp(svc), servicePorts(svc), age(obj, now), mapSelectorText(s.selector)];
    },
  },
  Node: {
    columns: [
      NAME,
      { name: "Status", description: "The status of the node" },
      { name: "Roles", description: "The roles of the node" },
      AGE,
      { name: "Version", description: "Kubelet Version reported by the node." },
      wide({ name: "Internal-IP", description: "List of addresses reachable to the node." }),
      wide({ name: "External-IP", description: "List of addresses reachable to the node." }),
      wide({ name: "OS-Image", description: "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))." }),
      wide({ name: "Kernel-Version", description: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)." }),
      wide({ name: "Container-Runtime", description: "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)." }),
    ],
    cells: (obj, now) => {
      const n = obj as Node;
      const addr = (type: string): string => none(n.status?.addresses?.find((a) => a.type === type)?.address);
      const info = n.status?.nodeInfo;
      const unknown = (s: string | undefined): string => (s ? s : "<unknown>");
      return [
        n.metadata.name,
        nodeStatus(n),
        nodeRoles(n),
        age(obj, now),
        info?.kubeletVersion ?? "",
        addr("InternalIP"),
        addr("ExternalIP"),
        unknown(info?.osImage),
        unknown(info?.kernelVersion),
        unknown(info?.containerRuntimeVersion),
      ];
    },
  },
  Endpoints: {
    columns: [NAME, { name: "Endpoints", description: "Endpoints of the service" }, AGE],
    cells: (obj, now) => [obj.metadata.name, formatEndpoints(obj as Endpoints), age(obj, now)],
  },
  Namespace: {
    columns: [NAME, { name: "Status", description: "The status of the namespace" }, AGE],
    cells: (obj, now) => [obj.metadata.name, (obj as Namespace).status?.phase ?? "", age(obj, now)],
  },
  ConfigMap: {
    columns: [NAME, { name: "Data", type: "integer", description: "Data contains the configuration data." }, AGE],
    cells: (obj, now) => {
      const cm = obj as ConfigMap;
      return [cm.metadata.name, Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length, age(obj, now)];
    },
  },
  Secret: {
    columns: [
      NAME,
      { name: "Type", description: "Used to facilitate programmatic handling of secret data." },
      { name: "Data", type: "integer", description: "Data contains the secret data." },
      AGE,
    ],
    cells: (obj, now) => {
      const s = obj as Secret;
      return [s.metadata.name, s.type ?? "Opaque", Object.keys(s.data ?? {}).length, age(obj, now)];
    },
  },
  Lease: {
    columns: [NAME, { name: "Holder", description: "HolderIdentity contains the identity of the holder of a current lease." }, AGE],
    cells: (obj, now) => [obj.metadata.name, (obj as Lease).spec?.holderIdentity ?? "", age(obj, now)],
  },
  Event: {
    columns: [
      { name: "Last Seen", description: "The time at which the most recent occurrence of this event was recorded." },
      { name: "Type", description: "Type of this event (Normal, Warning), new types could be added in the future." },
      { name: "Reason", description: "This should be a short, machine understandable string that gives the reason for this event being generated." },
      { name: "Object", description: "The object that this event is about." },
      wide({ name: "Subobject", description: "The subobject of the object that this event is about." }),
      wide({ name: "Source", description: "The component reporting this event." }),
      { name: "Message", description: "A human-readable description of the status of this operation." },
      wide({ name: "First Seen", description: "The time at which the event was first recorded." }),
      wide({ name: "Count", type: "string", description: "The number of times this event has occurred." }),
      wide(NAME),
    ],
    cells: (obj, now) => {
      const e = obj as Event & { series?: { count?: number; lastObservedTime?: string }; reportingController?: string };
      let first = ageSince(e.firstTimestamp, now);
      if (!e.firstTimestamp) first = ageSince(e.eventTime ?? undefined, now);
      let last = e.lastTimestamp ? ageSince(e.lastTimestamp, now) : first;
      let count = e.count ?? 0;
      if (e.series !== undefined) {
        last = ageSince(e.series.lastObservedTime, now);
        count = e.series.count ?? count;
      } else if (count === 0) count = 1;
      const io = e.involvedObject ?? {};
      const target = io.name ? `${(io.kind ?? "").toLowerCase()}/${io.name}` : (io.kind ?? "").toLowerCase();
      const source = e.source?.component
        ? e.source.host
          ? `${e.source.component}, ${e.source.host}`
          : e.source.component
        : e.reportingComponent
          ? e.reportingInstance
            ? `${e.reportingComponent}, ${e.reportingInstance}`
            : e.reportingComponent
          : "";
      return [last, e.type ?? "", e.reason ?? "", target, io.fieldPath ?? "", source, (e.message ?? "").trim(), first, count, e.metadata.name];
    },
  },
  HorizontalPodAutoscaler: {
    columns: [
      NAME,
      { name: "Reference", description: "Reference to the scaled resource." },
      { name: "Targets", description: "The current and target metric values." },
      { name: "MinPods", description: "The lower limit for the number of pods." },
      { name: "MaxPods", type: "integer", description: "The upper limit for the number of pods." },
      { name: "Replicas", type: "integer", description: "Current number of replicas of pods managed by this autoscaler." },
      AGE,
    ],
    cells: (obj, now) => {
      const h = obj as HorizontalPodAutoscaler;
      const ref = h.spec?.scaleTargetRef;
      return [
        h.metadata.name,
        ref ? `${ref.kind}/${ref.name}` : "",
        formatHpaMetrics(h),
        h.spec?.minReplicas === undefined ? "<unset>" : String(h.spec.minReplicas),
        h.spec?.maxReplicas ?? 0,
        h.status?.currentReplicas ?? 0,
        age(obj, now),
      ];
    },
  },
};

const DEFAULT_PRINTER = {
  columns: [NAME, AGE],
  cells: (obj: KubeObject, now: Date): unknown[] => [obj.metadata?.name ?? "", age(obj, now)],
};

export function serviceExternalIp(svc: Service): string {
  const s = svc.spec ?? {};
  const extra = (s as { externalIPs?: string[] }).externalIPs ?? [];
  switch (s.type ?? "ClusterIP") {
    case "ClusterIP":
    case "NodePort":
      return extra.length > 0 ? extra.join(",") : "<none>";
    case "LoadBalancer": {
      const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || "").filter((x) => x !== "");
      const all = [...ingress, ...extra];
      return all.length > 0 ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return s.externalName ?? "";
    default:
      return "<unknown>";
  }
}

export function servicePorts(svc: Service): string {
  const ports = svc.spec?.ports ?? [];
  if (ports.length === 0) return "<none>";
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? "TCP"}` : `${p.port}/${p.protocol ?? "TCP"}`)).join(",");
}

export function nodeStatus(n: Node): string {
  const conds = n.status?.conditions ?? [];
  const ready = conds.find((c) => c.type === "Ready");
  const parts: string[] = [];
  if (ready === undefined) parts.push("Unknown");
  else parts.push(ready.status === "True" ? "Ready" : ready.status === "False" ? "NotReady" : "Unknown");
  if (n.spec?.unschedulable) parts.push("SchedulingDisabled");
  return parts.join(",");
}

export function nodeRoles(n: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(n.metadata?.labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const r = k.slice("node-role.kubernetes.io/".length);
      if (r !== "") roles.add(r);
    } else if (k === "kubernetes.io/role" && v !== "") roles.add(v);
  }
  return roles.size === 0 ? "<none>" : [...roles].sort().join(",");
}

export function formatEndpoints(ep: Endpoints): string {
  const max = 3;
  const list: string[] = [];
  let count = 0;
  let more = false;
  for (const ss of ep.subsets ?? []) {
    const ports = ss.ports ?? [];
    for (const a of ss.addresses ?? []) {
      if (ports.length === 0) {
        count++;
        if (list.length < max) list.push(a.ip);
        else more = true;
      } else {
        for (const p of ports) {
          count++;
          if (list.length < max) list.push(`${a.ip}:${p.port}`);
          else more = true;
        }
      }
    }
  }
  if (list.length === 0) return "<none>";
  return more ? `${list.join(",")} + ${count - max} more...` : list.join(",");
}

export function formatHpaMetrics(h: HorizontalPodAutoscaler): string {
  const specs = h.spec?.metrics ?? [];
  const statuses = h.status?.currentMetrics ?? [];
  if (specs.length === 0) return "<none>";
  const max = 2;
  const list: string[] = [];
  for (let i = 0; i < specs.length && list.length < max; i++) {
    const spec = specs[i];
    if (spec === undefined) continue;
    const st = statuses[i];
    if (spec.type === "Resource" && spec.resource !== undefined) {
      const t = spec.resource.target ?? { type: "Utilization" };
      if (t.averageValue !== undefined) {
        const cur = st?.resource?.current?.averageValue ?? "<unknown>";
        list.push(`${spec.resource.name}: ${cur}/${t.averageValue}`);
      } else {
        const cu = st?.resource?.current?.averageUtilization;
        const cur = cu === undefined ? "<unknown>" : `${cu}%`;
        const target = t.averageUtilization === undefined ? "<auto>" : `${t.averageUtilization}%`;
        list.push(`${spec.resource.name}: ${cur}/${target}`);
      }
    } else {
      list.push(`<${spec.type.toLowerCase()}>`);
    }
  }
  const ret = list.join(", ");
  return specs.length > max ? `${ret} + ${specs.length - max} more...` : ret;
}

function columnDefinition(c: Col): TableColumnDefinition {
  return {
    name: c.name,
    type: c.type ?? "string",
    format: c.format ?? "",
    description: c.description ?? "",
    priority: c.priority ?? 0,
  };
}

/** The kinds that have their own columns (others get Name and Age). */
export function hasCustomColumns(kind: string): boolean {
  return Object.prototype.hasOwnProperty.call(PRINTERS, kind);
}

/**
 * A Table of `objects` of `info`'s kind. With `wide` every column (priority 1
 * too), as the API server returns it; without, only the default columns.
 */
export function tableFor(info: ResourceInfo, objects: KubeObject[], opts: TableOptions = {}): TableData {
  const printer = PRINTERS[info.kind] ?? DEFAULT_PRINTER;
  const now = opts.now ?? new Date();
  const cols = printer.columns.map(columnDefinition);
  const keep = cols.map((c) => opts.wide === true || c.priority === 0);
  return {
    columnDefinitions: cols.filter((_, i) => keep[i]),
    rows: objects.map((o) => {
      const cells = printer.cells(o, now);
      return { cells: cells.filter((_, i) => keep[i]), object: o };
    }),
  };
}

