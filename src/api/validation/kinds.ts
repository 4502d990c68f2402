// Per-kind rules for everything but the pod spec (pod.ts): workloads,
// services and endpoints, config, namespaces, nodes, events, leases, HPAs.

import { labelKeyErrors, labelSelectorFromObject } from "../selectors.js";
import { deepEqual } from "../patch.js";
import type {
  ConfigMap,
  Deployment,
  Endpoints,
  Event,
  HorizontalPodAutoscaler,
  LabelSelector,
  Lease,
  Node,
  PodTemplateSpec,
  ReplicaSet,
  Secret,
  Service,
} from "../types.js";
import { child, duplicate, forbidden, index, invalid, key, notSupported, required, tooLong, type FieldError } from "./errors.js";
import { validateLabelSelector, validateLabels, validateAnnotations } from "./meta.js";
import { cidrErrors, configKeyErrors, dns1035LabelErrors, dns1123LabelErrors, ipErrors, isPercent, portNameErrors } from "./names.js";
import { intOrNamedPort, portRangeError, validatePodSpec } from "./pod.js";

const PROTOCOLS = ["SCTP", "TCP", "UDP"];

function nonNegative(path: string, v: number | undefined): FieldError[] {
  return v !== undefined && v < 0 ? [invalid(path, v, "must be greater than or equal to 0")] : [];
}

function selectorValue(sel: unknown): string {
  return JSON.stringify(sel ?? null);
}

// ------------------------------------------------------------ workloads

function validateTemplate(t: PodTemplateSpec | undefined, selector: LabelSelector | undefined, path: string, kind: string): FieldError[] {
  const errs: FieldError[] = [];
  if (t === undefined || t === null) return [required(path, "")];
  const labels = t.metadata?.labels ?? {};
  errs.push(...validateLabels(t.metadata?.labels, child(child(path, "metadata"), "labels")));
  errs.push(...validateAnnotations(t.metadata?.annotations, child(child(path, "metadata"), "annotations")));
  if (selector !== undefined && selector !== null) {
    let matches = true;
    try {
      const m = labelSelectorFromObject(selector);
      matches = m.empty || m.matches(labels);
    } catch {
      // A bad selector is reported by the selector rules.
    }
    if (!matches) {
      errs.push(invalid(child(child(path, "metadata"), "labels"), labels, "`selector` does not match template `labels`"));
    }
  }
  errs.push(...validatePodSpec(t.spec, child(path, "spec")));
  if (t.spec !== undefined && t.spec !== null && t.spec.restartPolicy !== undefined && t.spec.restartPolicy !== "Always") {
    errs.push(notSupported(child(child(path, "spec"), "restartPolicy"), t.spec.restartPolicy, ["Always"]));
  }
  if (t.spec?.activeDeadlineSeconds !== undefined) {
    errs.push(forbidden(child(child(path, "spec"), "activeDeadlineSeconds"), `activeDeadlineSeconds in ${kind} is not Supported`));
  }
  return errs;
}

function validateSelectorRequired(sel: LabelSelector | undefined, path: string, kind: string): FieldError[] {
  if (sel === undefined || sel === null) return [required(path, "")];
  const errs = validateLabelSelector(sel, path);
  if (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0) {
    errs.push(invalid(path, selectorValue(sel), `empty selector is invalid for ${kind}`));
  }
  return errs;
}

