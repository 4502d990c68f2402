// Pod spec rules (Kubernetes' ValidatePodSpec and ValidatePodUpdate), used for
// pods and for the pod templates of deployments and replicasets.

import { compareQuantity, isValidQuantity, parseQuantity } from "../quantity.js";
import { labelKeyErrors } from "../selectors.js";
import type { Container, PodSpec, Probe, Toleration, Volume } from "../types.js";
import { deepEqual } from "../patch.js";
import { child, duplicate, forbidden, index, invalid, key, notFound, notSupported, required, type FieldError } from "./errors.js";
import { validateLabels } from "./meta.js";
import { dns1123LabelErrors, dns1123SubdomainErrors, envVarNameErrors, ipErrors, portNameErrors } from "./names.js";

const RESTART_POLICIES = ["Always", "Never", "OnFailure"];
const DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const PULL_POLICIES = ["Always", "IfNotPresent", "Never"];
const TERMINATION_MESSAGE_POLICIES = ["FallbackToLogsOnError", "File"];
const TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"];
const TOLERATION_OPERATORS = ["Equal", "Exists"];
const VOLUME_SOURCES = ["emptyDir", "configMap", "secret", "hostPath", "persistentVolumeClaim", "projected", "downwardAPI", "nfs", "csi", "ephemeral"];
const STANDARD_RESOURCES = new Set(["cpu", "memory", "ephemeral-storage", "storage", "pods"]);

export function portRangeError(path: string, port: unknown): FieldError[] {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    return [invalid(path, port, "must be between 1 and 65535, inclusive")];
  }
  return [];
}

/** A port given as a number (1-65535) or an IANA name, as probes and targetPort allow. */
export function intOrNamedPort(path: string, port: unknown): FieldError[] {
  if (typeof port === "number") return portRangeError(path, port);
  if (typeof port === "string") {
    if (/^\d+$/.test(port)) return portRangeError(path, Number(port));
    return portNameErrors(port).map((m) => invalid(path, port, m));
  }
  return [required(path, "")];
}

function nonNegative(path: string, v: number | undefined): FieldError[] {
  return v !== undefined && v < 0 ? [invalid(path, v, "must be greater than or equal to 0")] : [];
}

function validateResourceName(name: string, path: string): FieldError[] {
  if (STANDARD_RESOURCES.has(name) || name.startsWith("hugepages-") || name.startsWith("requests.") || name.startsWith("limits.")) return [];
  // Extended resources must be domain-qualified ("example.com/gpu").
  if (!name.includes("/")) {
    return [invalid(path, name, "must be a standard resource type or fully qualified")];
  }
  return labelKeyErrors(name).map((m) => invalid(path, name, m));
}

function validateResources(c: Container, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const r = c.resources;
  if (r === undefined) return errs;
  const check = (list: Record<string, unknown> | undefined, p: string): void => {
    for (const [name, q] of Object.entries(list ?? {})) {
      const fp = key(p, name);
      errs.push(...validateResourceName(name, fp));
      const text = typeof q === "number" ? String(q) : q;
      if (typeof text !== "string" || !isValidQuantity(text)) {
        errs.push(invalid(fp, q, "must be a valid quantity"));
        continue;
      }
      if (parseQuantity(text).mantissa < 0n) errs.push(invalid(fp, q, "must be greater than or equal to 0"));
      if (name === "cpu" && compareQuantity(text, "1m") < 0 && parseQuantity(text).mantissa > 0n) {
        errs.push(invalid(fp, q, "must be greater than or equal to 1m"));
      }
    }
  };
  check(r.limits, child(path, "limits"));
  check(r.requests, child(path, "requests"));
  for (const [name, req] of Object.entries(r.requests ?? {})) {
    const lim = r.limits?.[name];
    if (lim === undefined) continue;
    const rt = String(req);
    const lt = String(lim);
    if (!isValidQuantity(rt) || !isValidQuantity(lt)) continue;
    if (compareQuantity(rt, lt) > 0) {
      errs.push(invalid(key(child(path, "requests"), name), req, `must be less than or equal to ${name} limit of ${lt}`));
    }
  }
  return errs;
}

function handlerCount(h: Record<string, unknown>, kinds: readonly string[]): number {
  return kinds.filter((k) => h[k] !== undefined && h[k] !== null).length;
}

