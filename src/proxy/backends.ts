// What the proxy should serve, computed from Services and Endpoints alone (no
// sockets): one entry per Service port that has a nodePort, with the ready
// endpoint addresses of that port. The proxy diffs its listeners against it.

import type { EndpointPort, EndpointSubset, Endpoints, Service, ServicePort } from "../api/types.js";

export interface Backend {
  host: string;
  port: number;
}

export interface NodePortEntry {
  nodePort: number;
  /** "namespace/name:portName" for logs. */
  service: string;
  backends: Backend[];
}

export function backendKey(b: Backend): string {
  return `${b.host}:${b.port}`;
}

/** The endpoint port that carries a Service port: same name (both unnamed counts). */
function matchPort(sp: ServicePort, servicePorts: ServicePort[], ports: EndpointPort[]): EndpointPort | undefined {
  const name = sp.name ?? "";
  const byName = ports.find((p) => (p.name ?? "") === name);
  if (byName) return byName;
  // A single-port Service whose Endpoints name the port differently still has
  // only one candidate; Kubernetes would match by name, but nothing else fits.
  if (servicePorts.length === 1 && ports.length === 1) return ports[0];
  return undefined;
}

function backendsOf(sp: ServicePort, servicePorts: ServicePort[], subsets: EndpointSubset[], includeNotReady: boolean): Backend[] {
  const out: Backend[] = [];
  const seen = new Set<string>();
  for (const subset of subsets) {
    const port = matchPort(sp, servicePorts, subset.ports ?? []);
    if (!port || (port.protocol && port.protocol !== "TCP")) continue;
    const addrs = [...(subset.addresses ?? []), ...(includeNotReady ? (subset.notReadyAddresses ?? []) : [])];
    for (const a of addrs) {
      const b = { host: a.ip, port: port.port };
      const k = backendKey(b);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(b);
    }
  }
  // A stable order keeps round-robin fair across updates that only reorder.
  return out.sort((x, y) => (x.host === y.host ? x.port - y.port : x.host < y.host ? -1 : 1));
}

/**
 * The nodePort table. When two Services claim one nodePort (the API server
 * should refuse that) the first by namespace/name wins, so every node agrees.
 */
export function nodePortTable(services: Service[], endpointsOf: (namespace: string, name: string) => Endpoints | undefined): Map<number, NodePortEntry> {
  const table = new Map<number, NodePortEntry>();
  const sorted = [...services].sort((a, b) => svcName(a).localeCompare(svcName(b)));
  for (const svc of sorted) {
    const type = svc.spec?.type;
    if (type !== "NodePort" && type !== "LoadBalancer") continue;
    const ports = svc.spec.ports ?? [];
    const ns = svc.metadata.namespace ?? "default";
    const name = svc.metadata.name ?? "";
    const eps = endpointsOf(ns, name);
    for (const sp of ports) {
      if (!sp.nodePort || (sp.protocol && sp.protocol !== "TCP")) continue;
      if (table.has(sp.nodePort)) continue;
      table.set(sp.nodePort, {
        nodePort: sp.nodePort,
        service: `${ns}/${name}:${sp.name ?? sp.port}`,
        backends: backendsOf(sp, ports, eps?.subsets ?? [], svc.spec.publishNotReadyAddresses === true),
      });
    }
  }
  return table;
}

function svcName(s: Service): string {
  return `${s.metadata.namespace ?? "default"}/${s.metadata.name ?? ""}`;
}
