// A compact, machine-readable schema of every object type in types.ts: field
// names and types, nesting, lists and maps, required fields and the patch
// merge keys and strategies of Kubernetes' Go struct tags. It drives unknown-
// field detection (fieldValidation=Strict), strategic merge patch, and the
// OpenAPI v3 documents the API server publishes (which kubectl reads).
//
// Definitions are written in a small type language to keep this file short:
//   "string" "int32" "int64" "number" "bool" "ios" (int-or-string)
//   "quantity" "time" "bytes" "any" (free-form), "Name" (a named object),
//   "[]T" list (atomic), "[]T@key" list merged by key, "[]T@key+retain"
//   merged by key with retainKeys, "[]string+set" a primitive list merged as
//   a set, "{}T" a map, a trailing "!" marks the field required, "Name^retain"
//   an object whose patch strategy is retainKeys.

import { RESOURCES, type ResourceInfo } from "./resources.js";

export type FieldSchema =
  | { kind: "string"; enum?: readonly string[] }
  | { kind: "integer"; format: "int32" | "int64" }
  | { kind: "number" }
  | { kind: "boolean" }
  | { kind: "intOrString" }
  | { kind: "quantity" }
  | { kind: "time" }
  | { kind: "bytes" }
  /** free-form: anything goes, nothing below it is checked */
  | { kind: "any" }
  | { kind: "object"; ref: string; retainKeys?: boolean }
  | {
      kind: "array";
      items: FieldSchema;
      /** patch merge key of a list of objects (containers: "name") */
      mergeKey?: string;
      /** "merge" (by mergeKey, or as a set for primitives), "replace" (atomic) */
      strategy: "merge" | "replace";
      retainKeys?: boolean;
    }
  | { kind: "map"; values: FieldSchema };

export interface ObjectSchema {
  /** short name, unique here: "Pod", "Container", "ObjectMeta" */
  name: string;
  /** the OpenAPI definition name Kubernetes uses: "io.k8s.api.core.v1.Pod" */
  openApiName: string;
  description: string;
  fields: Readonly<Record<string, FieldSchema>>;
  required: readonly string[];
  /** set on top-level kinds */
  gvk?: { group: string; version: string; kind: string };
}

const CORE = "io.k8s.api.core.v1.";
const APPS = "io.k8s.api.apps.v1.";
const META = "io.k8s.apimachinery.pkg.apis.meta.v1.";
const COORD = "io.k8s.api.coordination.v1.";
const AS2 = "io.k8s.api.autoscaling.v2.";
const AS1 = "io.k8s.api.autoscaling.v1.";

function parseType(t: string): FieldSchema {
  if (t.startsWith("[]")) {
    let rest = t.slice(2);
    let retainKeys = false;
    let set = false;
    if (rest.endsWith("+retain")) {
      retainKeys = true;
      rest = rest.slice(0, -"+retain".length);
    }
    if (rest.endsWith("+set")) {
      set = true;
      rest = rest.slice(0, -"+set".length);
    }
    const at = rest.indexOf("@");
    if (at >= 0) {
      return { kind: "array", items: parseType(rest.slice(0, at)), mergeKey: rest.slice(at + 1), strategy: "merge", retainKeys };
    }
    return { kind: "array", items: parseType(rest), strategy: set ? "merge" : "replace" };
  }
  if (t.startsWith("{}")) return { kind: "map", values: parseType(t.slice(2)) };
  switch (t) {
    case "string":
      return { kind: "string" };
    case "int32":
    case "int64":
      return { kind: "integer", format: t };
    case "number":
      return { kind: "number" };
    case "bool":
      return { kind: "boolean" };
    case "ios":
      return { kind: "intOrString" };
    case "quantity":
      return { kind: "quantity" };
    case "time":
      return { kind: "time" };
    case "bytes":
      return { kind: "bytes" };
    case "any":
      return { kind: "any" };
  }
  if (t.endsWith("^retain")) return { kind: "object", ref: t.slice(0, -"^retain".length), retainKeys: true };
  if (/^[A-Z]/.test(t)) return { kind: "object", ref: t };
  if (t.includes("|")) return { kind: "string", enum: t.split("|") };
  throw new Error(`schema: unknown type ${t}`);
}

const SCHEMAS = new Map<string, ObjectSchema>();

function def(name: string, openApiPrefix: string, fields: Record<string, string>, description = ""): void {
  const parsed: Record<string, FieldSchema> = {};
  const required: string[] = [];
  for (const [f, t] of Object.entries(fields)) {
    const req = t.endsWith("!");
    parsed[f] = parseType(req ? t.slice(0, -1) : t);
    if (req) required.push(f);
  }
  SCHEMAS.set(name, { name, openApiName: openApiPrefix + name, description, fields: parsed, required });
}

function kind(name: string, group: string, version: string, prefix: string, fields: Record<string, string>, description: string): void {
  def(name, prefix, { apiVersion: "string", kind: "string", metadata: "ObjectMeta", ...fields }, description);
  const s = SCHEMAS.get(name) as ObjectSchema;
  SCHEMAS.set(name, { ...s, gvk: { group, version, kind: name } });
}

// ------------------------------------------------------------------ meta/v1