function validateHandler(h: Probe | Record<string, unknown>, path: string, kinds: readonly string[]): FieldError[] {
  const errs: FieldError[] = [];
  const rec = h as Record<string, unknown>;
  const n = handlerCount(rec, kinds);
  if (n === 0) errs.push(required(path, "must specify a handler type"));
  else if (n > 1) {
    const extra = kinds.filter((k) => rec[k] !== undefined && rec[k] !== null)[1] as string;
    errs.push(forbidden(child(path, extra), "may not specify more than 1 handler type"));
  }
  const p = h as Probe;
  if (p.exec !== undefined && (p.exec.command ?? []).length === 0) errs.push(required(child(child(path, "exec"), "command"), ""));
  if (p.httpGet !== undefined) {
    errs.push(...intOrNamedPort(child(child(path, "httpGet"), "port"), p.httpGet.port));
    if (p.httpGet.scheme !== undefined && !["HTTP", "HTTPS"].includes(p.httpGet.scheme)) {
      errs.push(notSupported(child(child(path, "httpGet"), "scheme"), p.httpGet.scheme, ["HTTP", "HTTPS"]));
    }
  }
  if (p.tcpSocket !== undefined) errs.push(...intOrNamedPort(child(child(path, "tcpSocket"), "port"), p.tcpSocket.port));
  if (p.grpc !== undefined) errs.push(...portRangeError(child(child(path, "grpc"), "port"), p.grpc.port));
  return errs;
}

function validateProbe(p: Probe | undefined, path: string, mustSucceedOnce: boolean): FieldError[] {
  if (p === undefined || p === null) return [];
  const errs = validateHandler(p, path, ["exec", "httpGet", "tcpSocket", "grpc"]);
  // Zero means "default" for these (defaults.ts fills them), so only negatives are refused.
  for (const f of ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] as const) {
    errs.push(...nonNegative(child(path, f), p[f]));
  }
  if (mustSucceedOnce && p.successThreshold !== undefined && p.successThreshold !== 1) {
    errs.push(invalid(child(path, "successThreshold"), p.successThreshold, "must be 1"));
  }
  if (p.terminationGracePeriodSeconds !== undefined && p.terminationGracePeriodSeconds <= 0) {
    errs.push(invalid(child(path, "terminationGracePeriodSeconds"), p.terminationGracePeriodSeconds, "must be greater than 0"));
  }
  return errs;
}