function validateIntOrPercent(v: unknown, path: string): FieldError[] {
  if (typeof v === "number") return nonNegative(path, v);
  if (typeof v === "string") {
    if (!isPercent(v)) return [invalid(path, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
    return [];
  }
  return [];
}

function isZero(v: unknown): boolean {
  return v === 0 || v === "0%" || v === "0";
}

export function validateDeployment(d: Deployment): FieldError[] {
  const errs: FieldError[] = [];
  const s = d.spec;
  if (s === undefined || s === null) return [required("spec", "")];
  errs.push(...nonNegative("spec.replicas", s.replicas));
  errs.push(...validateSelectorRequired(s.selector, "spec.selector", "deployment"));
  errs.push(...validateTemplate(s.template, s.selector, "spec.template", "Deployment"));
  const st = s.strategy;
  if (st !== undefined && st !== null) {
    if (st.type !== undefined && st.type !== "RollingUpdate" && st.type !== "Recreate") {
      errs.push(notSupported("spec.strategy.type", st.type, ["Recreate", "RollingUpdate"]));
    }
    if (st.type === "Recreate" && st.rollingUpdate !== undefined && st.rollingUpdate !== null) {
      errs.push(forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
    }
    const ru = st.rollingUpdate;
    if (st.type === "RollingUpdate" && ru !== undefined && ru !== null) {
      errs.push(...validateIntOrPercent(ru.maxUnavailable, "spec.strategy.rollingUpdate.maxUnavailable"));
      errs.push(...validateIntOrPercent(ru.maxSurge, "spec.strategy.rollingUpdate.maxSurge"));
      if (typeof ru.maxUnavailable === "string" && isPercent(ru.maxUnavailable) && Number(ru.maxUnavailable.slice(0, -1)) > 100) {
        errs.push(invalid("spec.strategy.rollingUpdate.maxUnavailable", ru.maxUnavailable, "must not be greater than 100%"));
      }
      if (ru.maxUnavailable !== undefined && ru.maxSurge !== undefined && isZero(ru.maxUnavailable) && isZero(ru.maxSurge)) {
        errs.push(invalid("spec.strategy.rollingUpdate.maxUnavailable", ru.maxUnavailable, "may not be 0 when `maxSurge` is 0"));
      }
    }
  }
  errs.push(...nonNegative("spec.minReadySeconds", s.minReadySeconds));
  errs.push(...nonNegative("spec.revisionHistoryLimit", s.revisionHistoryLimit));
  if (s.progressDeadlineSeconds !== undefined) {
    errs.push(...nonNegative("spec.progressDeadlineSeconds", s.progressDeadlineSeconds));
    if (s.progressDeadlineSeconds <= (s.minReadySeconds ?? 0)) {
      errs.push(invalid("spec.progressDeadlineSeconds", s.progressDeadlineSeconds, "must be greater than minReadySeconds"));
    }
  }
  return errs;
}

export function validateReplicaSet(rs: ReplicaSet): FieldError[] {
  const errs: FieldError[] = [];
  const s = rs.spec;
  if (s === undefined || s === null) return [required("spec", "")];
  errs.push(...nonNegative("spec.replicas", s.replicas));
  errs.push(...nonNegative("spec.minReadySeconds", s.minReadySeconds));
  errs.push(...validateSelectorRequired(s.selector, "spec.selector", "replicaset"));
  errs.push(...validateTemplate(s.template, s.selector, "spec.template", "ReplicaSet"));
  return errs;
}

/** Deployments and replicasets: the selector never changes after create. */
export function validateSelectorUpdate(sel: LabelSelector | undefined, old: LabelSelector | undefined): FieldError[] {
  if (old !== undefined && !deepEqual(normalizeSelector(sel), normalizeSelector(old))) {
    return [invalid("spec.selector", selectorValue(sel), "field is immutable")];
  }
  return [];
}

function normalizeSelector(sel: LabelSelector | undefined): unknown {
  if (sel === undefined || sel === null) return null;
  return { matchLabels: sel.matchLabels ?? {}, matchExpressions: sel.matchExpressions ?? [] };
}

const HPA_METRIC_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"];
const HPA_TARGET_TYPES = ["AverageValue", "Utilization", "Value"];

export function validateHpa(h: HorizontalPodAutoscaler): FieldError[] {
  const errs: FieldError[] = [];
  const s = h.spec;
  if (s === undefined || s === null) return [required("spec", "")];
  const ref = s.scaleTargetRef;
  if (ref === undefined || ref === null) errs.push(required("spec.scaleTargetRef", ""));
  else {
    if (!ref.kind) errs.push(required("spec.scaleTargetRef.kind", ""));
    if (!ref.name) errs.push(required("spec.scaleTargetRef.name", ""));
  }
  if (s.minReplicas !== undefined && s.minReplicas < 1) {
    errs.push(invalid("spec.minReplicas", s.minReplicas, "must be greater than or equal to 1"));
  }
  if (s.maxReplicas === undefined) errs.push(required("spec.maxReplicas", ""));
  else {
    if (s.maxReplicas < 1) errs.push(invalid("spec.maxReplicas", s.maxReplicas, "must be greater than 0"));
    if (s.maxReplicas < (s.minReplicas ?? 1)) {
      errs.push(invalid("spec.maxReplicas", s.maxReplicas, "must be greater than or equal to `minReplicas`"));
    }
  }
  (s.metrics ?? []).forEach((m, i) => {
    const p = index("spec.metrics", i);
    if (!HPA_METRIC_TYPES.includes(m.type)) {
      errs.push(notSupported(child(p, "type"), m.type, HPA_METRIC_TYPES));
      return;
    }
    if (m.type === "Resource") {
      const r = m.resource;
      if (r === undefined || r === null) {
        errs.push(required(child(p, "resource"), "must populate information for the given metric source"));
        return;
      }
      if (!r.name) errs.push(required(child(child(p, "resource"), "name"), "must specify a resource name"));
      const t = r.target;
      const tp = child(child(p, "resource"), "target");
      if (t === undefined || t === null) errs.push(required(tp, ""));
      else if (!HPA_TARGET_TYPES.includes(t.type)) errs.push(notSupported(child(tp, "type"), t.type, HPA_TARGET_TYPES));
      else if (t.type === "Utilization") {
        if (t.averageUtilization === undefined) errs.push(required(child(tp, "averageUtilization"), "must set either a target raw value or a target utilization"));
        else if (t.averageUtilization < 1) errs.push(invalid(child(tp, "averageUtilization"), t.averageUtilization, "must be greater than 0"));
      } else if (t.type === "AverageValue" && t.averageValue === undefined) {
        errs.push(required(child(tp, "averageValue"), "must set either a target raw value or a target utilization"));
      } else if (t.type === "Value" && t.value === undefined) {
        errs.push(required(child(tp, "value"), "must set either a target raw value or a target utilization"));
      }
    } else if (m[m.type.charAt(0).toLowerCase() + m.type.slice(1)] === undefined) {
      errs.push(required(child(p, m.type.charAt(0).toLowerCase() + m.type.slice(1)), "must populate information for the given metric source"));
    }
  });
  for (const dir of ["scaleUp", "scaleDown"] as const) {
    const rules = s.behavior?.[dir];
    if (rules === undefined || rules === null) continue;
    const p = child("spec.behavior", dir);
    if (rules.stabilizationWindowSeconds !== undefined && (rules.stabilizationWindowSeconds < 0 || rules.stabilizationWindowSeconds > 3600)) {
      errs.push(invalid(child(p, "stabilizationWindowSeconds"), rules.stabilizationWindowSeconds, "must be between 0 and 3600, inclusive"));
    }
    if (rules.selectPolicy !== undefined && !["Disabled", "Max", "Min"].includes(rules.selectPolicy)) {
      errs.push(notSupported(child(p, "selectPolicy"), rules.selectPolicy, ["Disabled", "Max", "Min"]));
    }
    (rules.policies ?? []).forEach((pol, i) => {
      const pp = index(child(p, "policies"), i);
      if (!["Percent", "Pods"].includes(pol.type)) errs.push(notSupported(child(pp, "type"), pol.type, ["Percent", "Pods"]));
      if (!(pol.value > 0)) errs.push(invalid(child(pp, "value"), pol.value, "must be greater than zero"));
      if (!(pol.periodSeconds > 0 && pol.periodSeconds <= 1800)) {
        errs.push(invalid(child(pp, "periodSeconds"), pol.periodSeconds, "must be greater than zero and less than or equal to 1800"));
      }
    });
  }
  return errs;
}

// ------------------------------------------------------------ services

const SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

export function validateService(svc: Service): FieldError[] {
  const errs: FieldError[] = [];
  const s = svc.spec;
  if (s === undefined || s === null) return [required("spec", "")];
  const type = s.type ?? "ClusterIP";
  if (!SERVICE_TYPES.includes(type)) errs.push(notSupported("spec.type", type, SERVICE_TYPES));
  const headless = s.clusterIP === "None";
  const ports = s.ports ?? [];
  if (type === "ExternalName") {
    if (!s.externalName) errs.push(required("spec.externalName", ""));
  } else if (ports.length === 0 && !headless) {
    errs.push(required("spec.ports", ""));
  }
  if (s.sessionAffinity !== undefined && !["ClientIP", "None"].includes(s.sessionAffinity)) {
    errs.push(notSupported("spec.sessionAffinity", s.sessionAffinity, ["ClientIP", "None"]));
  }
  if (s.clusterIP !== undefined && s.clusterIP !== "" && s.clusterIP !== "None") {
    for (const m of ipErrors(s.clusterIP)) errs.push(invalid("spec.clusterIP", s.clusterIP, m));
  }
  if (type === "ExternalName" && s.clusterIP !== undefined && s.clusterIP !== "" && s.clusterIP !== "None") {
    errs.push(forbidden("spec.clusterIP", "may not be set for ExternalName services"));
  }
  errs.push(...validateLabels(s.selector, "spec.selector"));
  const names = new Set<string>();
  const portProto = new Set<string>();
  ports.forEach((port, i) => {
    const p = index("spec.ports", i);
    if (port === null || typeof port !== "object") {
      errs.push(invalid(p, port, "must be an object"));
      return;
    }
    if (ports.length > 1 && !port.name) errs.push(required(child(p, "name"), ""));
    if (port.name) {
      for (const m of dns1123LabelErrors(port.name)) errs.push(invalid(child(p, "name"), port.name, m));
      if (names.has(port.name)) errs.push(duplicate(child(p, "name"), port.name));
      names.add(port.name);
    }
    errs.push(...portRangeError(child(p, "port"), port.port));
    const proto = port.protocol ?? "TCP";
    if (!PROTOCOLS.includes(proto)) errs.push(notSupported(child(p, "protocol"), proto, PROTOCOLS));
    const pk = `${port.port}/${proto}`;
    if (portProto.has(pk)) errs.push(duplicate(p, { port: port.port, protocol: proto }));
    portProto.add(pk);
    if (port.targetPort !== undefined && port.targetPort !== 0 && port.targetPort !== "") {
      errs.push(...intOrNamedPort(child(p, "targetPort"), port.targetPort));
    }
    if (port.nodePort !== undefined && port.nodePort !== 0) {
      if (type !== "NodePort" && type !== "LoadBalancer") {
        errs.push(forbidden(child(p, "nodePort"), `may not be used when \`type\` is '${type}'`));
      } else errs.push(...portRangeError(child(p, "nodePort"), port.nodePort));
    }
  });
  for (const f of ["externalTrafficPolicy", "internalTrafficPolicy"] as const) {
    const v = s[f];
    if (v !== undefined && !["Cluster", "Local"].includes(v)) errs.push(notSupported(child("spec", f), v, ["Cluster", "Local"]));
  }
  if (s.externalTrafficPolicy !== undefined && type !== "NodePort" && type !== "LoadBalancer") {
    errs.push(invalid("spec.externalTrafficPolicy", s.externalTrafficPolicy, "may only be set for externally-accessible services"));
  }
  return errs;
}

export function validateServiceUpdate(svc: Service, old: Service): FieldError[] {
  const errs: FieldError[] = [];
  const oldIP = old.spec?.clusterIP;
  const newIP = svc.spec?.clusterIP;
  // A type change to/from ExternalName may clear it; otherwise it is fixed once allocated.
  if (oldIP && newIP && oldIP !== newIP && svc.spec?.type !== "ExternalName" && old.spec?.type !== "ExternalName") {
    errs.push(invalid("spec.clusterIP", newIP, "field is immutable"));
  }
  return errs;
}

export function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  (ep.subsets ?? []).forEach((ss, i) => {
    const p = index("subsets", i);
    for (const field of ["addresses", "notReadyAddresses"] as const) {
      (ss[field] ?? []).forEach((a, j) => {
        const ap = index(child(p, field), j);
        if (!a.ip) errs.push(required(child(ap, "ip"), ""));
        else for (const m of ipErrors(a.ip)) errs.push(invalid(child(ap, "ip"), a.ip, m));
        if (a.hostname) for (const m of dns1123LabelErrors(a.hostname)) errs.push(invalid(child(ap, "hostname"), a.hostname, m));
      });
    }
    const ports = ss.ports ?? [];
    ports.forEach((port, j) => {
      const pp = index(child(p, "ports"), j);
      if (ports.length > 1 && !port.name) errs.push(required(child(pp, "name"), ""));
      if (port.name) for (const m of dns1123LabelErrors(port.name)) errs.push(invalid(child(pp, "name"), port.name, m));
      errs.push(...portRangeError(child(pp, "port"), port.port));
      if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) errs.push(notSupported(child(pp, "protocol"), port.protocol, PROTOCOLS));
    });
  });
  return errs;
}

// ------------------------------------------------------------ config

const MAX_CONFIG_SIZE = 1024 * 1024;

function validateDataKeys(data: Record<string, string> | undefined, path: string, seen: Set<string>): { errs: FieldError[]; size: number } {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(data ?? {})) {
    for (const m of configKeyErrors(k)) errs.push(invalid(key(path, k), k, m));
    if (seen.has(k)) errs.push(invalid(key(path, k), k, "duplicate of key present in other data fields"));
    seen.add(k);
    size += typeof v === "string" ? v.length : 0;
  }
  return { errs, size };
}