def("OwnerReference", META, {
  apiVersion: "string!",
  kind: "string!",
  name: "string!",
  uid: "string!",
  controller: "bool",
  blockOwnerDeletion: "bool",
});
def("ManagedFieldsEntry", META, {
  manager: "string",
  operation: "string",
  apiVersion: "string",
  time: "time",
  fieldsType: "string",
  fieldsV1: "any",
  subresource: "string",
});
def("ObjectMeta", META, {
  name: "string",
  generateName: "string",
  namespace: "string",
  selfLink: "string",
  uid: "string",
  resourceVersion: "string",
  generation: "int64",
  creationTimestamp: "time",
  deletionTimestamp: "time",
  deletionGracePeriodSeconds: "int64",
  labels: "{}string",
  annotations: "{}string",
  ownerReferences: "[]OwnerReference@uid",
  finalizers: "[]string+set",
  managedFields: "[]ManagedFieldsEntry",
});
def("ListMeta", META, { resourceVersion: "string", continue: "string", remainingItemCount: "int64", selfLink: "string" });
def("LabelSelectorRequirement", META, { key: "string!", operator: "string!", values: "[]string" });
def("LabelSelector", META, { matchLabels: "{}string", matchExpressions: "[]LabelSelectorRequirement" });
def("Condition", META, {
  type: "string!",
  status: "string!",
  lastTransitionTime: "time",
  lastUpdateTime: "time",
  lastHeartbeatTime: "time",
  lastProbeTime: "time",
  reason: "string",
  message: "string",
  observedGeneration: "int64",
});
def("StatusCause", META, { reason: "string", message: "string", field: "string" });
def("StatusDetails", META, {
  name: "string",
  group: "string",
  kind: "string",
  uid: "string",
  causes: "[]StatusCause",
  retryAfterSeconds: "int32",
});
def("Preconditions", META, { uid: "string", resourceVersion: "string" });
def("DeleteOptions", META, {
  apiVersion: "string",
  kind: "string",
  gracePeriodSeconds: "int64",
  preconditions: "Preconditions",
  orphanDependents: "bool",
  propagationPolicy: "string",
  dryRun: "[]string",
  ignoreStoreReadErrorWithClusterBreakingPotential: "bool",
});
def("Status", META, {
  apiVersion: "string",
  kind: "string",
  metadata: "ListMeta",
  status: "string",
  message: "string",
  reason: "string",
  details: "StatusDetails",
  code: "int32",
});

// ------------------------------------------------------------------ core/v1

def("NamespaceSpec", CORE, { finalizers: "[]string" });
def("NamespaceStatus", CORE, { phase: "string", conditions: "[]Condition@type" });
kind("Namespace", "", "v1", CORE, { spec: "NamespaceSpec", status: "NamespaceStatus" }, "Namespace provides a scope for Names.");

def("Taint", CORE, { key: "string!", value: "string", effect: "string!", timeAdded: "time" });
def("Toleration", CORE, { key: "string", operator: "string", value: "string", effect: "string", tolerationSeconds: "int64" });
def("NodeAddress", CORE, { type: "string!", address: "string!" });
def("NodeSystemInfo", CORE, {
  machineID: "string!",
  systemUUID: "string!",
  bootID: "string!",
  kernelVersion: "string!",
  osImage: "string!",
  containerRuntimeVersion: "string!",
  kubeletVersion: "string!",
  kubeProxyVersion: "string!",
  operatingSystem: "string!",
  architecture: "string!",
});
def("DaemonEndpoint", CORE, { Port: "int32!" });
def("NodeDaemonEndpoints", CORE, { kubeletEndpoint: "DaemonEndpoint" });
def("ContainerImage", CORE, { names: "[]string", sizeBytes: "int64" });
def("NodeSpec", CORE, {
  podCIDR: "string",
  podCIDRs: "[]string+set",
  providerID: "string",
  unschedulable: "bool",
  taints: "[]Taint",
  externalID: "string",
});
def("NodeStatus", CORE, {
  capacity: "{}quantity",
  allocatable: "{}quantity",
  phase: "string",
  conditions: "[]Condition@type",
  addresses: "[]NodeAddress@type",
  daemonEndpoints: "NodeDaemonEndpoints",
  nodeInfo: "NodeSystemInfo",
  images: "[]ContainerImage",
});
kind("Node", "", "v1", CORE, { spec: "NodeSpec", status: "NodeStatus" }, "Node is a worker node in Kubernetes.");

