// The service proxy against real TCP servers on loopback, fed by a fake
// Services/Endpoints source the test changes by hand.

import net from "node:net";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { EndpointSubset, Endpoints, Service, ServicePort } from "../../src/api/types.js";
import { nodePortTable } from "../../src/proxy/backends.js";
import { ServiceProxy } from "../../src/proxy/proxy.js";
import type { ProxySource } from "../../src/proxy/source.js";

const HOST = "127.0.0.1";
const logger = pino({ level: "silent" });

class FakeSource implements ProxySource {
  svcs = new Map<string, Service>();
  eps = new Map<string, Endpoints>();
  private cbs: (() => void)[] = [];
  services(): Service[] {
    return [...this.svcs.values()];
  }
  endpoints(ns: string, name: string): Endpoints | undefined {
    return this.eps.get(`${ns}/${name}`);
  }
  onChange(cb: () => void): void {
    this.cbs.push(cb);
  }
  start(): void {}
  waitForSync(): Promise<void> {
    return Promise.resolve();
  }
  stop(): void {}
  setService(name: string, ports: ServicePort[]): void {
    this.svcs.set(`default/${name}`, { metadata: { name, namespace: "default" }, spec: { type: "NodePort", ports } });
    this.changed();
  }
  deleteService(name: string): void {
    this.svcs.delete(`default/${name}`);
    this.changed();
  }
  setEndpoints(name: string, subsets: EndpointSubset[]): void {
    this.eps.set(`default/${name}`, { metadata: { name, namespace: "default" }, subsets });
    this.changed();
  }
  private changed(): void {
    for (const cb of this.cbs) cb();
  }
}

/** A backend that answers each connection with its name, then echoes. */
interface Backend {
  name: string;
  port: number;
  server: net.Server;
  sockets: Set<net.Socket>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function backend(name: string): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.write(`${name}\n`);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as net.AddressInfo).port;
  const b = { name, port, server, sockets };
  cleanups.push(() => closeBackend(b));
  return b;
}

async function closeBackend(b: Backend): Promise<void> {
  for (const s of b.sockets) s.destroy();
  await new Promise<void>((r) => b.server.close(() => r()));
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, HOST, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function subsets(backends: { port: number }[], notReady: { port: number }[] = []): EndpointSubset[] {
  // Loopback backends differ by port only, so each gets a subset of its own.
  return [
    ...backends.map((b) => ({ addresses: [{ ip: HOST }], ports: [{ name: "http", port: b.port }] })),
    ...notReady.map((b) => ({ notReadyAddresses: [{ ip: HOST }], ports: [{ name: "http", port: b.port }] })),
  ];
}

async function startProxy(src: FakeSource): Promise<ServiceProxy> {
  const proxy = new ServiceProxy({ source: src, nodeName: "w1", host: HOST, logger, resyncMs: 200, connectTimeoutMs: 500 }).start();
  cleanups.push(() => proxy.stop());
  return proxy;
}

/** Connects through the proxy and returns the first line (the backend's name). */
function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port });
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString();
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        s.destroy();
        resolve(buf.slice(0, nl));
      }
    });
    s.on("error", reject);
    s.on("close", () => reject(new Error(`closed without an answer (${buf})`)));
  });
}

/** Opens a connection that stays open, answering echo requests. */
async function openConn(port: number): Promise<{ name: string; echo(msg: string): Promise<string>; close(): void }> {
  const s = net.connect({ host: HOST, port });
  s.on("error", () => {});
  cleanups.push(() => void s.destroy());
  let buf = "";
  const waiters: ((line: string) => void)[] = [];
  s.on("data", (d) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiters.shift()?.(line);
    }
  });
  const line = (): Promise<string> => new Promise((r) => waiters.push(r));
  const name = await line();
  return {
    name,
    echo: (msg) => {
      const p = line();
      s.write(`${msg}\n`);
      return p;
    },
    close: () => s.destroy(),
  };
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 1000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function refused(port: number): Promise<boolean> {
  return ask(port).then(
    () => false,
    () => true,
  );
}

describe("nodePortTable", () => {
  it("matches endpoint ports by name and leaves not-ready addresses out", () => {
    const svc: Service = {
      metadata: { name: "web", namespace: "default" },
      spec: { type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30080 }, { name: "metrics", port: 9090, nodePort: 30090 }, { name: "internal", port: 7000 }] },
    };
    const eps: Endpoints = {
      metadata: { name: "web", namespace: "default" },
      subsets: [
        {
          addresses: [{ ip: "172.17.0.3" }, { ip: "172.17.0.2" }],
          notReadyAddresses: [{ ip: "172.17.0.9" }],
          ports: [{ name: "metrics", port: 9100 }, { name: "http", port: 8080 }],
        },
      ],
    };
    const t = nodePortTable([svc, { metadata: { name: "plain", namespace: "default" }, spec: { type: "ClusterIP", ports: [{ port: 1, nodePort: 30001 }] } }], () => eps);
    expect([...t.keys()].sort()).toEqual([30080, 30090]);
    expect(t.get(30080)!.backends).toEqual([{ host: "172.17.0.2", port: 8080 }, { host: "172.17.0.3", port: 8080 }]);
    expect(t.get(30090)!.backends).toEqual([{ host: "172.17.0.2", port: 9100 }, { host: "172.17.0.3", port: 9100 }]);
  });

  it("serves not-ready addresses only when the Service publishes them", () => {
    const svc: Service = { metadata: { name: "db", namespace: "default" }, spec: { type: "NodePort", publishNotReadyAddresses: true, ports: [{ port: 5432, nodePort: 30432 }] } };
    const eps: Endpoints = { metadata: { name: "db", namespace: "default" }, subsets: [{ notReadyAddresses: [{ ip: "10.0.0.1" }], ports: [{ port: 5432 }] }] };
    expect(nodePortTable([svc], () => eps).get(30432)!.backends).toEqual([{ host: "10.0.0.1", port: 5432 }]);
  });
});