export function validateConfigMap(cm: ConfigMap): FieldError[] {
  const seen = new Set<string>();
  const a = validateDataKeys(cm.data, "data", seen);
  const b = validateDataKeys(cm.binaryData, "binaryData", seen);
  const errs = [...a.errs, ...b.errs];
  // binaryData is base64: count decoded bytes as Kubernetes does.
  const total = a.size + Math.floor((b.size * 3) / 4);
  if (total > MAX_CONFIG_SIZE) errs.push(tooLong("", "", MAX_CONFIG_SIZE));
  return errs;
}

const SECRET_REQUIRED_KEYS: Record<string, string[]> = {
  "kubernetes.io/tls": ["tls.crt", "tls.key"],
  "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
  "kubernetes.io/dockercfg": [".dockercfg"],
};

export function validateSecret(s: Secret): FieldError[] {
  const seen = new Set<string>();
  const a = validateDataKeys(s.data, "data", seen);
  const errs = [...a.errs];
  // stringData keys are checked as data keys (they are folded into data on write).
  for (const k of Object.keys(s.stringData ?? {})) for (const m of configKeyErrors(k)) errs.push(invalid(key("stringData", k), k, m));
  const size = Object.values(s.data ?? {}).reduce((n, v) => n + Math.floor((String(v).length * 3) / 4), 0);
  if (size > MAX_CONFIG_SIZE) errs.push(tooLong("data", "", MAX_CONFIG_SIZE));
  const type = s.type ?? "Opaque";
  for (const k of SECRET_REQUIRED_KEYS[type] ?? []) {
    if (s.data?.[k] === undefined && s.stringData?.[k] === undefined) errs.push(required(key("data", k), ""));
  }
  if (type === "kubernetes.io/basic-auth" && s.data?.username === undefined && s.data?.password === undefined) {
    errs.push(required("data[username]", "either username or password is required"));
  }
  return errs;
}