function validateContainer(c: Container, path: string, volumes: Set<string>, isInit: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (c === null || typeof c !== "object") return [invalid(path, c, "must be an object")];
  if (!c.name) errs.push(required(child(path, "name"), ""));
  else for (const m of dns1123LabelErrors(c.name)) errs.push(invalid(child(path, "name"), c.name, m));
  if (!c.image || c.image.trim() === "") errs.push(required(child(path, "image"), ""));
  else if (c.image !== c.image.trim()) errs.push(invalid(child(path, "image"), c.image, "must not have leading or trailing whitespace"));
  if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy)) {
    errs.push(notSupported(child(path, "imagePullPolicy"), c.imagePullPolicy, PULL_POLICIES));
  }
  if (c.terminationMessagePolicy !== undefined && !TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy)) {
    errs.push(notSupported(child(path, "terminationMessagePolicy"), c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES));
  }

  const portNames = new Set<string>();
  (c.ports ?? []).forEach((port, i) => {
    const p = index(child(path, "ports"), i);
    if (port === null || typeof port !== "object") {
      errs.push(invalid(p, port, "must be an object"));
      return;
    }
    if (port.name !== undefined && port.name !== "") {
      for (const m of portNameErrors(port.name)) errs.push(invalid(child(p, "name"), port.name, m));
      if (portNames.has(port.name)) errs.push(duplicate(child(p, "name"), port.name));
      portNames.add(port.name);
    }
    if (port.containerPort === undefined) errs.push(required(child(p, "containerPort"), ""));
    else errs.push(...portRangeError(child(p, "containerPort"), port.containerPort));
    if (port.hostPort !== undefined && port.hostPort !== 0) errs.push(...portRangeError(child(p, "hostPort"), port.hostPort));
    if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) {
      errs.push(notSupported(child(p, "protocol"), port.protocol, PROTOCOLS));
    }
    if (port.hostIP !== undefined && port.hostIP !== "") {
      for (const m of ipErrors(port.hostIP)) errs.push(invalid(child(p, "hostIP"), port.hostIP, m));
    }
  });

  (c.env ?? []).forEach((e, i) => {
    const p = index(child(path, "env"), i);
    if (e === null || typeof e !== "object") {
      errs.push(invalid(p, e, "must be an object"));
      return;
    }
    if (!e.name) errs.push(required(child(p, "name"), ""));
    else for (const m of envVarNameErrors(e.name)) errs.push(invalid(child(p, "name"), e.name, m));
    if (e.valueFrom !== undefined && e.valueFrom !== null) {
      const vf = e.valueFrom as Record<string, unknown>;
      const n = ["fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"].filter((k) => vf[k] !== undefined && vf[k] !== null).length;
      if (n === 0) errs.push(invalid(child(p, "valueFrom"), "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
      else if (n > 1) errs.push(invalid(child(p, "valueFrom"), "", "may not have more than one field specified at a time"));
      if (e.value !== undefined && e.value !== "") {
        errs.push(invalid(child(p, "valueFrom"), "", "may not be specified when `value` is not empty"));
      }
      const ref = e.valueFrom.configMapKeyRef ?? e.valueFrom.secretKeyRef;
      if (ref !== undefined && !ref.key) {
        const which = e.valueFrom.configMapKeyRef !== undefined ? "configMapKeyRef" : "secretKeyRef";
        errs.push(required(child(child(child(p, "valueFrom"), which), "key"), ""));
      }
      const fieldRefPath = child(child(child(p, "valueFrom"), "fieldRef"), "fieldPath");
      if (e.valueFrom.fieldRef !== undefined && !e.valueFrom.fieldRef.fieldPath) errs.push(required(fieldRefPath, ""));
      else if (e.valueFrom.fieldRef !== undefined) errs.push(...fieldRefErrors(e.valueFrom.fieldRef.fieldPath, fieldRefPath));
      const rf = e.valueFrom.resourceFieldRef;
      if (rf !== undefined && !RESOURCE_FIELD_REFS.includes(rf.resource)) {
        errs.push(notSupported(child(child(child(p, "valueFrom"), "resourceFieldRef"), "resource"), rf.resource, RESOURCE_FIELD_REFS));
      }
    }
  });
  (c.envFrom ?? []).forEach((ef, i) => {
    const p = index(child(path, "envFrom"), i);
    const n = [ef.configMapRef, ef.secretRef].filter((x) => x !== undefined && x !== null).length;
    if (n === 0) errs.push(invalid(p, "", "must specify one of: `configMapRef` or `secretRef`"));
    else if (n > 1) errs.push(invalid(p, "", "may not have more than one field specified at a time"));
  });

  const mountPaths = new Set<string>();
  (c.volumeMounts ?? []).forEach((vm, i) => {
    const p = index(child(path, "volumeMounts"), i);
    if (!vm.name) errs.push(required(child(p, "name"), ""));
    else if (!volumes.has(vm.name)) errs.push(notFound(child(p, "name"), vm.name));
    if (!vm.mountPath) errs.push(required(child(p, "mountPath"), ""));
    else {
      if (mountPaths.has(vm.mountPath)) errs.push(invalid(child(p, "mountPath"), vm.mountPath, "must be unique"));
      mountPaths.add(vm.mountPath);
    }
    if (vm.subPath !== undefined && (vm.subPath.startsWith("/") || vm.subPath.split("/").includes(".."))) {
      errs.push(invalid(child(p, "subPath"), vm.subPath, "must be a relative path without '..'"));
    }
  });

  errs.push(...validateResources(c, child(path, "resources")));
  if (isInit) {
    // Regular init containers may not have probes (only restartable sidecars may).
    const sidecar = (c as { restartPolicy?: string }).restartPolicy === "Always";
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"] as const) {
      if (c[probe] !== undefined && !sidecar) errs.push(forbidden(child(path, probe), "may not be set for init containers without restartPolicy=Always"));
    }
  } else {
    errs.push(...validateProbe(c.livenessProbe, child(path, "livenessProbe"), true));
    errs.push(...validateProbe(c.readinessProbe, child(path, "readinessProbe"), false));
    errs.push(...validateProbe(c.startupProbe, child(path, "startupProbe"), true));
    for (const hook of ["postStart", "preStop"] as const) {
      const h = c.lifecycle?.[hook];
      if (h !== undefined) errs.push(...validateHandler(h as Record<string, unknown>, child(child(path, "lifecycle"), hook), ["exec", "httpGet", "tcpSocket", "sleep"]));
    }
  }
  return errs;
}

