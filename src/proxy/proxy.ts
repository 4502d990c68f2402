// The per-node service proxy (ARCHITECTURE §6): for every Service port with a
// nodePort, a listener on the node's address balancing over ready endpoints.
// Level-triggered: any change of Services or Endpoints schedules one sync that
// recomputes the nodePort table and diffs the listeners against it.

import type { Logger } from "pino";
import type { KubeClient } from "../client/kube-client.js";
import { nodePortTable } from "./backends.js";
import { PortListener } from "./port-listener.js";
import { InformerSource, type ProxySource } from "./source.js";

export interface ProxyOptions {
  client: KubeClient;
  nodeName: string;
  /** The node's address: listeners bind here. */
  host: string;
  logger: Logger;
}

export interface ServiceProxyOptions {
  source: ProxySource;
  nodeName: string;
  host: string;
  logger: Logger;
  /** Re-sync this often even without events (retries ports that failed to bind). */
  resyncMs?: number;
  connectTimeoutMs?: number;
}

export interface ProxyHandle {
  stop(): Promise<void>;
}

export class ServiceProxy implements ProxyHandle {
  private readonly listeners = new Map<number, PortListener>();
  /** Ports whose listen failed, with the message last logged (log once per change). */
  private readonly failedPorts = new Map<number, string>();
  private syncing = false;
  private again = false;
  private stopped = false;
  private scheduled = false;
  private readonly resync: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(private readonly opts: ServiceProxyOptions) {
    this.log = opts.logger.child({ component: "proxy", node: opts.nodeName });
    opts.source.onChange(() => this.schedule());
    this.resync = setInterval(() => this.schedule(), opts.resyncMs ?? 5000);
    this.resync.unref();
  }

  start(): this {
    this.opts.source.start();
    void this.opts.source.waitForSync().then(() => this.schedule());
    return this;
  }

  /** nodePorts currently listened on. */
  get ports(): number[] {
    return [...this.listeners.keys()].sort((a, b) => a - b);
  }

  listener(nodePort: number): PortListener | undefined {
    return this.listeners.get(nodePort);
  }

  /** Resolves after a sync that started after this call has finished. */
  async syncNow(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      while (this.syncing) await new Promise((r) => setTimeout(r, 5));
      return;
    }
    await this.sync();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.resync);
    this.opts.source.stop();
    while (this.syncing) await new Promise((r) => setTimeout(r, 5));
    await Promise.all([...this.listeners.values()].map((l) => l.destroy()));
    this.listeners.clear();
  }

  private schedule(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = true;
    // Coalesce a burst of watch events into one sync.
    setImmediate(() => {
      this.scheduled = false;
      void this.syncNow();
    });
  }

  private async sync(): Promise<void> {
    if (this.stopped) return;
    this.syncing = true;
    try {
      do {
        this.again = false;
        await this.syncOnce();
      } while (this.again && !this.stopped);
    } finally {
      this.syncing = false;
    }
  }

  private async syncOnce(): Promise<void> {
    const src = this.opts.source;
    const table = nodePortTable(src.services(), (ns, name) => src.endpoints(ns, name));
    for (const [port, l] of this.listeners) {
      const want = table.get(port);
      if (!want) {
        this.listeners.delete(port);
        this.log.info({ nodePort: port, service: l.service }, "closing nodePort (service or port gone); open connections drain");
        await l.close();
        continue;
      }
      l.service = want.service;
      l.setBackends(want.backends);
    }
    for (const [port, entry] of table) {
      if (this.listeners.has(port) || this.stopped) continue;
      const l = new PortListener({ host: this.opts.host, port, service: entry.service, logger: this.log, connectTimeoutMs: this.opts.connectTimeoutMs });
      l.setBackends(entry.backends);
      try {
        await l.listen();
      } catch (err) {
        const msg = (err as Error).message;
        if (this.failedPorts.get(port) !== msg) this.log.error({ nodePort: port, service: entry.service, err: msg }, "cannot listen on nodePort; will retry");
        this.failedPorts.set(port, msg);
        continue;
      }
      if (this.stopped) {
        await l.destroy();
        return;
      }
      this.failedPorts.delete(port);
      this.listeners.set(port, l);
      this.log.info({ nodePort: port, host: this.opts.host, service: entry.service }, "listening on nodePort");
    }
    for (const port of this.failedPorts.keys()) if (!table.has(port)) this.failedPorts.delete(port);
  }
}

/** Starts the proxy of one node on the API's Services and Endpoints. */
export function startProxy(opts: ProxyOptions): ProxyHandle {
  const log = opts.logger.child({ component: "proxy", node: opts.nodeName });
  const source = new InformerSource(opts.client, (err) => log.warn({ err: err.message }, "proxy watch failed; retrying"));
  return new ServiceProxy({ source, nodeName: opts.nodeName, host: opts.host, logger: opts.logger }).start();
}