export function validateImmutableData(obj: ConfigMap | Secret, old: ConfigMap | Secret): FieldError[] {
  const errs: FieldError[] = [];
  if (old.immutable === true) {
    if (obj.immutable !== true) errs.push(forbidden("immutable", "field is immutable when `immutable` is set"));
    if (!deepEqual(obj.data ?? {}, old.data ?? {})) errs.push(forbidden("data", "field is immutable when `immutable` is set"));
    const ob = (obj as ConfigMap).binaryData;
    const oo = (old as ConfigMap).binaryData;
    if (!deepEqual(ob ?? {}, oo ?? {})) errs.push(forbidden("binaryData", "field is immutable when `immutable` is set"));
  }
  return errs;
}

export function validateSecretUpdate(s: Secret, old: Secret): FieldError[] {
  const errs = validateImmutableData(s, old);
  if ((s.type ?? "Opaque") !== (old.type ?? "Opaque")) errs.push(invalid("type", s.type ?? "", "field is immutable"));
  return errs;
}

// ------------------------------------------------------------ cluster objects

const TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"];

export function validateNode(n: Node): FieldError[] {
  const errs: FieldError[] = [];
  const s = n.spec ?? {};
  if (s.podCIDR) for (const m of cidrErrors(s.podCIDR)) errs.push(invalid("spec.podCIDR", s.podCIDR, m));
  const seen = new Set<string>();
  (s.taints ?? []).forEach((t, i) => {
    const p = index("spec.taints", i);
    if (!t.key) errs.push(required(child(p, "key"), ""));
    else for (const m of labelKeyErrors(t.key)) errs.push(invalid(child(p, "key"), t.key, m));
    if (t.value) for (const m of validateLabelValue(t.value)) errs.push(invalid(child(p, "value"), t.value, m));
    if (!t.effect) errs.push(required(child(p, "effect"), ""));
    else if (!TAINT_EFFECTS.includes(t.effect)) errs.push(notSupported(child(p, "effect"), t.effect, TAINT_EFFECTS));
    const k = `${t.key}:${t.effect}`;
    if (seen.has(k)) errs.push(duplicate(p, `${t.key}:${t.effect}`));
    seen.add(k);
  });
  for (const field of ["capacity", "allocatable"] as const) {
    for (const [name, q] of Object.entries(n.status?.[field] ?? {})) {
      if (String(q).startsWith("-")) errs.push(invalid(key(child("status", field), name), q, "must be greater than or equal to 0"));
    }
  }
  (n.status?.addresses ?? []).forEach((a, i) => {
    if (!a.address) errs.push(required(child(index("status.addresses", i), "address"), ""));
  });
  return errs;
}

