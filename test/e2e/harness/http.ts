// One plain HTTP GET with a deadline, as a user's browser would hit a nodePort.

import http from "node:http";

export interface Answer {
  ok: boolean;
  status: number;
  body: string;
  error?: string;
}

export function get(url: string, timeoutMs = 3000): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ ok: res.statusCode === 200, status: res.statusCode ?? 0, body: body.trim() }));
      res.on("error", (err) => resolve({ ok: false, status: res.statusCode ?? 0, body, error: err.message }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ ok: false, status: 0, body: "", error: err.message }));
  });
}

/** "hello from web-abc12 v1 ..." -> "web-abc12". */
export function podOf(body: string): string | null {
  const m = /^hello from (\S+)/.exec(body);
  return m ? m[1]! : null;
}

/**
 * Hits a URL back to back until stopped and counts what failed: the rollout
 * and failover scenarios assert on failures while something changes.
 */
export class Load {
  ok = 0;
  failures: { at: string; what: string }[] = [];
  bodies = new Map<string, number>();
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(urls: string[], concurrency = 2) {
    this.loops = [];
    for (let i = 0; i < concurrency; i++) for (const u of urls) this.loops.push(this.loop(u));
  }

  private async loop(url: string): Promise<void> {
    while (this.running) {
      const a = await get(url, 5000);
      if (!this.running) return;
      if (a.ok) {
        this.ok++;
        this.bodies.set(a.body, (this.bodies.get(a.body) ?? 0) + 1);
      } else this.failures.push({ at: new Date().toISOString(), what: `${url}: ${a.error ?? `HTTP ${a.status}`}` });
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
