// TLS for the apiPort. kubectl (client-go) sends a bearer token only over
// TLS, so the API answers both HTTPS and plain HTTP on the same port (the
// first byte of a connection tells a TLS handshake apart). Each master keeps
// a self-signed serving certificate in its data dir, made once with the
// openssl CLI; kubeconfigs use insecure-skip-tls-verify (or pin this cert).

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { join } from "node:path";
import type { Logger } from "pino";

export interface ServingCert {
  cert: Buffer;
  key: Buffer;
}

/** Loads or creates dir/apiserver.crt and .key for `host`; null when openssl is not available. */
export function ensureServingCert(dir: string, host: string, log: Logger): ServingCert | null {
  const certPath = join(dir, "apiserver.crt");
  const keyPath = join(dir, "apiserver.key");
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true });
    const isIp = /^[\d.]+$|:/.test(host);
    const r = spawnSync(
      "openssl",
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
        "-subj", "/CN=pinsetter-apiserver",
        "-addext", `subjectAltName=${isIp ? `IP:${host}` : `DNS:${host}`},DNS:localhost,IP:127.0.0.1`,
        "-keyout", keyPath, "-out", certPath,
      ],
      { encoding: "utf8", timeout: 20_000 },
    );
    if (r.status !== 0) {
      log.warn({ err: r.error?.message ?? r.stderr }, "could not create a TLS certificate with openssl; the API is served over plain HTTP only");
      return null;
    }
  }
  return { cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

/** One port for both: TLS handshakes go to `https`, everything else to `http`. */
export function dualProtocolServer(http: HttpServer, https: HttpsServer | null): { server: NetServer; destroyAll(): void } {
  const sockets = new Set<Socket>();
  const server = createNetServer({ pauseOnConnect: false }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.once("data", (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      const target = https && first[0] === 0x16 ? https : http;
      target.emit("connection", socket);
      process.nextTick(() => socket.resume());
    });
  });
  return {
    server,
    destroyAll() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
  };
}