describe("service proxy", () => {
  it("balances connections round-robin over the ready endpoints", async () => {
    const [a, b, c, nr] = await Promise.all([backend("a"), backend("b"), backend("c"), backend("not-ready")]);
    const nodePort = await freePort();
    const src = new FakeSource();
    src.setService("web", [{ name: "http", port: 80, nodePort }]);
    src.setEndpoints("web", subsets([a, b, c], [nr]));
    await startProxy(src);
    await until("listening", async () => !(await refused(nodePort)));
    const seen: string[] = [];
    for (let i = 0; i < 9; i++) seen.push(await ask(nodePort));
    const counts = Object.fromEntries(["a", "b", "c", "not-ready"].map((n) => [n, seen.filter((s) => s === n).length]));
    expect(counts).toEqual({ a: 3, b: 3, c: 3, "not-ready": 0 });
  });

  it("follows endpoint changes within a second", async () => {
    const [a, b] = await Promise.all([backend("a"), backend("b")]);
    const nodePort = await freePort();
    const src = new FakeSource();
    src.setService("web", [{ name: "http", port: 80, nodePort }]);
    src.setEndpoints("web", subsets([a]));
    await startProxy(src);
    await until("serving a", async () => (await ask(nodePort).catch(() => "")) === "a");
    src.setEndpoints("web", subsets([b]));
    await until("serving only b", async () => {
      const names = await Promise.all([1, 2, 3].map(() => ask(nodePort).catch(() => "")));
      return names.every((n) => n === "b");
    });
  });

  it("drains an open connection to a removed endpoint instead of cutting it", async () => {
    const [a, b] = await Promise.all([backend("a"), backend("b")]);
    const nodePort = await freePort();
    const src = new FakeSource();
    src.setService("web", [{ name: "http", port: 80, nodePort }]);
    src.setEndpoints("web", subsets([a]));
    const proxy = await startProxy(src);
    await until("listening", async () => !(await refused(nodePort)));
    const conn = await openConn(nodePort);
    expect(conn.name).toBe("a");
    src.setEndpoints("web", subsets([b]));
    await until("new connections go to b", async () => (await ask(nodePort).catch(() => "")) === "b");
    expect(await conn.echo("still there")).toBe("still there");
    expect(proxy.listener(nodePort)!.connectionsTo({ host: HOST, port: a.port })).toBe(1);
  });

  it("tries the next endpoint when a connect fails", async () => {
    const [a, gone] = await Promise.all([backend("a"), backend("gone")]);
    await closeBackend(gone);
    const nodePort = await freePort();
    const src = new FakeSource();
    src.setService("web", [{ name: "http", port: 80, nodePort }]);
    src.setEndpoints("web", subsets([a, gone]));
    await startProxy(src);
    await until("listening", async () => !(await refused(nodePort)));
    for (let i = 0; i < 6; i++) expect(await ask(nodePort)).toBe("a");
  });

  it("refuses connections while a Service has no ready endpoint", async () => {
    const a = await backend("a");
    const nodePort = await freePort();
    const src = new FakeSource();
    src.setService("web", [{ name: "http", port: 80, nodePort }]);
    src.setEndpoints("web", subsets([], [a]));
    const proxy = await startProxy(src);
    await until("listening", () => proxy.ports.includes(nodePort));
    await expect(ask(nodePort)).rejects.toThrow();
  });

  it("closes the listener of a deleted Service and of a removed port", async () => {
    const a = await backend("a");
    const [p1, p2] = [await freePort(), await freePort()];
    const src = new FakeSource();
    src.setService("web", [
      { name: "http", port: 80, nodePort: p1 },
      { name: "alt", port: 81, nodePort: p2 },
    ]);
    src.setEndpoints("web", [{ addresses: [{ ip: HOST }], ports: [{ name: "http", port: a.port }, { name: "alt", port: a.port }] }]);
    const proxy = await startProxy(src);
    await until("both ports serve", async () => (await ask(p1).catch(() => "")) === "a" && (await ask(p2).catch(() => "")) === "a");
    src.setService("web", [{ name: "http", port: 80, nodePort: p1 }]);
    await until("removed port closed", () => refused(p2));
    expect(await ask(p1)).toBe("a");
    src.deleteService("web");
    await until("deleted service closed", () => refused(p1));
    expect(proxy.ports).toEqual([]);
  });

  it("stop() closes listeners and cuts open connections", async () => {
    const a = await backend("a");
    const nodePort = await freePort();
    const src = new FakeSource();
    src.setService("web", [{ name: "http", port: 80, nodePort }]);
    src.setEndpoints("web", subsets([a]));
    const proxy = await startProxy(src);
    await until("listening", async () => !(await refused(nodePort)));
    const conn = await openConn(nodePort);
    expect(conn.name).toBe("a");
    await proxy.stop();
    expect(await refused(nodePort)).toBe(true);
    await until("backend side closed", () => a.sockets.size === 0);
  });
});
