// GET /status of a master's client port: role, term, leader, indexes, memory.
// Used by pinctl, `pinsetter up`, tests and benchmarks; never throws.

import http from "node:http";

export interface MasterStatus {
  name: string;
  pid: number;
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  revision: number;
  /** Leader only: each member's match index. */
  matchIndex: Record<string, number> | null;
  voters: string[];
  learners: string[];
  healthy: boolean;
  /** process.memoryUsage() in bytes: rss, heapUsed, external, arrayBuffers. */
  memory: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  /** Entries held in memory by the raft log (first..last). */
  logEntriesInMemory: number;
}

export interface StatusRequest {
  host: string;
  port: number;
  token?: string | undefined;
  /** Dial from this address (each test or member has its own 127.0.0.x). */
  localAddress?: string | undefined;
  timeoutMs?: number;
}

/** The master's status, "unauthorized" on 401, or null if it did not answer in time. */
export function fetchMasterStatus(r: StatusRequest): Promise<MasterStatus | "unauthorized" | null> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: r.host,
        port: r.port,
        path: "/status",
        method: "GET",
        ...(r.localAddress ? { localAddress: r.localAddress } : {}),
        headers: r.token ? { authorization: `Bearer ${r.token}` } : {},
        agent: false,
        timeout: r.timeoutMs ?? 1500,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (res.statusCode === 401) return resolve("unauthorized");
          if (res.statusCode !== 200) return resolve(null);
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as MasterStatus);
          } catch {
            resolve(null);
          }
        });
        res.on("error", () => resolve(null));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(null));
    req.end();
  });
}
