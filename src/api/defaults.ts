// Defaults the API server fills in on create and update, as Kubernetes'
// defaulting functions do (pkg/apis/*/v1/defaults.go), so that readers of
// stored objects (scheduler, controllers, kubelet, kubectl) find them set.
// Defaulting mutates the object in place and never overwrites a set field.

import { setOwn } from "./patch.js";
import { compareQuantity } from "./quantity.js";
import type { ResourceInfo } from "./resources.js";
import type {
  Container,
  ContainerPort,
  Deployment,
  HorizontalPodAutoscaler,
  KubeObject,
  Namespace,
  Node,
  PodSpec,
  PodTemplateSpec,
  Probe,
  ReplicaSet,
  Secret,
  Service,
} from "./types.js";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function setDefault<T extends object, K extends keyof T>(obj: T, key: K, value: T[K]): void {
  if (obj[key] === undefined || obj[key] === null) obj[key] = value;
}

/**
 * For fields that are not pointers in Kubernetes' Go types: there "" and 0
 * are the unset value, so they get the default too (periodSeconds: 0 becomes
 * 10, restartPolicy: "" becomes Always), as kube-apiserver's defaulting does.
 */
function setDefaultZero<T extends object, K extends keyof T>(obj: T, key: K, value: T[K]): void {
  const v: unknown = obj[key];
  if (v === undefined || v === null || v === "" || v === 0) obj[key] = value;
}

/** imagePullPolicy: Always for ":latest" or an untagged image, IfNotPresent otherwise. */
export function defaultPullPolicy(image: unknown): "Always" | "IfNotPresent" {
  if (typeof image !== "string" || image === "") return "IfNotPresent";
  // A digest pins the image: never "latest".
  if (image.includes("@")) return "IfNotPresent";
  const lastSlash = image.lastIndexOf("/");
  const lastPart = image.slice(lastSlash + 1);
  const colon = lastPart.lastIndexOf(":");
  if (colon < 0) return "Always";
  return lastPart.slice(colon + 1) === "latest" ? "Always" : "IfNotPresent";
}

function defaultProbe(p: Probe | undefined): void {
  if (!isRecord(p)) return;
  setDefaultZero(p, "timeoutSeconds", 1);
  setDefaultZero(p, "periodSeconds", 10);
  setDefaultZero(p, "successThreshold", 1);
  setDefaultZero(p, "failureThreshold", 3);
  if (isRecord(p.httpGet)) {
    setDefaultZero(p.httpGet, "path", "/");
    setDefaultZero(p.httpGet, "scheme", "HTTP");
  }
  if (isRecord(p.grpc)) setDefault(p.grpc, "service", "");
}

function defaultContainer(c: Container): void {
  if (!isRecord(c)) return;
  setDefaultZero(c, "terminationMessagePath", "/dev/termination-log");
  setDefaultZero(c, "terminationMessagePolicy", "File");
  setDefaultZero(c, "imagePullPolicy", defaultPullPolicy(c.image));
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isRecord(p)) setDefaultZero(p as ContainerPort, "protocol", "TCP");
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  for (const h of [c.lifecycle?.postStart, c.lifecycle?.preStop]) {
    if (isRecord(h) && isRecord(h.httpGet)) {
      setDefaultZero(h.httpGet, "path", "/");
      setDefaultZero(h.httpGet, "scheme", "HTTP");
    }
  }
  if (isRecord(c.resources)) {
    // Limits without requests: requests default to the limits (Kubernetes' rule).
    const r = c.resources;
    if (isRecord(r.limits)) {
      const requests: Record<string, string> = isRecord(r.requests) ? (r.requests as Record<string, string>) : {};
      for (const [k, v] of Object.entries(r.limits)) if (!Object.prototype.hasOwnProperty.call(requests, k)) setOwn(requests, k, v);
      r.requests = requests;
    }
  } else if (c.resources === undefined || c.resources === null) {
    c.resources = {};
  }
  if (Array.isArray(c.env)) {
    for (const e of c.env) {
      if (isRecord(e) && isRecord(e.valueFrom) && isRecord(e.valueFrom.fieldRef)) setDefault(e.valueFrom.fieldRef, "apiVersion", "v1");
    }
  }
}

