// validateObject: every rule for one object of one kind, on create (old
// undefined) or update (old given), all errors at once with field paths. The
// API server answers a non-empty result with 422 Invalid, its message from
// formatFieldErrors and its causes from fieldErrorCauses.

import type { ResourceInfo } from "../resources.js";
import type {
  ConfigMap,
  Deployment,
  Endpoints,
  Event,
  HorizontalPodAutoscaler,
  KubeObject,
  Lease,
  Node,
  Pod,
  ReplicaSet,
  Secret,
  Service,
} from "../types.js";
import { forbidden, invalid, type FieldError } from "./errors.js";
import {
  validateConfigMap,
  validateDeployment,
  validateEndpoints,
  validateEvent,
  validateHpa,
  validateImmutableData,
  validateLease,
  validateNode,
  validateReplicaSet,
  validateSecret,
  validateSecretUpdate,
  validateSelectorUpdate,
  validateService,
  validateServiceUpdate,
} from "./kinds.js";
import { validateObjectMeta, validateObjectMetaUpdate, type NameValidator } from "./meta.js";
import { dns1035LabelErrors, dns1123LabelErrors, dns1123SubdomainErrors, ipErrors, pathSegmentNameErrors } from "./names.js";
import { validatePodSpec, validatePodSpecUpdate } from "./pod.js";
import { typeErrors } from "./typecheck.js";
import { setOwn } from "../patch.js";

export * from "./errors.js";
export { validatePodSpec, validatePodSpecUpdate } from "./pod.js";
export { validateLabelSelector, validateLabels, validateAnnotations, validateObjectMeta } from "./meta.js";
export * from "./names.js";
export { typeErrors } from "./typecheck.js";

/** How each kind's names are checked (Kubernetes' ValidateXName functions). */
export function nameValidatorFor(kind: string): NameValidator {
  switch (kind) {
    case "Namespace":
      return dns1123LabelErrors;
    case "Service":
      return dns1035LabelErrors;
    case "Event":
    case "HorizontalPodAutoscaler":
      return pathSegmentNameErrors;
    default:
      return dns1123SubdomainErrors;
  }
}

function validateKind(kind: string, obj: KubeObject): FieldError[] {
  switch (kind) {
    case "Pod":
      return validatePodSpec((obj as Pod).spec, "spec");
    case "Deployment":
      return validateDeployment(obj as Deployment);
    case "ReplicaSet":
      return validateReplicaSet(obj as ReplicaSet);
    case "Service":
      return validateService(obj as Service);
    case "Endpoints":
      return validateEndpoints(obj as Endpoints);
    case "ConfigMap":
      return validateConfigMap(obj as ConfigMap);
    case "Secret":
      return validateSecret(obj as Secret);
    case "Node":
      return validateNode(obj as Node);
    case "Event":
      return validateEvent(obj as Event);
    case "Lease":
      return validateLease(obj as Lease);
    case "HorizontalPodAutoscaler":
      return validateHpa(obj as HorizontalPodAutoscaler);
    default:
      return [];
  }
}

const REPLICA_COUNTS = ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas", "fullyLabeledReplicas", "terminatingReplicas"];

/** Rules of a status write (Kubernetes' Validate*StatusUpdate): counts, addresses, names. */
export function validateStatus(kind: string, obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const st = (obj.status ?? {}) as Record<string, unknown>;
  const nonNegative = (field: string): void => {
    const v = st[field];
    if (typeof v === "number" && v < 0) errs.push(invalid(`status.${field}`, v, "must be greater than or equal to 0"));
  };
  const ip = (field: string, v: unknown): void => {
    if (typeof v === "string" && v !== "") for (const m of ipErrors(v)) errs.push(invalid(field, v, m));
  };
  switch (kind) {
    case "Deployment":
    case "ReplicaSet":
      for (const f of REPLICA_COUNTS) nonNegative(f);
      nonNegative("observedGeneration");
      if (typeof st.readyReplicas === "number" && typeof st.replicas === "number" && st.readyReplicas > st.replicas) {
        errs.push(invalid("status.readyReplicas", st.readyReplicas, "cannot be greater than status.replicas"));
      }
      if (typeof st.availableReplicas === "number" && typeof st.readyReplicas === "number" && st.availableReplicas > st.readyReplicas && kind === "ReplicaSet") {
        errs.push(invalid("status.availableReplicas", st.availableReplicas, "cannot be greater than readyReplicas"));
      }
      break;
    case "HorizontalPodAutoscaler":
      nonNegative("currentReplicas");
      nonNegative("desiredReplicas");
      break;
    case "Pod": {
      ip("status.podIP", st.podIP);
      ip("status.hostIP", st.hostIP);
      const podIPs = Array.isArray(st.podIPs) ? (st.podIPs as { ip?: unknown }[]) : [];
      podIPs.forEach((p, i) => ip(`status.podIPs[${i}].ip`, p?.ip));
      if (typeof st.podIP === "string" && st.podIP !== "" && podIPs.length > 0 && podIPs[0]?.ip !== st.podIP) {
        errs.push(invalid("status.podIPs[0].ip", podIPs[0]?.ip, "must match status.podIP"));
      }
      if (typeof st.nominatedNodeName === "string" && st.nominatedNodeName !== "") {
        for (const m of dns1123SubdomainErrors(st.nominatedNodeName)) errs.push(invalid("status.nominatedNodeName", st.nominatedNodeName, m));
      }
      break;
    }
    case "Node": {
      const addrs = Array.isArray(st.addresses) ? (st.addresses as { type?: unknown; address?: unknown }[]) : [];
      addrs.forEach((a, i) => {
        if (a?.type === "InternalIP" || a?.type === "ExternalIP") ip(`status.addresses[${i}].address`, a.address);
      });
      break;
    }
    default:
      break;
  }
  return errs;
}

