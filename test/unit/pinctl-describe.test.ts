// describe's layout: label/value pairs aligned per block, multi-line values
// under their first line, and the Events table with kubectl's ages and counts.

import { describe, expect, it } from "vitest";
import type { Event, Pod } from "../../src/api/types.js";
import { qosClass, renderEvents } from "../../src/cli/pinctl/describe.js";
import { DescribeWriter } from "../../src/cli/pinctl/describe-writer.js";

describe("describe writer", () => {
  it("aligns a block of pairs, continues multi-line values, and indents nested blocks", () => {
    const w = new DescribeWriter();
    w.pair(0, "Name", "web").map(0, "Labels", { tier: "front", app: "web" }).heading(0, "Containers").pair(1, "Image", "nginx").pair(1, "Restart Count", 0);
    expect(w.render()).toBe(
      ["Name:    web", "Labels:  app=web", "         tier=front", "Containers:", "  Image:          nginx", "  Restart Count:  0", ""].join("\n"),
    );
  });

  it("writes <none> for empty values", () => {
    expect(new DescribeWriter().pair(0, "IP", undefined).map(0, "Annotations", {}).render()).toBe("IP:           <none>\nAnnotations:  <none>\n");
  });
});

describe("events table", () => {
  const now = Date.parse("2026-11-30T12:00:00Z");
  const ev = (reason: string, at: string, count = 1, first?: string): Event => ({
    metadata: { name: reason },
    involvedObject: { kind: "Pod", name: "p" },
    reason,
    message: `${reason} happened`,
    type: "Normal",
    source: { component: "kubelet" },
    count,
    lastTimestamp: at,
    ...(first ? { firstTimestamp: first } : {}),
  });

  it("prints <none> without events", () => {
    expect(renderEvents([], now)).toBe("Events:  <none>\n");
  });

  it("prints one row per event with ages and repeat counts", () => {
    const text = renderEvents([ev("Pulled", "2026-11-30T11:59:30Z"), ev("BackOff", "2026-11-30T11:59:50Z", 5, "2026-11-30T11:50:00Z")], now);
    expect(text).toBe(
      [
        "Events:",
        "  Type    Reason   Age                From     Message",
        "  ----    ------   ----               ----     -------",
        "  Normal  Pulled   30s                kubelet  Pulled happened",
        "  Normal  BackOff  10s (x5 over 10m)  kubelet  BackOff happened",
        "",
      ].join("\n"),
    );
  });
});

describe("QoS class", () => {
  const pod = (resources: Record<string, Record<string, string>>): Pod => ({ metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i", resources }] } });
  it("is BestEffort without requests, Guaranteed with equal limits, Burstable otherwise", () => {
    expect(qosClass(pod({}))).toBe("BestEffort");
    expect(qosClass(pod({ limits: { cpu: "1", memory: "1Gi" } }))).toBe("Guaranteed");
    expect(qosClass(pod({ requests: { cpu: "100m" } }))).toBe("Burstable");
  });
});