def("KeyToPath", CORE, { key: "string!", path: "string!", mode: "int32" });
def("EmptyDirVolumeSource", CORE, { medium: "string", sizeLimit: "quantity" });
def("ConfigMapVolumeSource", CORE, { name: "string", items: "[]KeyToPath", defaultMode: "int32", optional: "bool" });
def("SecretVolumeSource", CORE, { secretName: "string", items: "[]KeyToPath", defaultMode: "int32", optional: "bool" });
def("HostPathVolumeSource", CORE, { path: "string!", type: "string" });
def("PersistentVolumeClaimVolumeSource", CORE, { claimName: "string!", readOnly: "bool" });
def("DownwardAPIVolumeFile", CORE, {
  path: "string!",
  fieldRef: "ObjectFieldSelector",
  resourceFieldRef: "ResourceFieldSelector",
  mode: "int32",
});
def("DownwardAPIVolumeSource", CORE, { items: "[]DownwardAPIVolumeFile", defaultMode: "int32" });
def("DownwardAPIProjection", CORE, { items: "[]DownwardAPIVolumeFile" });
def("ConfigMapProjection", CORE, { name: "string", items: "[]KeyToPath", optional: "bool" });
def("SecretProjection", CORE, { name: "string", items: "[]KeyToPath", optional: "bool" });
def("ServiceAccountTokenProjection", CORE, { audience: "string", expirationSeconds: "int64", path: "string!" });
def("VolumeProjection", CORE, {
  configMap: "ConfigMapProjection",
  secret: "SecretProjection",
  downwardAPI: "DownwardAPIProjection",
  serviceAccountToken: "ServiceAccountTokenProjection",
  clusterTrustBundle: "any",
  podCertificate: "any",
});
def("ProjectedVolumeSource", CORE, { sources: "[]VolumeProjection", defaultMode: "int32" });
def("NFSVolumeSource", CORE, { server: "string!", path: "string!", readOnly: "bool" });
def("CSIVolumeSource", CORE, {
  driver: "string!",
  readOnly: "bool",
  fsType: "string",
  volumeAttributes: "{}string",
  nodePublishSecretRef: "LocalObjectReference",
});
def("Volume", CORE, {
  name: "string!",
  emptyDir: "EmptyDirVolumeSource",
  configMap: "ConfigMapVolumeSource",
  secret: "SecretVolumeSource",
  hostPath: "HostPathVolumeSource",
  persistentVolumeClaim: "PersistentVolumeClaimVolumeSource",
  projected: "ProjectedVolumeSource",
  downwardAPI: "DownwardAPIVolumeSource",
  nfs: "NFSVolumeSource",
  csi: "CSIVolumeSource",
  ephemeral: "any",
  image: "any",
});
def("VolumeMount", CORE, {
  name: "string!",
  mountPath: "string!",
  readOnly: "bool",
  subPath: "string",
  subPathExpr: "string",
  mountPropagation: "string",
  recursiveReadOnly: "string",
});
def("VolumeDevice", CORE, { name: "string!", devicePath: "string!" });
def("ObjectFieldSelector", CORE, { apiVersion: "string", fieldPath: "string!" });
def("ResourceFieldSelector", CORE, { containerName: "string", resource: "string!", divisor: "quantity" });
def("ConfigMapKeySelector", CORE, { name: "string", key: "string!", optional: "bool" });
def("SecretKeySelector", CORE, { name: "string", key: "string!", optional: "bool" });
def("EnvVarSource", CORE, {
  fieldRef: "ObjectFieldSelector",
  resourceFieldRef: "ResourceFieldSelector",
  configMapKeyRef: "ConfigMapKeySelector",
  secretKeyRef: "SecretKeySelector",
});
def("EnvVar", CORE, { name: "string!", value: "string", valueFrom: "EnvVarSource" });
def("ConfigMapEnvSource", CORE, { name: "string", optional: "bool" });
def("SecretEnvSource", CORE, { name: "string", optional: "bool" });
def("EnvFromSource", CORE, { prefix: "string", configMapRef: "ConfigMapEnvSource", secretRef: "SecretEnvSource" });
def("ContainerPort", CORE, {
  name: "string",
  containerPort: "int32!",
  hostPort: "int32",
  hostIP: "string",
  protocol: "string",
});
def("ResourceClaim", CORE, { name: "string!", request: "string" });
def("ResourceRequirements", CORE, { limits: "{}quantity", requests: "{}quantity", claims: "[]ResourceClaim@name" });
def("ContainerResizePolicy", CORE, { resourceName: "string!", restartPolicy: "string!" });
def("HTTPHeader", CORE, { name: "string!", value: "string!" });
def("ExecAction", CORE, { command: "[]string" });
def("HTTPGetAction", CORE, { path: "string", port: "ios!", host: "string", scheme: "string", httpHeaders: "[]HTTPHeader" });
def("TCPSocketAction", CORE, { port: "ios!", host: "string" });
def("GRPCAction", CORE, { port: "int32!", service: "string" });
def("SleepAction", CORE, { seconds: "int64!" });
def("Probe", CORE, {
  exec: "ExecAction",
  httpGet: "HTTPGetAction",
  tcpSocket: "TCPSocketAction",
  grpc: "GRPCAction",
  initialDelaySeconds: "int32",
  timeoutSeconds: "int32",
  periodSeconds: "int32",
  successThreshold: "int32",
  failureThreshold: "int32",
  terminationGracePeriodSeconds: "int64",
});
def("LifecycleHandler", CORE, { exec: "ExecAction", httpGet: "HTTPGetAction", tcpSocket: "TCPSocketAction", sleep: "SleepAction" });
def("Lifecycle", CORE, { postStart: "LifecycleHandler", preStop: "LifecycleHandler", stopSignal: "string" });
def("Capabilities", CORE, { add: "[]string", drop: "[]string" });
def("SELinuxOptions", CORE, { user: "string", role: "string", type: "string", level: "string" });
def("WindowsSecurityContextOptions", CORE, {
  gmsaCredentialSpecName: "string",
  gmsaCredentialSpec: "string",
  runAsUserName: "string",
  hostProcess: "bool",
});
def("SeccompProfile", CORE, { type: "string!", localhostProfile: "string" });
def("AppArmorProfile", CORE, { type: "string!", localhostProfile: "string" });
def("SecurityContext", CORE, {
  capabilities: "Capabilities",
  privileged: "bool",
  seLinuxOptions: "SELinuxOptions",
  windowsOptions: "WindowsSecurityContextOptions",
  runAsUser: "int64",
  runAsGroup: "int64",
  runAsNonRoot: "bool",
  readOnlyRootFilesystem: "bool",
  allowPrivilegeEscalation: "bool",
  procMount: "string",
  seccompProfile: "SeccompProfile",
  appArmorProfile: "AppArmorProfile",
});
def("Sysctl", CORE, { name: "string!", value: "string!" });
def("PodSecurityContext", CORE, {
  seLinuxOptions: "SELinuxOptions",
  windowsOptions: "WindowsSecurityContextOptions",
  runAsUser: "int64",
  runAsGroup: "int64",
  runAsNonRoot: "bool",
  supplementalGroups: "[]int64",
  supplementalGroupsPolicy: "string",
  fsGroup: "int64",
  fsGroupChangePolicy: "string",
  sysctls: "[]Sysctl",
  seccompProfile: "SeccompProfile",
  appArmorProfile: "AppArmorProfile",
  seLinuxChangePolicy: "string",
});
def("Container", CORE, {
  name: "string!",
  image: "string",
  command: "[]string",
  args: "[]string",
  workingDir: "string",
  ports: "[]ContainerPort@containerPort",
  env: "[]EnvVar@name",
  envFrom: "[]EnvFromSource",
  resources: "ResourceRequirements",
  resizePolicy: "[]ContainerResizePolicy",
  restartPolicy: "string",
  volumeMounts: "[]VolumeMount@mountPath",
  volumeDevices: "[]VolumeDevice@devicePath",
  livenessProbe: "Probe",
  readinessProbe: "Probe",
  startupProbe: "Probe",
  lifecycle: "Lifecycle",
  terminationMessagePath: "string",
  terminationMessagePolicy: "string",
  imagePullPolicy: "string",
  securityContext: "SecurityContext",
  stdin: "bool",
  stdinOnce: "bool",
  tty: "bool",
});
{
  const container = SCHEMAS.get("Container") as ObjectSchema;
  SCHEMAS.set("EphemeralContainer", {
    ...container,
    name: "EphemeralContainer",
    openApiName: `${CORE}EphemeralContainer`,
    fields: { ...container.fields, targetContainerName: { kind: "string" } },
  });
}
def("NodeSelectorRequirement", CORE, { key: "string!", operator: "string!", values: "[]string" });
def("NodeSelectorTerm", CORE, { matchExpressions: "[]NodeSelectorRequirement", matchFields: "[]NodeSelectorRequirement" });
def("NodeSelector", CORE, { nodeSelectorTerms: "[]NodeSelectorTerm!" });
def("PreferredSchedulingTerm", CORE, { weight: "int32!", preference: "NodeSelectorTerm!" });
def("NodeAffinity", CORE, {
  requiredDuringSchedulingIgnoredDuringExecution: "NodeSelector",
  preferredDuringSchedulingIgnoredDuringExecution: "[]PreferredSchedulingTerm",
});
def("PodAffinityTerm", CORE, {
  labelSelector: "LabelSelector",
  namespaces: "[]string",
  namespaceSelector: "LabelSelector",
  topologyKey: "string!",
  matchLabelKeys: "[]string",
  mismatchLabelKeys: "[]string",
});
def("WeightedPodAffinityTerm", CORE, { weight: "int32!", podAffinityTerm: "PodAffinityTerm!" });
def("PodAffinity", CORE, {
  requiredDuringSchedulingIgnoredDuringExecution: "[]PodAffinityTerm",
  preferredDuringSchedulingIgnoredDuringExecution: "[]WeightedPodAffinityTerm",
});
def("PodAntiAffinity", CORE, {
  requiredDuringSchedulingIgnoredDuringExecution: "[]PodAffinityTerm",
  preferredDuringSchedulingIgnoredDuringExecution: "[]WeightedPodAffinityTerm",
});
def("Affinity", CORE, { nodeAffinity: "NodeAffinity", podAffinity: "PodAffinity", podAntiAffinity: "PodAntiAffinity" });
def("TopologySpreadConstraint", CORE, {
  maxSkew: "int32!",
  topologyKey: "string!",
  whenUnsatisfiable: "string!",
  labelSelector: "LabelSelector",
  minDomains: "int32",
  nodeAffinityPolicy: "string",
  nodeTaintsPolicy: "string",
  matchLabelKeys: "[]string",
});
def("LocalObjectReference", CORE, { name: "string" });
def("HostAlias", CORE, { ip: "string!", hostnames: "[]string" });
def("PodDNSConfigOption", CORE, { name: "string", value: "string" });
def("PodDNSConfig", CORE, { nameservers: "[]string", searches: "[]string", options: "[]PodDNSConfigOption" });
def("PodReadinessGate", CORE, { conditionType: "string!" });
def("PodOS", CORE, { name: "string!" });
def("PodSchedulingGate", CORE, { name: "string!" });
def("PodSpec", CORE, {
  containers: "[]Container@name!",
  initContainers: "[]Container@name",
  ephemeralContainers: "[]EphemeralContainer@name",
  volumes: "[]Volume@name+retain",
  restartPolicy: "string",
  terminationGracePeriodSeconds: "int64",
  activeDeadlineSeconds: "int64",
  dnsPolicy: "string",
  dnsConfig: "PodDNSConfig",
  nodeSelector: "{}string",
  serviceAccountName: "string",
  serviceAccount: "string",
  automountServiceAccountToken: "bool",
  nodeName: "string",
  hostNetwork: "bool",
  hostPID: "bool",
  hostIPC: "bool",
  hostUsers: "bool",
  shareProcessNamespace: "bool",
  hostname: "string",
  subdomain: "string",
  setHostnameAsFQDN: "bool",
  hostAliases: "[]HostAlias@ip",
  affinity: "Affinity",
  schedulerName: "string",
  tolerations: "[]Toleration",
  priority: "int32",
  priorityClassName: "string",
  preemptionPolicy: "string",
  runtimeClassName: "string",
  overhead: "{}quantity",
  topologySpreadConstraints: "[]TopologySpreadConstraint@topologyKey",
  securityContext: "PodSecurityContext",
  enableServiceLinks: "bool",
  imagePullSecrets: "[]LocalObjectReference@name",
  readinessGates: "[]PodReadinessGate",
  os: "PodOS",
  schedulingGates: "[]PodSchedulingGate@name",
  resourceClaims: "[]any",
  resources: "ResourceRequirements",
});
def("ContainerStateWaiting", CORE, { reason: "string", message: "string" });
def("ContainerStateRunning", CORE, { startedAt: "time" });
def("ContainerStateTerminated", CORE, {
  exitCode: "int32!",
  signal: "int32",
  reason: "string",
  message: "string",
  startedAt: "time",
  finishedAt: "time",
  containerID: "string",
});
def("ContainerState", CORE, {
  waiting: "ContainerStateWaiting",
  running: "ContainerStateRunning",
  terminated: "ContainerStateTerminated",
});
def("ContainerStatus", CORE, {
  name: "string!",
  state: "ContainerState",
  lastState: "ContainerState",
  ready: "bool!",
  restartCount: "int32!",
  image: "string!",
  imageID: "string!",
  containerID: "string",
  started: "bool",
});
def("PodIP", CORE, { ip: "string" });
def("HostIP", CORE, { ip: "string" });
def("PodStatus", CORE, {
  phase: "string",
  conditions: "[]Condition@type",
  message: "string",
  reason: "string",
  hostIP: "string",
  hostIPs: "[]HostIP@ip",
  podIP: "string",
  podIPs: "[]PodIP@ip",
  startTime: "time",
  initContainerStatuses: "[]ContainerStatus",
  containerStatuses: "[]ContainerStatus",
  ephemeralContainerStatuses: "[]ContainerStatus",
  qosClass: "string",
  nominatedNodeName: "string",
});
kind(
  "Pod",
  "",
  "v1",
  CORE,
  { spec: "PodSpec", status: "PodStatus" },
  "Pod is a collection of containers that can run on a host.",
);
def("PodTemplateSpec", CORE, { metadata: "ObjectMeta", spec: "PodSpec" });
def("BindingTarget", CORE, { apiVersion: "string", kind: "string", name: "string", namespace: "string", uid: "string" });
kind("Binding", "", "v1", CORE, { target: "BindingTarget!" }, "Binding ties one object to another.");