function validateLabelValue(v: string): string[] {
  return v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)
    ? ["a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"]
    : [];
}

export function validateEvent(e: Event): FieldError[] {
  const errs: FieldError[] = [];
  if (e.involvedObject === undefined || e.involvedObject === null) return [required("involvedObject", "")];
  const ns = e.metadata?.namespace;
  const ins = e.involvedObject.namespace;
  if (ins && ns && ins !== ns) errs.push(invalid("involvedObject.namespace", ins, "does not match event.namespace"));
  if (e.type !== undefined && e.type !== ("" as string) && !["Normal", "Warning"].includes(e.type)) {
    errs.push(notSupported("type", e.type, ["Normal", "Warning"]));
  }
  if (e.count !== undefined && e.count < 0) errs.push(invalid("count", e.count, "must be greater than or equal to 0"));
  return errs;
}

export function validateLease(l: Lease): FieldError[] {
  const errs: FieldError[] = [];
  const s = l.spec ?? {};
  if (s.leaseDurationSeconds !== undefined && s.leaseDurationSeconds <= 0) {
    errs.push(invalid("spec.leaseDurationSeconds", s.leaseDurationSeconds, "must be greater than 0"));
  }
  errs.push(...nonNegative("spec.leaseTransitions", s.leaseTransitions));
  return errs;
}

export { dns1035LabelErrors, portNameErrors };