/** Pod spec defaults (also for templates of deployments and replicasets). */
export function defaultPodSpec(spec: PodSpec): void {
  if (!isRecord(spec)) return;
  setDefaultZero(spec, "restartPolicy", "Always");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefaultZero(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "securityContext", {});
  setDefaultZero(spec, "schedulerName", "default-scheduler");
  setDefault(spec, "enableServiceLinks", true);
  // serviceAccount is the deprecated alias Kubernetes keeps in sync.
  if (spec.serviceAccountName === undefined && typeof (spec as Record<string, unknown>).serviceAccount === "string") {
    spec.serviceAccountName = (spec as Record<string, unknown>).serviceAccount as string;
  }
  if (Array.isArray(spec.containers)) spec.containers.forEach(defaultContainer);
  if (spec.hostNetwork === true) {
    // With the host's network a container port is a host port (Kubernetes' SetDefaults_Pod).
    for (const c of [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])]) {
      if (!isRecord(c) || !Array.isArray(c.ports)) continue;
      for (const p of c.ports) if (isRecord(p) && (p.hostPort === undefined || p.hostPort === 0)) p.hostPort = p.containerPort;
    }
  }
  if (Array.isArray(spec.initContainers)) spec.initContainers.forEach(defaultContainer);
  if (Array.isArray(spec.volumes)) {
    for (const v of spec.volumes) {
      if (!isRecord(v)) continue;
      if (isRecord(v.configMap)) setDefault(v.configMap, "defaultMode", 0o644);
      if (isRecord(v.secret)) setDefault(v.secret, "defaultMode", 0o644);
      if (isRecord(v.hostPath)) setDefault(v.hostPath, "type", "");
    }
  }
  if (Array.isArray(spec.tolerations)) {
    for (const t of spec.tolerations) if (isRecord(t) && t.operator === undefined) t.operator = "Equal";
  }
}

function defaultTemplate(t: PodTemplateSpec | undefined): void {
  if (!isRecord(t)) return;
  if (isRecord(t.spec)) defaultPodSpec(t.spec);
}

const QOS_RESOURCES = ["cpu", "memory"];

/**
 * The pod's QoS class as Kubernetes computes it: BestEffort when no container
 * sets a cpu or memory request or limit, Guaranteed when every container's
 * cpu and memory limits are set and equal to its requests, Burstable otherwise.
 */