def("ServicePort", CORE, {
  name: "string",
  protocol: "string",
  port: "int32!",
  targetPort: "ios",
  nodePort: "int32",
  appProtocol: "string",
});
def("ClientIPConfig", CORE, { timeoutSeconds: "int32" });
def("SessionAffinityConfig", CORE, { clientIP: "ClientIPConfig" });
def("ServiceSpec", CORE, {
  type: "string",
  selector: "{}string",
  ports: "[]ServicePort@port",
  clusterIP: "string",
  clusterIPs: "[]string",
  externalIPs: "[]string",
  externalName: "string",
  sessionAffinity: "string",
  sessionAffinityConfig: "SessionAffinityConfig",
  externalTrafficPolicy: "string",
  internalTrafficPolicy: "string",
  ipFamilies: "[]string",
  ipFamilyPolicy: "string",
  publishNotReadyAddresses: "bool",
  loadBalancerIP: "string",
  loadBalancerSourceRanges: "[]string",
  loadBalancerClass: "string",
  allocateLoadBalancerNodePorts: "bool",
  healthCheckNodePort: "int32",
  trafficDistribution: "string",
});
def("LoadBalancerIngress", CORE, { ip: "string", hostname: "string", ipMode: "string" });
def("LoadBalancerStatus", CORE, { ingress: "[]LoadBalancerIngress" });
def("ServiceStatus", CORE, { loadBalancer: "LoadBalancerStatus", conditions: "[]Condition@type" });
kind(
  "Service",
  "",
  "v1",
  CORE,
  { spec: "ServiceSpec", status: "ServiceStatus" },
  "Service is a named abstraction of software service.",
);

