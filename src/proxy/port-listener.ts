// One nodePort: a TCP listener on the node's address that hands each accepted
// connection to the next ready backend (round-robin), trying the following
// ones when a connect fails. Connections to a backend that leaves the set are
// left to finish (drained); only stop() cuts them.

import net from "node:net";
import type { Logger } from "pino";
import { backendKey, type Backend } from "./backends.js";

export interface PortListenerOptions {
  host: string;
  port: number;
  service: string;
  logger: Logger;
  /** Give up on one backend after this long without a connection. */
  connectTimeoutMs?: number;
}

export class PortListener {
  private backends: Backend[] = [];
  private next = 0;
  private server: net.Server | null = null;
  private readonly conns = new Set<net.Socket>();
  private readonly perBackend = new Map<string, number>();
  private closing = false;
  service: string;

  constructor(private readonly opts: PortListenerOptions) {
    this.service = opts.service;
  }

  get port(): number {
    return this.opts.port;
  }

  /** Open connections (client sides) through this port. */
  get connectionCount(): number {
    return this.conns.size;
  }

  /** Open connections per backend "ip:port", for tests and logs. */
  connectionsTo(b: Backend): number {
    return this.perBackend.get(backendKey(b)) ?? 0;
  }

  setBackends(backends: Backend[]): void {
    const before = this.backends.map(backendKey).join(",");
    const after = backends.map(backendKey).join(",");
    this.backends = backends;
    if (before !== after) this.opts.logger.info({ service: this.service, nodePort: this.port, backends: after }, "proxy backends changed");
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => this.accept(sock));
      const onError = (err: Error): void => {
        server.close();
        reject(err);
      };
      server.once("error", onError);
      server.listen({ host: this.opts.host, port: this.opts.port, exclusive: true }, () => {
        server.off("error", onError);
        server.on("error", (err) => this.opts.logger.error({ err, nodePort: this.port }, "proxy listener error"));
        this.server = server;
        resolve();
      });
    });
  }

  /** Stops accepting; open connections finish on their own (drain). */
  close(): Promise<void> {
    this.closing = true;
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    return new Promise((r) => {
      server.close(() => r());
      // server.close waits for open connections; do not wait for the drain.
      if (this.conns.size > 0) r();
    });
  }

  /** Stops accepting and cuts every open connection. */
  async destroy(): Promise<void> {
    const closed = this.close();
    for (const c of this.conns) c.destroy();
    await closed;
  }

  private accept(client: net.Socket): void {
    if (this.closing) {
      client.destroy();
      return;
    }
    this.conns.add(client);
    client.once("close", () => this.conns.delete(client));
    client.on("error", () => client.destroy());
    const order = this.pickOrder();
    if (order.length === 0) {
      this.opts.logger.debug({ service: this.service, nodePort: this.port }, "no ready endpoint; connection refused");
      client.resetAndDestroy();
      return;
    }
    this.tryConnect(client, order, 0);
  }

  /** The backends to try for one connection: round-robin start, then the rest in order. */
  private pickOrder(): Backend[] {
    const n = this.backends.length;
    if (n === 0) return [];
    const start = this.next % n;
    this.next = (start + 1) % n;
    return [...this.backends.slice(start), ...this.backends.slice(0, start)];
  }

  private tryConnect(client: net.Socket, order: Backend[], i: number): void {
    if (client.destroyed) return;
    if (i >= order.length) {
      this.opts.logger.warn({ service: this.service, nodePort: this.port, tried: order.length }, "every endpoint refused the connection");
      client.resetAndDestroy();
      return;
    }
    const b = order[i]!;
    const upstream = net.connect({ host: b.host, port: b.port, allowHalfOpen: true });
    let connected = false;
    const timer = setTimeout(() => upstream.destroy(new Error("connect timeout")), this.opts.connectTimeoutMs ?? 2000);
    const abort = (): void => {
      upstream.destroy();
    };
    client.once("close", abort);
    upstream.once("error", (err) => {
      clearTimeout(timer);
      if (connected) {
        client.destroy();
        return;
      }
      client.off("close", abort);
      this.opts.logger.debug({ err: err.message, backend: backendKey(b), nodePort: this.port }, "endpoint connect failed; trying the next");
      this.tryConnect(client, order, i + 1);
    });
    upstream.once("connect", () => {
      clearTimeout(timer);
      connected = true;
      client.off("close", abort);
      const key = backendKey(b);
      this.perBackend.set(key, (this.perBackend.get(key) ?? 0) + 1);
      upstream.once("close", (hadError) => {
        const left = (this.perBackend.get(key) ?? 1) - 1;
        if (left <= 0) this.perBackend.delete(key);
        else this.perBackend.set(key, left);
        closeAfterFlush(client, hadError);
      });
      client.once("close", (hadError) => closeAfterFlush(upstream, hadError));
      // Half-close travels both ways (pipe ends the other side on 'end').
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }
}

/**
 * The other side of a pair closed: end this one so what it still has to
 * write gets out, then let it go; an error cuts it at once.
 */
function closeAfterFlush(sock: net.Socket, hadError: boolean): void {
  if (sock.destroyed) return;
  if (hadError) {
    sock.destroy();
    return;
  }
  if (sock.writableFinished) {
    sock.destroy();
    return;
  }
  sock.once("finish", () => sock.destroy());
  sock.end();
}