function validateKindUpdate(kind: string, obj: KubeObject, old: KubeObject): FieldError[] {
  switch (kind) {
    case "Pod": {
      const spec = (obj as Pod).spec;
      const oldSpec = (old as Pod).spec;
      if (spec === undefined || oldSpec === undefined) return [];
      return validatePodSpecUpdate(spec, oldSpec, "spec");
    }
    case "Deployment":
    case "ReplicaSet":
      return validateSelectorUpdate((obj as Deployment).spec?.selector, (old as Deployment).spec?.selector);
    case "Service":
      return validateServiceUpdate(obj as Service, old as Service);
    case "ConfigMap":
      return validateImmutableData(obj as ConfigMap, old as ConfigMap);
    case "Secret":
      return validateSecretUpdate(obj as Secret, old as Secret);
    case "Namespace":
      return [];
    default:
      return [];
  }
}

export interface ValidateOptions {
  /**
   * The subresource being written. "status": the spec is the stored one, so
   * only metadata and types are checked (as Kubernetes' status strategies
   * do); "binding": the pod's nodeName is being set by the scheduler, which
   * the pod update rules would otherwise forbid.
   */
  subresource?: "status" | "binding" | string;
}

/** Scale (the /scale subresource body): replicas must not be negative. */
export function validateScale(obj: KubeObject): FieldError[] {
  const replicas = (obj.spec as { replicas?: unknown } | undefined)?.replicas;
  if (replicas === undefined || replicas === null) return [];
  if (typeof replicas !== "number" || !Number.isInteger(replicas)) return [invalid("spec.replicas", replicas, "must be of type int32")];
  return replicas < 0 ? [invalid("spec.replicas", replicas, "must be greater than or equal to 0")] : [];
}

/**
 * Every validation error of `obj` (a `info.kind`), as Kubernetes would list
 * them: on create when `old` is undefined, on update otherwise (adding the
 * immutability rules). Expects defaults to have been applied. Wrong JSON types
 * are reported alone (the other rules need the types right).
 */
export function validateObject(info: ResourceInfo, input: KubeObject, oldInput?: KubeObject, opts: ValidateOptions = {}): FieldError[] {
  const types = typeErrors(info.kind, input);
  if (types.length > 0) return types;
  // null is "unset" on the wire (Go decodes it to the zero value); the rules
  // below read absent fields as undefined, so they see a copy without nulls.
  const obj = (hasNull(input) ? withoutNulls(input) : structuredCloneShallowMeta(input)) as KubeObject;
  if (typeof obj.metadata !== "object" || obj.metadata === null) obj.metadata = {};
  const old = oldInput === undefined ? undefined : ((hasNull(oldInput) ? withoutNulls(oldInput) : oldInput) as KubeObject);
  const errs: FieldError[] = [];
  errs.push(...validateObjectMeta(obj.metadata, { namespaced: info.namespaced, nameValidator: nameValidatorFor(info.kind) }));
  const spec = opts.subresource !== "status" && opts.subresource !== "binding";
  if (spec) errs.push(...validateKind(info.kind, obj));
  if (opts.subresource === "status") errs.push(...validateStatus(info.kind, obj));
  if (old !== undefined) {
    if (obj.metadata !== undefined && old.metadata !== undefined) errs.push(...validateObjectMetaUpdate(obj.metadata, old.metadata));
    if (spec) errs.push(...validateKindUpdate(info.kind, obj, old));
    if (info.kind === "Namespace" && old.metadata?.deletionTimestamp !== undefined && obj.metadata?.deletionTimestamp === undefined) {
      errs.push(forbidden("metadata.deletionTimestamp", "may not be removed"));
    }
  }
  return errs;
}

function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) if (val !== null) setOwn(out, k, withoutNulls(val));
  return out;
}

function hasNull(v: unknown): boolean {
  if (v === null) return true;
  if (typeof v !== "object") return false;
  if (Array.isArray(v)) {
    for (const e of v) if (e !== null && typeof e === "object" && hasNull(e)) return true;
    return false;
  }
  for (const k in v) {
    const val = (v as Record<string, unknown>)[k];
    if (val === null || (typeof val === "object" && hasNull(val))) return true;
  }
  return false;
}

/** A copy of the top level only: the rules never write below it, metadata may be replaced. */
function structuredCloneShallowMeta(v: KubeObject): KubeObject {
  return { ...v };
}