def("ObjectReference", CORE, {
  apiVersion: "string",
  kind: "string",
  namespace: "string",
  name: "string",
  uid: "string",
  resourceVersion: "string",
  fieldPath: "string",
});
def("EndpointAddress", CORE, { ip: "string!", hostname: "string", nodeName: "string", targetRef: "ObjectReference" });
def("EndpointPort", CORE, { name: "string", port: "int32!", protocol: "string", appProtocol: "string" });
def("EndpointSubset", CORE, {
  addresses: "[]EndpointAddress",
  notReadyAddresses: "[]EndpointAddress",
  ports: "[]EndpointPort",
});
kind("Endpoints", "", "v1", CORE, { subsets: "[]EndpointSubset" }, "Endpoints is a collection of endpoints that implement the actual service.");

def("EventSource", CORE, { component: "string", host: "string" });
def("EventSeries", CORE, { count: "int32", lastObservedTime: "time" });
kind(
  "Event",
  "",
  "v1",
  CORE,
  {
    involvedObject: "ObjectReference!",
    reason: "string",
    message: "string",
    source: "EventSource",
    firstTimestamp: "time",
    lastTimestamp: "time",
    eventTime: "time",
    count: "int32",
    type: "string",
    action: "string",
    related: "ObjectReference",
    series: "EventSeries",
    reportingComponent: "string",
    reportingInstance: "string",
  },
  "Event is a report of an event somewhere in the cluster.",
);
kind(
  "ConfigMap",
  "",
  "v1",
  CORE,
  { data: "{}string", binaryData: "{}bytes", immutable: "bool" },
  "ConfigMap holds configuration data for pods to consume.",
);
kind(
  "Secret",
  "",
  "v1",
  CORE,
  { data: "{}bytes", stringData: "{}string", type: "string", immutable: "bool" },
  "Secret holds secret data of a certain type.",
);

