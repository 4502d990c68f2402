import { describe, expect, it } from "vitest";
import { RestartBackoff } from "../../src/kubelet/backoff.js";
import { ProbeState, probeTiming } from "../../src/kubelet/probe-state.js";
import { cpuRate } from "../../src/kubelet/stats.js";
import { FrameDecoder, demuxAll } from "../../src/kubelet/stream-frames.js";
import { tarArchive } from "../../src/kubelet/tar.js";

describe("restart back-off", () => {
  it("restarts at once the first time, then waits 10 s, 20 s, 40 s ... up to 5 min", () => {
    const b = new RestartBackoff();
    let t = 1_000_000;
    expect(b.backoffUntil("k", t, t)).toBeNull();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      b.restarted("k", t);
      t += 1000; // the container crashes a second after each start
      const until = b.backoffUntil("k", t, t);
      expect(until).not.toBeNull();
      delays.push(until! - t);
      const crashedAt = t;
      t = until!;
      expect(b.backoffUntil("k", crashedAt, t)).toBeNull();
    }
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it("a container that ran 10 minutes since its last restart starts over", () => {
    const b = new RestartBackoff();
    b.restarted("k", 0);
    b.restarted("k", 1000);
    expect(b.currentDelay("k")).toBe(20_000);
    expect(b.backoffUntil("k", 1000 + 600_000, 1000 + 600_000)).toBeNull();
    expect(b.currentDelay("k")).toBe(0);
  });

  it("keys are independent and forgetPod drops a pod's entries", () => {
    const b = new RestartBackoff();
    b.restarted("uid1/a/h", 0);
    b.restarted("uid2/a/h", 0);
    b.forgetPod("uid1/");
    expect(b.backoffUntil("uid1/a/h", 1, 1)).toBeNull();
    expect(b.backoffUntil("uid2/a/h", 1, 1)).toBe(10_001);
  });
});

describe("probe state", () => {
  it("readiness starts not ready and needs successThreshold successes; failureThreshold failures to drop", () => {
    const s = new ProbeState("readiness", { successThreshold: 2, failureThreshold: 3 });
    expect(s.result).toBe("failure");
    expect(s.observe(true)).toBe(false);
    expect(s.observe(true)).toBe(true);
    expect(s.result).toBe("success");
    expect(s.observe(false)).toBe(false);
    expect(s.observe(false)).toBe(false);
    expect(s.observe(true)).toBe(false); // a success resets the failure count
    expect(s.observe(false)).toBe(false);
    expect(s.observe(false)).toBe(false);
    expect(s.observe(false)).toBe(true);
    expect(s.result).toBe("failure");
  });

  it("liveness starts alive; startup starts unknown", () => {
    expect(new ProbeState("liveness", { successThreshold: 1, failureThreshold: 1 }).result).toBe("success");
    const st = new ProbeState("startup", { successThreshold: 1, failureThreshold: 2 });
    expect(st.result).toBe("unknown");
    st.observe(false);
    expect(st.observe(false)).toBe(true);
    expect(st.result).toBe("failure");
  });

  it("timing defaults follow Kubernetes and liveness ignores successThreshold", () => {
    expect(probeTiming({}, "readiness")).toEqual({ initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
    expect(probeTiming({ successThreshold: 3, periodSeconds: 2, initialDelaySeconds: 5 }, "liveness")).toMatchObject({ successThreshold: 1, periodMs: 2000, initialDelayMs: 5000 });
  });
});

describe("docker stream frames", () => {
  const frame = (stream: number, text: string) => {
    const p = Buffer.from(text);
    const h = Buffer.alloc(8);
    h[0] = stream;
    h.writeUInt32BE(p.length, 4);
    return Buffer.concat([h, p]);
  };

  it("decodes frames split across chunks", () => {
    const data = Buffer.concat([frame(1, "hello\n"), frame(2, "oops\n"), frame(1, "bye\n")]);
    const out: string[] = [];
    const d = new FrameDecoder((s, p) => out.push(`${s}:${p.toString()}`));
    for (let i = 0; i < data.length; i += 3) d.push(data.subarray(i, i + 3));
    expect(out).toEqual(["1:hello\n", "2:oops\n", "1:bye\n"]);
    expect(demuxAll(data).toString()).toBe("hello\noops\nbye\n");
  });
});

describe("tar writer", () => {
  it("writes ustar headers with valid checksums, parent dirs and padding", () => {
    const tar = tarArchive([{ path: "bin/x", data: Buffer.from("abc"), mode: 0o755 }]);
    expect(tar.length % 512).toBe(0);
    expect(tar.subarray(0, 4).toString()).toBe("bin/");
    const h = tar.subarray(512, 1024);
    expect(h.subarray(0, 5).toString()).toBe("bin/x");
    const stored = parseInt(h.subarray(148, 154).toString(), 8);
    const copy = Buffer.from(h);
    copy.fill(0x20, 148, 156);
    expect(copy.reduce((a, b) => a + b, 0)).toBe(stored);
    expect(tar.subarray(1024, 1027).toString()).toBe("abc");
  });
});

describe("cpu rate", () => {
  it("is cpu nanoseconds per wall second", () => {
    expect(cpuRate({ cpuUsageCoreNanoSeconds: 0, memoryWorkingSetBytes: 0, timestamp: 0 }, { cpuUsageCoreNanoSeconds: 500_000_000, memoryWorkingSetBytes: 0, timestamp: 2000 })).toBe(250_000_000);
    expect(cpuRate({ cpuUsageCoreNanoSeconds: 10, memoryWorkingSetBytes: 0, timestamp: 5 }, { cpuUsageCoreNanoSeconds: 5, memoryWorkingSetBytes: 0, timestamp: 6 })).toBe(0);
  });
});