function validateVolume(v: Volume, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!v.name) errs.push(required(child(path, "name"), ""));
  else for (const m of dns1123LabelErrors(v.name)) errs.push(invalid(child(path, "name"), v.name, m));
  const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined && v[s] !== null);
  if (sources.length === 0) {
    // Kubernetes defaults a volume with no source to emptyDir; so do we (no error).
  } else if (sources.length > 1) {
    errs.push(forbidden(child(path, sources[1] as string), "may not specify more than 1 volume type"));
  }
  if (v.hostPath !== undefined) {
    const hp = child(path, "hostPath");
    if (!v.hostPath.path) errs.push(required(child(hp, "path"), ""));
    if (v.hostPath.type !== undefined && !HOST_PATH_TYPES.includes(v.hostPath.type)) {
      errs.push(notSupported(child(hp, "type"), v.hostPath.type, HOST_PATH_TYPES.filter((t) => t !== "")));
    }
  }
  if (v.configMap !== undefined) {
    const cp = child(path, "configMap");
    if (!v.configMap.name) errs.push(required(child(cp, "name"), ""));
    errs.push(...validateKeyToPaths(v.configMap.items, v.configMap.defaultMode, cp));
  }
  if (v.secret !== undefined) {
    const sp = child(path, "secret");
    if (!v.secret.secretName) errs.push(required(child(sp, "secretName"), ""));
    errs.push(...validateKeyToPaths(v.secret.items, v.secret.defaultMode, sp));
  }
  return errs;
}

const HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];

function fileModeErrors(mode: number | undefined, path: string): FieldError[] {
  if (mode === undefined) return [];
  return mode < 0 || mode > 0o777 ? [invalid(path, mode, "must be a number between 0 and 0777 (octal), both inclusive")] : [];
}

/** A path inside a volume: relative, no "..", not empty. */
function localPathErrors(p: string, path: string): FieldError[] {
  if (p === "") return [required(path, "")];
  if (p.startsWith("/")) return [invalid(path, p, "must be a relative path")];
  if (p.split("/").includes("..")) return [invalid(path, p, "must not contain '..'")];
  return [];
}

function validateKeyToPaths(items: { key: string; path: string; mode?: number }[] | undefined, defaultMode: number | undefined, path: string): FieldError[] {
  const errs = fileModeErrors(defaultMode, child(path, "defaultMode"));
  (items ?? []).forEach((it, i) => {
    const ip = index(child(path, "items"), i);
    if (!it.key) errs.push(required(child(ip, "key"), ""));
    errs.push(...localPathErrors(it.path ?? "", child(ip, "path")));
    errs.push(...fileModeErrors(it.mode, child(ip, "mode")));
  });
  return errs;
}

const FIELD_REF_PATHS = [
  "metadata.annotations",
  "metadata.labels",
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "spec.nodeName",
  "spec.serviceAccountName",
  "status.hostIP",
  "status.hostIPs",
  "status.podIP",
  "status.podIPs",
];
const RESOURCE_FIELD_REFS = [
  "limits.cpu",
  "limits.ephemeral-storage",
  "limits.memory",
  "requests.cpu",
  "requests.ephemeral-storage",
  "requests.memory",
];

/** Downward API paths of env fieldRef: the list above, or one label or annotation by key. */
function fieldRefErrors(fieldPath: string, path: string): FieldError[] {
  const one = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (one !== null) return labelKeyErrors(one[2] as string).map((m) => invalid(path, fieldPath, m));
  // Whole label and annotation maps only work in volumes, not in env.
  if (fieldPath === "metadata.labels" || fieldPath === "metadata.annotations") {
    return [notSupported(path, fieldPath, FIELD_REF_PATHS.filter((p) => p !== "metadata.labels" && p !== "metadata.annotations"))];
  }
  return FIELD_REF_PATHS.includes(fieldPath) ? [] : [notSupported(path, fieldPath, FIELD_REF_PATHS.filter((p) => p !== "metadata.labels" && p !== "metadata.annotations"))];
}