// ------------------------------------------------------------------ apps/v1

def("RollingUpdateDeployment", APPS, { maxSurge: "ios", maxUnavailable: "ios" });
def("DeploymentStrategy", APPS, { type: "string", rollingUpdate: "RollingUpdateDeployment" });
def("DeploymentSpec", APPS, {
  replicas: "int32",
  selector: "LabelSelector!",
  template: "PodTemplateSpec!",
  strategy: "DeploymentStrategy^retain",
  minReadySeconds: "int32",
  revisionHistoryLimit: "int32",
  paused: "bool",
  progressDeadlineSeconds: "int32",
});
def("DeploymentStatus", APPS, {
  observedGeneration: "int64",
  replicas: "int32",
  updatedReplicas: "int32",
  readyReplicas: "int32",
  availableReplicas: "int32",
  unavailableReplicas: "int32",
  terminatingReplicas: "int32",
  conditions: "[]Condition@type",
  collisionCount: "int32",
});
kind(
  "Deployment",
  "apps",
  "v1",
  APPS,
  { spec: "DeploymentSpec", status: "DeploymentStatus" },
  "Deployment enables declarative updates for Pods and ReplicaSets.",
);
def("ReplicaSetSpec", APPS, { replicas: "int32", minReadySeconds: "int32", selector: "LabelSelector!", template: "PodTemplateSpec" });
def("ReplicaSetStatus", APPS, {
  replicas: "int32!",
  fullyLabeledReplicas: "int32",
  readyReplicas: "int32",
  availableReplicas: "int32",
  terminatingReplicas: "int32",
  observedGeneration: "int64",
  conditions: "[]Condition@type",
});
kind(
  "ReplicaSet",
  "apps",
  "v1",
  APPS,
  { spec: "ReplicaSetSpec", status: "ReplicaSetStatus" },
  "ReplicaSet ensures that a specified number of pod replicas are running at any given time.",
);
def("ScaleSpec", AS1, { replicas: "int32" });
def("ScaleStatus", AS1, { replicas: "int32!", selector: "string" });
kind("Scale", "autoscaling", "v1", AS1, { spec: "ScaleSpec", status: "ScaleStatus" }, "Scale represents a scaling request for a resource.");

// ------------------------------------------------------------ coordination/v1

def("LeaseSpec", COORD, {
  holderIdentity: "string",
  leaseDurationSeconds: "int32",
  acquireTime: "time",
  renewTime: "time",
  leaseTransitions: "int32",
  strategy: "string",
  preferredHolder: "string",
});
kind("Lease", "coordination.k8s.io", "v1", COORD, { spec: "LeaseSpec" }, "Lease defines a lease concept.");

// ------------------------------------------------------------- autoscaling/v2

