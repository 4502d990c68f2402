// Service clusterIP and nodePort allocation. Each allocated port or IP is a
// reservation key in the store, created in the same txn as the Service (and
// deleted with it), so two masters can never hand out the same one: the
// loser's txn fails its compare and it tries another.

import type { Service, ServicePort } from "../api/types.js";
import type { Compare, RequestOp } from "../store/mvcc/index.js";
import { enc, type TxnExtras } from "./storage.js";

export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;
/** 10.96.0.0/12, as kubeadm's default service CIDR. */
const CIDR_BASE = (10 << 24) | (96 << 16);
const CIDR_SIZE = 1 << 20;

const portKey = (p: number) => `/registry/ranges/servicenodeports/${p}`;
const ipKey = (ip: string) => `/registry/ranges/serviceips/${ip}`;

export function ipToString(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function wantsNodePorts(svc: Service): boolean {
  return svc.spec?.type === "NodePort" || svc.spec?.type === "LoadBalancer";
}

function randomPort(taken: Set<number>): number {
  for (let i = 0; i < 1000; i++) {
    const p = NODE_PORT_MIN + Math.floor(Math.random() * (NODE_PORT_MAX - NODE_PORT_MIN + 1));
    if (!taken.has(p)) return p;
  }
  for (let p = NODE_PORT_MIN; p <= NODE_PORT_MAX; p++) if (!taken.has(p)) return p;
  throw new Error("no free nodePort");
}

function randomIp(taken: Set<string>): string {
  for (;;) {
    // Skip .0 and the first address (kubernetes' own service in Kubernetes).
    const ip = ipToString(CIDR_BASE + 2 + Math.floor(Math.random() * (CIDR_SIZE - 3)));
    if (!taken.has(ip)) return ip;
  }
}

export interface Allocation {
  extras: TxnExtras;
  /** nodePorts the user asked for (their reservation may fail: 422, not retry). */
  requestedPorts: { index: number; port: number }[];
}

/**
 * Fills in clusterIP and missing nodePorts of `svc` (mutating it) and returns
 * the reservation compares and ops for the txn. `old` is the stored Service on
 * update: its ports and IP stay reserved; ones it no longer uses are released.
 * `inUse` are ports/IPs the cache knows as taken (to pick fresh ones quickly).
 */
export function allocateService(svc: Service, old: Service | null, inUse: { ports: Set<number>; ips: Set<string> }): Allocation {
  const compare: Compare[] = [];
  const ops: RequestOp[] = [];
  const requestedPorts: { index: number; port: number }[] = [];
  const spec = (svc.spec ??= {});
  const oldPorts = new Set<number>((old?.spec?.ports ?? []).map((p) => p.nodePort).filter((p): p is number => typeof p === "number"));
  const oldIp = old?.spec?.clusterIP;

  if (spec.type !== "ExternalName") {
    if (!spec.clusterIP && oldIp) spec.clusterIP = oldIp;
    if (!spec.clusterIP) {
      spec.clusterIP = randomIp(inUse.ips);
    }
    if (spec.clusterIP !== "None") {
      spec.clusterIPs = [spec.clusterIP];
      if (spec.clusterIP !== oldIp) {
        compare.push({ key: enc(ipKey(spec.clusterIP)), target: "CREATE", result: "EQUAL", createRevision: 0 });
        ops.push({ type: "put", request: { key: enc(ipKey(spec.clusterIP)), value: enc("1") } });
      }
    }
  }
  if (oldIp && oldIp !== "None" && oldIp !== spec.clusterIP) ops.push({ type: "deleteRange", request: { key: enc(ipKey(oldIp)) } });

  const keep = new Set<number>();
  if (wantsNodePorts(svc)) {
    const ports: ServicePort[] = spec.ports ?? [];
    const taken = new Set([...inUse.ports]);
    ports.forEach((p, index) => {
      if (p.nodePort === undefined || p.nodePort === 0) {
        // Keep the port an update's old object had for the same port (as Kubernetes).
        const prev = old?.spec?.ports?.find((o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP"));
        p.nodePort = prev?.nodePort ?? randomPort(taken);
      } else if (!oldPorts.has(p.nodePort)) requestedPorts.push({ index, port: p.nodePort });
      taken.add(p.nodePort);
      keep.add(p.nodePort);
    });
  } else {
    for (const p of spec.ports ?? []) delete p.nodePort;
  }
  for (const p of keep) {
    if (oldPorts.has(p)) continue;
    compare.push({ key: enc(portKey(p)), target: "CREATE", result: "EQUAL", createRevision: 0 });
    ops.push({ type: "put", request: { key: enc(portKey(p)), value: enc("1") } });
  }
  for (const p of oldPorts) if (!keep.has(p)) ops.push({ type: "deleteRange", request: { key: enc(portKey(p)) } });
  return { extras: { compare, ops }, requestedPorts };
}

/** Ops releasing everything a deleted Service held. */
export function releaseService(svc: Service): TxnExtras {
  const ops: RequestOp[] = [];
  const ip = svc.spec?.clusterIP;
  if (ip && ip !== "None") ops.push({ type: "deleteRange", request: { key: enc(ipKey(ip)) } });
  for (const p of svc.spec?.ports ?? []) if (p.nodePort) ops.push({ type: "deleteRange", request: { key: enc(portKey(p.nodePort)) } });
  return { compare: [], ops };
}

export { portKey as nodePortKey };