function validateToleration(t: Toleration, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (t.key) for (const m of labelKeyErrors(t.key)) errs.push(invalid(child(path, "key"), t.key, m));
  if (!t.key && t.operator !== "Exists") {
    errs.push(invalid(child(path, "operator"), t.operator ?? "", "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
  }
  if (t.operator !== undefined && !TOLERATION_OPERATORS.includes(t.operator)) {
    errs.push(notSupported(child(path, "operator"), t.operator, TOLERATION_OPERATORS));
  }
  if (t.operator === "Exists" && t.value) {
    errs.push(invalid(child(path, "operator"), t.value, "value must be empty when `operator` is 'Exists'"));
  }
  if (t.effect !== undefined && t.effect !== "" && !TAINT_EFFECTS.includes(t.effect)) {
    errs.push(notSupported(child(path, "effect"), t.effect, TAINT_EFFECTS));
  }
  if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") {
    errs.push(invalid(child(path, "effect"), t.effect ?? "", "effect must be 'NoExecute' when `tolerationSeconds` is set"));
  }
  return errs;
}

/** ValidatePodSpec at `path` ("spec" for pods, "spec.template.spec" for templates). */
export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (spec === undefined || spec === null) return [required(path, "")];

  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    const p = index(child(path, "volumes"), i);
    if (v === null || typeof v !== "object") {
      errs.push(invalid(p, v, "must be an object"));
      return;
    }
    errs.push(...validateVolume(v, p));
    if (v.name) {
      if (volumes.has(v.name)) errs.push(duplicate(child(p, "name"), v.name));
      volumes.add(v.name);
    }
  });

  const containers = spec.containers ?? [];
  if (containers.length === 0) errs.push(required(child(path, "containers"), ""));
  const names = new Set<string>();
  const checkList = (list: Container[] | undefined, field: string, isInit: boolean): void => {
    (list ?? []).forEach((c, i) => {
      const p = index(child(path, field), i);
      errs.push(...validateContainer(c, p, volumes, isInit));
      if (c !== null && typeof c === "object" && c.name) {
        if (names.has(c.name)) errs.push(duplicate(child(p, "name"), c.name));
        names.add(c.name);
      }
    });
  };
  checkList(spec.initContainers, "initContainers", true);
  checkList(containers, "containers", false);

  // Host ports must be unique per protocol and host IP across the pod.
  const hostPorts = new Set<string>();
  containers.forEach((c, ci) => {
    (c?.ports ?? []).forEach((port, pi) => {
      if (!port?.hostPort) return;
      const k = `${port.protocol ?? "TCP"}/${port.hostIP ?? ""}/${port.hostPort}`;
      if (hostPorts.has(k)) {
        errs.push(duplicate(child(index(child(index(child(path, "containers"), ci), "ports"), pi), "hostPort"), `${port.hostPort}/${port.protocol ?? "TCP"}`));
      }
      hostPorts.add(k);
    });
  });

  if (spec.hostNetwork === true) {
    containers.forEach((c, ci) => {
      (c?.ports ?? []).forEach((port, pi) => {
        if (port?.hostPort && port.hostPort !== port.containerPort) {
          errs.push(invalid(child(index(child(index(child(path, "containers"), ci), "ports"), pi), "hostPort"), port.hostPort, "must match `containerPort` when `hostNetwork` is true"));
        }
      });
    });
  }
  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(spec.restartPolicy)) {
    errs.push(notSupported(child(path, "restartPolicy"), spec.restartPolicy, RESTART_POLICIES));
  }
  if (spec.dnsPolicy !== undefined && !DNS_POLICIES.includes(spec.dnsPolicy)) {
    errs.push(notSupported(child(path, "dnsPolicy"), spec.dnsPolicy, DNS_POLICIES));
  }
  if (spec.dnsPolicy === "None" && (spec as { dnsConfig?: unknown }).dnsConfig === undefined) {
    errs.push(required(child(path, "dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None"));
  }
  errs.push(...nonNegative(child(path, "terminationGracePeriodSeconds"), spec.terminationGracePeriodSeconds));
  if (spec.activeDeadlineSeconds !== undefined && (spec.activeDeadlineSeconds < 1 || spec.activeDeadlineSeconds > 2147483647)) {
    errs.push(invalid(child(path, "activeDeadlineSeconds"), spec.activeDeadlineSeconds, "must be between 1 and 2147483647, inclusive"));
  }
  errs.push(...validateLabels(spec.nodeSelector, child(path, "nodeSelector")));
  if (spec.serviceAccountName) {
    for (const m of dns1123SubdomainErrors(spec.serviceAccountName)) errs.push(invalid(child(path, "serviceAccountName"), spec.serviceAccountName, m));
  }
  if (spec.nodeName) {
    for (const m of dns1123SubdomainErrors(spec.nodeName)) errs.push(invalid(child(path, "nodeName"), spec.nodeName, m));
  }
  for (const f of ["hostname", "subdomain"] as const) {
    const v = spec[f];
    if (v) for (const m of dns1123LabelErrors(v)) errs.push(invalid(child(path, f), v, m));
  }
  if (spec.schedulerName !== undefined) {
    if (spec.schedulerName === "") errs.push(required(child(path, "schedulerName"), ""));
    else for (const m of dns1123SubdomainErrors(spec.schedulerName)) errs.push(invalid(child(path, "schedulerName"), spec.schedulerName, m));
  }
  (spec.tolerations ?? []).forEach((t, i) => errs.push(...validateToleration(t, index(child(path, "tolerations"), i))));
  (spec.topologySpreadConstraints ?? []).forEach((t, i) => {
    const p = index(child(path, "topologySpreadConstraints"), i);
    if (!(t.maxSkew > 0)) errs.push(invalid(child(p, "maxSkew"), t.maxSkew, "must be greater than zero"));
    if (!t.topologyKey) errs.push(required(child(p, "topologyKey"), "can not be empty"));
    if (!["DoNotSchedule", "ScheduleAnyway"].includes(t.whenUnsatisfiable)) {
      errs.push(notSupported(child(p, "whenUnsatisfiable"), t.whenUnsatisfiable, ["DoNotSchedule", "ScheduleAnyway"]));
    }
  });
  const na = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (na !== undefined && (na.nodeSelectorTerms ?? []).length === 0) {
    errs.push(required(child(child(child(child(path, "affinity"), "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution"), "nodeSelectorTerms"), "must have at least one node selector term"));
  }
  for (const kind of ["podAffinity", "podAntiAffinity"] as const) {
    (spec.affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution ?? []).forEach((term, i) => {
      if (!term.topologyKey) {
        errs.push(required(child(index(child(child(child(path, "affinity"), kind), "requiredDuringSchedulingIgnoredDuringExecution"), i), "topologyKey"), "can not be empty"));
      }
    });
  }
  return errs;
}

const POD_UPDATE_MESSAGE =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/**
 * ValidatePodUpdate: apart from container images, activeDeadlineSeconds (set
 * or shortened) and added tolerations, a pod's spec is immutable.
 */
export function validatePodSpecUpdate(spec: PodSpec, old: PodSpec, path = "spec"): FieldError[] {
  const errs: FieldError[] = [];
  if (old.activeDeadlineSeconds !== undefined) {
    const nv = spec.activeDeadlineSeconds;
    if (nv === undefined) {
      errs.push(invalid(child(path, "activeDeadlineSeconds"), null, "must not update from a positive integer to nil value"));
    } else if (nv > old.activeDeadlineSeconds) {
      errs.push(invalid(child(path, "activeDeadlineSeconds"), nv, "must be less than or equal to previous value"));
    }
  }
  const oldTols = old.tolerations ?? [];
  const newTols = spec.tolerations ?? [];
  for (const t of oldTols) {
    if (!newTols.some((n) => deepEqual(n, t) || (n.key === t.key && n.operator === t.operator && n.value === t.value && n.effect === t.effect && t.effect === "NoExecute" && n.tolerationSeconds !== undefined && (t.tolerationSeconds === undefined || n.tolerationSeconds <= t.tolerationSeconds)))) {
      errs.push(forbidden(child(path, "tolerations"), "existing toleration can not be modified except its tolerationSeconds"));
      break;
    }
  }
  // Compare everything else with the mutable parts copied over from the new spec.
  const mutable = structuredClone(old);
  const copyImages = (field: "containers" | "initContainers"): void => {
    const nl = spec[field] ?? [];
    const ol = mutable[field] ?? [];
    if (nl.length !== ol.length) return;
    ol.forEach((c, i) => {
      const n = nl[i];
      if (n !== undefined && c.name === n.name && n.image !== undefined) c.image = n.image;
    });
  };
  copyImages("containers");
  copyImages("initContainers");
  if (spec.activeDeadlineSeconds !== undefined) mutable.activeDeadlineSeconds = spec.activeDeadlineSeconds;
  else delete mutable.activeDeadlineSeconds;
  if (spec.tolerations !== undefined) mutable.tolerations = spec.tolerations;
  else delete mutable.tolerations;
  if (old.terminationGracePeriodSeconds !== undefined && old.terminationGracePeriodSeconds < 0 && spec.terminationGracePeriodSeconds === 1) {
    mutable.terminationGracePeriodSeconds = 1;
  }
  if (!deepEqual(stripUndefined(mutable), stripUndefined(spec))) errs.push(forbidden(path, POD_UPDATE_MESSAGE));
  return errs;
}

function stripUndefined<T>(v: T): T {
  return JSON.parse(JSON.stringify(v ?? null)) as T;
}