def("CrossVersionObjectReference", AS2, { apiVersion: "string", kind: "string!", name: "string!" });
def("MetricTarget", AS2, { type: "string!", value: "quantity", averageValue: "quantity", averageUtilization: "int32" });
def("ResourceMetricSource", AS2, { name: "string!", target: "MetricTarget!" });
def("MetricIdentifier", AS2, { name: "string!", selector: "LabelSelector" });
def("ContainerResourceMetricSource", AS2, { name: "string!", container: "string!", target: "MetricTarget!" });
def("PodsMetricSource", AS2, { metric: "MetricIdentifier!", target: "MetricTarget!" });
def("ObjectMetricSource", AS2, { describedObject: "CrossVersionObjectReference!", metric: "MetricIdentifier!", target: "MetricTarget!" });
def("ExternalMetricSource", AS2, { metric: "MetricIdentifier!", target: "MetricTarget!" });
def("MetricSpec", AS2, {
  type: "string!",
  resource: "ResourceMetricSource",
  containerResource: "ContainerResourceMetricSource",
  pods: "PodsMetricSource",
  object: "ObjectMetricSource",
  external: "ExternalMetricSource",
});
def("MetricValueStatus", AS2, { value: "quantity", averageValue: "quantity", averageUtilization: "int32" });
def("ResourceMetricStatus", AS2, { name: "string!", current: "MetricValueStatus!" });
def("MetricStatus", AS2, {
  type: "string!",
  resource: "ResourceMetricStatus",
  containerResource: "any",
  pods: "any",
  object: "any",
  external: "any",
});
def("HPAScalingPolicy", AS2, { type: "string!", value: "int32!", periodSeconds: "int32!" });
def("HPAScalingRules", AS2, {
  stabilizationWindowSeconds: "int32",
  selectPolicy: "string",
  policies: "[]HPAScalingPolicy",
  tolerance: "quantity",
});
def("HorizontalPodAutoscalerBehavior", AS2, { scaleUp: "HPAScalingRules", scaleDown: "HPAScalingRules" });
def("HorizontalPodAutoscalerSpec", AS2, {
  scaleTargetRef: "CrossVersionObjectReference!",
  minReplicas: "int32",
  maxReplicas: "int32!",
  metrics: "[]MetricSpec",
  behavior: "HorizontalPodAutoscalerBehavior",
});
def("HorizontalPodAutoscalerStatus", AS2, {
  observedGeneration: "int64",
  lastScaleTime: "time",
  currentReplicas: "int32",
  desiredReplicas: "int32!",
  currentMetrics: "[]MetricStatus",
  conditions: "[]Condition@type",
});
kind(
  "HorizontalPodAutoscaler",
  "autoscaling",
  "v2",
  AS2,
  { spec: "HorizontalPodAutoscalerSpec", status: "HorizontalPodAutoscalerStatus" },
  "HorizontalPodAutoscaler is the configuration for a horizontal pod autoscaler.",
);

// ------------------------------------------------------------------ lookups

export class UnknownSchemaError extends Error {
  override readonly name = "UnknownSchemaError";
}

/** The schema of a kind ("Pod") or of a nested type ("Container"). Throws for unknown names. */
export function schemaFor(kind: string): ObjectSchema {
  const s = SCHEMAS.get(kind);
  if (s === undefined) throw new UnknownSchemaError(`no schema for kind "${kind}"`);
  return s;
}

/** Like schemaFor, undefined when unknown. */
export function findSchema(name: string): ObjectSchema | undefined {
  return SCHEMAS.get(name);
}

/** Every schema, nested types included. */
export function allSchemas(): ObjectSchema[] {
  return [...SCHEMAS.values()];
}

/** The schema of a field one step below `parent`, or undefined when the field is not known. */
export function fieldSchema(parent: ObjectSchema, field: string): FieldSchema | undefined {
  return Object.prototype.hasOwnProperty.call(parent.fields, field) ? parent.fields[field] : undefined;
}

/** The schema of a resource's objects. */
export function schemaForResource(info: ResourceInfo): ObjectSchema {
  return schemaFor(info.kind);
}

/** The schema of the field at `path` (field names from the object's root; list indices left out). */
export function fieldAt(kind: string, path: readonly string[]): FieldSchema | undefined {
  let cur: FieldSchema | undefined = SCHEMAS.has(kind) ? { kind: "object", ref: kind } : undefined;
  for (const name of path) {
    // Step through lists and maps to the element type first.
    while (cur !== undefined && (cur.kind === "array" || cur.kind === "map")) cur = cur.kind === "array" ? cur.items : cur.values;
    if (cur === undefined || cur.kind !== "object") return undefined;
    const parent = SCHEMAS.get(cur.ref);
    if (parent === undefined || !Object.prototype.hasOwnProperty.call(parent.fields, name)) return undefined;
    cur = parent.fields[name];
  }
  return cur;
}

export type ListPatchStrategy = { type: "atomic" } | { type: "merge"; key: string } | { type: "primitive-merge" };

/**
 * How a strategic merge patch treats the list at `path` of a `kind` object:
 * merged by a key (containers by name), merged as a set of primitives
 * (finalizers), or replaced whole. Unknown paths are atomic.
 */
export function listPatchStrategy(kind: string, path: readonly string[]): ListPatchStrategy {
  const f = fieldAt(kind, path);
  if (f?.kind !== "array" || f.strategy !== "merge") return { type: "atomic" };
  return f.mergeKey !== undefined ? { type: "merge", key: f.mergeKey } : { type: "primitive-merge" };
}

// ------------------------------------------------------------------ OpenAPI v3

const TYPE_DESCRIPTION: Record<string, string> = {
  quantity:
    "Quantity is a fixed-point representation of a number, e.g. 500m, 128Mi, 1.5Gi.",
  time: "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON (RFC 3339).",
  intOrString: "IntOrString is a type that can hold an int32 or a string.",
};

