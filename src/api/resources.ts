// The resource table: every kind Pinsetter serves, with its group, version,
// plural, short names and scope. The API server builds its routes and
// discovery from it; the client and pinctl resolve "deploy", "po", "svc" with it.

export interface ResourceInfo {
  /** "" for the core group */
  group: string;
  version: string;
  kind: string;
  /** plural, lower case: the path segment and the registry key segment */
  resource: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** subresources served under /<resource>/<name>/<sub> */
  subresources: string[];
  verbs: string[];
  /** the prefix this resource's objects live under in the store */
  registryPrefix: string;
}

const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function def(
  group: string,
  version: string,
  kind: string,
  resource: string,
  shortNames: string[],
  namespaced: boolean,
  subresources: string[] = [],
): ResourceInfo {
  return {
    group,
    version,
    kind,
    resource,
    singular: kind.toLowerCase(),
    shortNames,
    namespaced,
    subresources,
    verbs: ALL_VERBS,
    registryPrefix: `/registry/${resource}/`,
  };
}

export const RESOURCES: readonly ResourceInfo[] = [
  def("", "v1", "Namespace", "namespaces", ["ns"], false, ["status"]),
  def("", "v1", "Node", "nodes", ["no"], false, ["status"]),
  def("", "v1", "Pod", "pods", ["po"], true, ["status", "binding", "log"]),
  def("", "v1", "Service", "services", ["svc"], true, ["status"]),
  def("", "v1", "Endpoints", "endpoints", ["ep"], true),
  def("", "v1", "Event", "events", ["ev"], true),
  def("", "v1", "ConfigMap", "configmaps", ["cm"], true),
  def("", "v1", "Secret", "secrets", [], true),
  def("apps", "v1", "Deployment", "deployments", ["deploy"], true, ["status", "scale"]),
  def("apps", "v1", "ReplicaSet", "replicasets", ["rs"], true, ["status", "scale"]),
  def("coordination.k8s.io", "v1", "Lease", "leases", [], true),
  def("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", ["hpa"], true, ["status"]),
];

export function apiVersionOf(info: Pick<ResourceInfo, "group" | "version">): string {
  return info.group === "" ? info.version : `${info.group}/${info.version}`;
}

/** Finds a resource by kind ("Deployment"), plural, singular or short name, any case. */
export function lookupResource(name: string): ResourceInfo | undefined {
  const n = name.toLowerCase();
  const [base, group] = n.includes(".") ? [n.slice(0, n.indexOf(".")), n.slice(n.indexOf(".") + 1)] : [n, null];
  return RESOURCES.find(
    (r) =>
      (group === null || r.group === group || apiVersionOf(r) === group) &&
      (r.resource === base || r.singular === base || r.kind.toLowerCase() === base || r.shortNames.includes(base)),
  );
}

export function resourceForKind(apiVersion: string | undefined, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.kind === kind && (apiVersion === undefined || apiVersionOf(r) === apiVersion));
}

/** The store key of one object. Cluster-scoped resources leave out the namespace. */
export function registryKey(info: ResourceInfo, namespace: string | undefined, name: string): string {
  return info.namespaced ? `${info.registryPrefix}${namespace}/${name}` : `${info.registryPrefix}${name}`;
}

/** The REST path of a collection or object, as the API serves it. */
export function resourcePath(info: ResourceInfo, namespace?: string, name?: string, subresource?: string): string {
  const base = info.group === "" ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  let path = base;
  if (info.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${info.resource}`;
  if (name) path += `/${encodeURIComponent(name)}`;
  if (name && subresource) path += `/${subresource}`;
  return path;
}
