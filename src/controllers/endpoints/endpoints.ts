// A Service's Endpoints as a pure function of the Service and its pods
// (Kubernetes' endpoints_controller.go): ready pods in addresses, the others in
// notReadyAddresses (all ready with publishNotReadyAddresses), each service
// port resolved per pod by container port name or number, pods grouped into
// subsets by their resolved ports.

import type { EndpointAddress, EndpointPort, EndpointSubset, Pod, Service } from "../../api/types.js";
import { isPodReady } from "../framework/objects.js";
import { mapSelectorMatches } from "../framework/selectors.js";

/** The pod's port for a service port, or null when a named targetPort is not on the pod. */
export function resolvePort(pod: Pod, target: number | string | undefined, servicePort: number): number | null {
  if (target === undefined || target === "" || target === 0) return servicePort;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  }
  return null;
}

/** Pods a service selects that are candidates for its endpoints. */
export function selectedPods(svc: Service, pods: Pod[]): Pod[] {
  return pods.filter((p) => mapSelectorMatches(svc.spec.selector, p.metadata.labels));
}

export function computeSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  const publishNotReady = svc.spec.publishNotReadyAddresses === true;
  for (const pod of selectedPods(svc, pods)) {
    const ip = pod.status?.podIP;
    if (!ip || pod.metadata.deletionTimestamp) continue;
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") continue;
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const port = resolvePort(pod, sp.targetPort, sp.port);
      if (port === null) continue;
      ports.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? "TCP", ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
    }
    // A service with ports that this pod serves none of gets no address from it.
    if ((svc.spec.ports?.length ?? 0) > 0 && ports.length === 0) continue;
    const addr: EndpointAddress = {
      ip,
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      ...(pod.spec.hostname && pod.spec.subdomain === svc.metadata.name ? { hostname: pod.spec.hostname } : {}),
      targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name!, uid: pod.metadata.uid },
    };
    const sig = JSON.stringify(ports);
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { ports, ready: [], notReady: [] }));
    if (publishNotReady || isPodReady(pod)) g.ready.push(addr);
    else g.notReady.push(addr);
  }
  const byIp = (a: EndpointAddress, b: EndpointAddress) => a.ip.localeCompare(b.ip) || String(a.targetRef?.name).localeCompare(String(b.targetRef?.name));
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => ({
      ...(g.ready.length ? { addresses: g.ready.sort(byIp) } : {}),
      ...(g.notReady.length ? { notReadyAddresses: g.notReady.sort(byIp) } : {}),
      ...(g.ports.length ? { ports: g.ports } : {}),
    }));
}

/** Subsets compared without the fields the API server may add (resourceVersion in targetRef). */
export function subsetsEqual(a: EndpointSubset[] | undefined, b: EndpointSubset[]): boolean {
  const norm = (s: EndpointSubset[] | undefined) =>
    JSON.stringify(
      (s ?? []).map((x) => ({
        addresses: (x.addresses ?? []).map((ad) => [ad.ip, ad.nodeName ?? "", ad.hostname ?? "", ad.targetRef?.name ?? "", ad.targetRef?.uid ?? ""]),
        notReadyAddresses: (x.notReadyAddresses ?? []).map((ad) => [ad.ip, ad.nodeName ?? "", ad.hostname ?? "", ad.targetRef?.name ?? "", ad.targetRef?.uid ?? ""]),
        ports: (x.ports ?? []).map((p) => [p.name ?? "", p.port, p.protocol ?? "TCP", p.appProtocol ?? ""]),
      })),
    );
  return norm(a) === norm(b);
}