type OpenApiVersion = "v2" | "v3";

function refTo(name: string, version: OpenApiVersion): Record<string, unknown> {
  return { $ref: version === "v3" ? `#/components/schemas/${name}` : `#/definitions/${name}` };
}

/**
 * A reference to a named schema. OpenAPI v3 ignores siblings of $ref, so
 * Kubernetes wraps it in allOf there; v2 documents put $ref beside the rest.
 */
function refField(name: string, version: OpenApiVersion, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (version === "v2") return { ...refTo(name, version), ...extra };
  return { allOf: [refTo(name, version)], ...extra };
}

function openApiField(f: FieldSchema, version: OpenApiVersion): Record<string, unknown> {
  switch (f.kind) {
    case "string":
      return f.enum ? { type: "string", enum: [...f.enum] } : { type: "string" };
    case "integer":
      return { type: "integer", format: f.format };
    case "number":
      return { type: "number", format: "double" };
    case "boolean":
      return { type: "boolean" };
    case "bytes":
      return { type: "string", format: "byte" };
    case "intOrString":
      return refField("io.k8s.apimachinery.pkg.util.intstr.IntOrString", version);
    case "quantity":
      return refField("io.k8s.apimachinery.pkg.api.resource.Quantity", version);
    case "time":
      return refField("io.k8s.apimachinery.pkg.apis.meta.v1.Time", version);
    case "any":
      return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
    case "object": {
      const extra: Record<string, unknown> = version === "v3" ? { default: {} } : {};
      if (f.retainKeys) extra["x-kubernetes-patch-strategy"] = "retainKeys";
      return refField(schemaFor(f.ref).openApiName, version, extra);
    }
    case "map":
      return { type: "object", additionalProperties: openApiField(f.values, version) };
    case "array": {
      const out: Record<string, unknown> = { type: "array", items: openApiField(f.items, version) };
      if (f.mergeKey !== undefined) {
        out["x-kubernetes-patch-merge-key"] = f.mergeKey;
        out["x-kubernetes-patch-strategy"] = f.retainKeys ? "merge,retainKeys" : "merge";
        out["x-kubernetes-list-type"] = "map";
        out["x-kubernetes-list-map-keys"] = [f.mergeKey];
      } else if (f.strategy === "merge") {
        out["x-kubernetes-patch-strategy"] = "merge";
        out["x-kubernetes-list-type"] = "set";
      } else {
        out["x-kubernetes-list-type"] = "atomic";
      }
      return out;
    }
  }
}

function openApiSchemas(version: OpenApiVersion): Record<string, unknown> {
  const out: Record<string, unknown> = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity":
      version === "v3"
        ? { description: TYPE_DESCRIPTION.quantity, oneOf: [{ type: "string" }, { type: "number" }] }
        : { description: TYPE_DESCRIPTION.quantity, type: "string" },
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": {
      description: TYPE_DESCRIPTION.time,
      type: "string",
      format: "date-time",
    },
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
      description: TYPE_DESCRIPTION.intOrString,
      type: "string",
      format: "int-or-string",
    },
  };
  for (const s of SCHEMAS.values()) {
    const properties: Record<string, unknown> = {};
    for (const [name, f] of Object.entries(s.fields)) properties[name] = openApiField(f, version);
    const schema: Record<string, unknown> = { type: "object", properties };
    if (s.description) schema.description = s.description;
    if (s.required.length > 0) schema.required = [...s.required];
    if (s.gvk !== undefined) schema["x-kubernetes-group-version-kind"] = [{ ...s.gvk }];
    out[s.openApiName] = schema;
  }
  // List kinds, as Kubernetes publishes them (kubectl get -o yaml of a list).
  for (const r of RESOURCES) {
    const item = SCHEMAS.get(r.kind);
    if (item === undefined) continue;
    out[`${item.openApiName}List`] = {
      type: "object",
      description: `${r.kind}List is a list of ${r.kind} objects.`,
      required: ["items"],
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: refField(`${META}ListMeta`, version, version === "v3" ? { default: {} } : {}),
        items: { type: "array", items: refField(item.openApiName, version, version === "v3" ? { default: {} } : {}) },
      },
      "x-kubernetes-group-version-kind": [{ group: r.group, version: r.version, kind: `${r.kind}List` }],
    };
  }
  return out;
}

/**
 * OpenAPI v3 component schemas for every type, named as Kubernetes names them
 * ("io.k8s.api.apps.v1.Deployment"), with x-kubernetes-group-version-kind on
 * kinds and x-kubernetes-patch-merge-key / -patch-strategy on merged lists.
 */
export function openApiComponentSchemas(): Record<string, unknown> {
  return openApiSchemas("v3");
}

/**
 * The same schemas as Swagger 2.0 `definitions` (refs "#/definitions/...",
 * extensions beside $ref), for an /openapi/v2 document (kubectl 1.27, 1.28).
 */
export function openApiV2Definitions(): Record<string, unknown> {
  return openApiSchemas("v2");
}

/** The OpenAPI definition name of a resource's kind: "io.k8s.api.apps.v1.Deployment". */
export function openApiNameFor(kind: string): string {
  return schemaFor(kind).openApiName;
}