export function computeQosClass(spec: PodSpec): "Guaranteed" | "Burstable" | "BestEffort" {
  const all = [...(Array.isArray(spec.initContainers) ? spec.initContainers : []), ...(Array.isArray(spec.containers) ? spec.containers : [])];
  let any = false;
  let guaranteed = true;
  for (const c of all) {
    const req: Record<string, unknown> = isRecord(c?.resources?.requests) ? c.resources.requests : {};
    const lim: Record<string, unknown> = isRecord(c?.resources?.limits) ? c.resources.limits : {};
    for (const r of QOS_RESOURCES) {
      const zero = (v: unknown): boolean => v === undefined || v === null || v === 0 || v === "0";
      if (!zero(req[r]) || !zero(lim[r])) any = true;
      if (zero(lim[r])) guaranteed = false;
      // Requests equal limits when unset (they default to the limits).
      else if (!zero(req[r]) && compareQuantitySafe(req[r], lim[r]) !== 0) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

function compareQuantitySafe(a: unknown, b: unknown): number {
  try {
    return compareQuantity(String(a), String(b));
  } catch {
    // An invalid quantity is refused by validation; here it only decides a class.
    return -1;
  }
}

function defaultPod(obj: KubeObject): void {
  const spec = obj.spec;
  if (!isRecord(spec)) return;
  defaultPodSpec(spec as unknown as PodSpec);
  // A pod that does not run yet starts Pending with the BestEffort/Burstable class computed by the kubelet.
  if (obj.status === undefined || obj.status === null) obj.status = {};
  if (!isRecord(obj.status)) return;
  const status = obj.status as Record<string, unknown>;
  setDefault(status, "phase", "Pending");
  setDefault(status, "qosClass", computeQosClass(spec as unknown as PodSpec));
}

function defaultService(svc: Service): void {
  if (!isRecord(svc.spec)) return;
  const s = svc.spec;
  setDefaultZero(s, "type", "ClusterIP");
  if (s.type !== "ExternalName") setDefaultZero(s, "sessionAffinity", "None");
  if (s.type === "NodePort" || s.type === "LoadBalancer") setDefaultZero(s, "externalTrafficPolicy", "Cluster");
  if (s.type !== "ExternalName") setDefault(s, "internalTrafficPolicy", "Cluster");
  if (s.type !== "ExternalName") {
    // Single-stack IPv4, as kube-apiserver fills them in; clusterIPs mirrors clusterIP.
    setDefault(s, "ipFamilyPolicy", "SingleStack");
    setDefault(s, "ipFamilies", ["IPv4"]);
    if (typeof s.clusterIP === "string" && s.clusterIP !== "" && (s.clusterIPs === undefined || s.clusterIPs === null)) {
      s.clusterIPs = [s.clusterIP];
    }
  }
  if (Array.isArray(s.ports)) {
    for (const p of s.ports) {
      if (!isRecord(p)) continue;
      setDefaultZero(p, "protocol", "TCP");
      setDefaultZero(p, "targetPort", p.port);
    }
  }
  if (svc.status === undefined || svc.status === null) svc.status = { loadBalancer: {} };
}

function defaultReplicated(obj: Deployment | ReplicaSet): void {
  if (!isRecord(obj.spec)) return;
  setDefault(obj.spec, "replicas", 1);
  defaultTemplate(obj.spec.template);
}

function defaultDeployment(d: Deployment): void {
  if (!isRecord(d.spec)) return;
  defaultReplicated(d);
  const s = d.spec;
  setDefault(s, "strategy", {});
  if (!isRecord(s.strategy)) return;
  const strategy = s.strategy as NonNullable<typeof s.strategy>;
  setDefaultZero(strategy, "type", "RollingUpdate");
  if (strategy.type === "RollingUpdate") {
    setDefault(strategy, "rollingUpdate", {});
    if (!isRecord(strategy.rollingUpdate)) return;
    const ru = strategy.rollingUpdate as NonNullable<typeof strategy.rollingUpdate>;
    setDefault(ru, "maxUnavailable", "25%");
    setDefault(ru, "maxSurge", "25%");
  }
  setDefault(s, "revisionHistoryLimit", 10);
  setDefault(s, "progressDeadlineSeconds", 600);
}

function defaultHpa(h: HorizontalPodAutoscaler): void {
  if (!isRecord(h.spec)) return;
  setDefault(h.spec, "minReplicas", 1);
  const metrics: unknown = h.spec.metrics;
  if (metrics === undefined || metrics === null || (Array.isArray(metrics) && metrics.length === 0)) {
    h.spec.metrics = [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }];
  }
  // Kubernetes fills in the default scaling behaviour too.
  if (isRecord(h.spec.behavior)) {
    const b = h.spec.behavior;
    if (isRecord(b.scaleUp)) {
      setDefault(b.scaleUp, "stabilizationWindowSeconds", 0);
      setDefault(b.scaleUp, "selectPolicy", "Max");
      setDefault(b.scaleUp, "policies", [
        { type: "Pods", value: 4, periodSeconds: 15 },
        { type: "Percent", value: 100, periodSeconds: 15 },
      ]);
    }
    if (isRecord(b.scaleDown)) {
      setDefault(b.scaleDown, "selectPolicy", "Max");
      setDefault(b.scaleDown, "policies", [{ type: "Percent", value: 100, periodSeconds: 15 }]);
    }
  }
}

function defaultNamespace(ns: Namespace): void {
  // spec.finalizers ["kubernetes"] is left out on purpose: in Kubernetes the
  // namespace controller removes it, and a finalizer nobody removes would keep
  // a deleted namespace Terminating for ever.
  if (ns.status === undefined || ns.status === null) ns.status = {};
  if (!isRecord(ns.status)) return;
  setDefaultZero(ns.status as NonNullable<Namespace["status"]>, "phase", "Active");
  // The well-known name label Kubernetes sets on every namespace.
  const name = ns.metadata?.name;
  const labels: unknown = ns.metadata.labels;
  if (typeof name === "string" && name !== "" && (labels === undefined || labels === null || isRecord(labels))) {
    ns.metadata.labels = { ...(ns.metadata.labels ?? {}), "kubernetes.io/metadata.name": name };
  }
}

function defaultSecret(s: Secret): void {
  setDefaultZero(s, "type", "Opaque");
  if (isRecord(s.stringData) && (s.data === undefined || s.data === null || isRecord(s.data))) {
    // stringData is write-only: folded into data (base64), then dropped.
    s.data = isRecord(s.data) ? s.data : {};
    for (const [k, v] of Object.entries(s.stringData)) {
      if (typeof v === "string") setOwn(s.data, k, Buffer.from(v, "utf8").toString("base64"));
    }
    delete s.stringData;
  }
}

function defaultNode(n: Node): void {
  if (n.spec === undefined || n.spec === null) n.spec = {};
  if (n.status === undefined || n.status === null) n.status = {};
  if (!isRecord(n.status)) return;
  const st = n.status as NonNullable<Node["status"]>;
  // Allocatable defaults to capacity when the kubelet reports none.
  if (isRecord(st.capacity) && !isRecord(st.allocatable)) st.allocatable = { ...st.capacity };
}

/** Fills in Kubernetes' defaults for an object of `info`'s kind, in place. */
export function applyDefaults(info: ResourceInfo, obj: KubeObject): void {
  if (!isRecord(obj)) return;
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  switch (info.kind) {
    case "Pod":
      defaultPod(obj);
      break;
    case "Service":
      defaultService(obj as Service);
      break;
    case "Deployment":
      defaultDeployment(obj as Deployment);
      break;
    case "ReplicaSet":
      defaultReplicated(obj as ReplicaSet);
      break;
    case "HorizontalPodAutoscaler":
      defaultHpa(obj as HorizontalPodAutoscaler);
      break;
    case "Namespace":
      defaultNamespace(obj as Namespace);
      break;
    case "Secret":
      defaultSecret(obj as Secret);
      break;
    case "Node":
      defaultNode(obj as Node);
      break;
    default:
      break;
  }
}
