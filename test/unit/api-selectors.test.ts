import { describe, expect, it } from "vitest";
import { lookupResource, type ResourceInfo } from "../../src/api/resources.js";
import {
  labelSelectorFromObject,
  labelSelectorToString,
  parseFieldSelector,
  parseLabelSelector,
  SelectorParseError,
} from "../../src/api/selectors.js";
import type { KubeObject } from "../../src/api/types.js";

const info = (r: string): ResourceInfo => lookupResource(r) as ResourceInfo;

describe("parseLabelSelector matching", () => {
  const labels = { app: "web", tier: "front", env: "prod", n: "5" };
  it.each([
    ["", true],
    ["app=web", true],
    ["app==web", true],
    ["app=db", false],
    ["app!=db", true],
    ["app!=web", false],
    ["missing!=x", true],
    ["env in (prod,staging)", true],
    ["env in (dev)", false],
    ["env notin (dev,qa)", true],
    ["env notin (prod)", false],
    ["missing notin (prod)", true],
    ["missing in (prod)", false],
    ["tier", true],
    ["missing", false],
    ["!missing", true],
    ["!tier", false],
    ["app=web,tier=front", true],
    ["app=web,tier=back", false],
    ["app=web, env in (prod), !canary", true],
    ["n>3", true],
    ["n<3", false],
    ["n>9", false],
    ["a.b/c=x", false],
  ])("%j -> %s", (sel, want) => {
    expect(parseLabelSelector(sel).matches(labels)).toBe(want);
  });

  it("matches undefined labels as empty", () => {
    expect(parseLabelSelector("!a").matches(undefined)).toBe(true);
    expect(parseLabelSelector("a").matches(undefined)).toBe(false);
  });

  it("empty means everything", () => {
    expect(parseLabelSelector("").empty).toBe(true);
    expect(parseLabelSelector("  ").empty).toBe(true);
    expect(parseLabelSelector("a=b").empty).toBe(false);
  });

  it("a= matches an empty value", () => {
    expect(parseLabelSelector("a=").matches({ a: "" })).toBe(true);
    expect(parseLabelSelector("a=").matches({ a: "x" })).toBe(false);
  });

  it("prints a canonical string, sorted by key", () => {
    expect(parseLabelSelector("z=1,a in (y,x),!b,c").toString()).toBe("a in (x,y),!b,c,z=1");
  });

  it("exactMatches lists the equality requirements", () => {
    expect(parseLabelSelector("app=web,env in (prod),x!=y,t in (a,b)").exactMatches()).toEqual({ app: "web", env: "prod" });
  });

  it.each([
    ["app=web,", "end of string"],
    ["app in prod", "'('"],
    ["app in ()", "can't be empty"],
    ["=web", "identifier"],
    ["app = web extra", "','"],
    ["bad key!=x", "expected"],
    ["Bad_/x=y", "invalid label key"],
    ["app=-bad-", "invalid label value"],
    ["n>x", "integer"],
    ["a in (x", "')'"],
  ])("refuses %j with a clear message", (sel, fragment) => {
    let err: unknown;
    try {
      parseLabelSelector(sel);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorParseError);
    expect((err as Error).message).toContain(fragment);
  });
});

describe("labelSelectorFromObject", () => {
  it("matchLabels and matchExpressions are ANDed", () => {
    const m = labelSelectorFromObject({
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "env", operator: "In", values: ["prod", "qa"] },
        { key: "canary", operator: "DoesNotExist" },
        { key: "tier", operator: "Exists" },
        { key: "zone", operator: "NotIn", values: ["a"] },
      ],
    });
    expect(m.matches({ app: "web", env: "qa", tier: "x" })).toBe(true);
    expect(m.matches({ app: "web", env: "qa", tier: "x", canary: "1" })).toBe(false);
    expect(m.matches({ app: "web", env: "dev", tier: "x" })).toBe(false);
    expect(m.matches({ app: "web", env: "qa" })).toBe(false);
    expect(m.matches({ app: "web", env: "qa", tier: "x", zone: "a" })).toBe(false);
  });

  it("{} selects everything, null and undefined select nothing", () => {
    expect(labelSelectorFromObject({}).matches({ a: "b" })).toBe(true);
    expect(labelSelectorFromObject(undefined).matches({})).toBe(false);
    expect(labelSelectorFromObject(null).nothing).toBe(true);
  });

  it("refuses bad operators and In without values", () => {
    expect(() => labelSelectorFromObject({ matchExpressions: [{ key: "a", operator: "Foo" as "In" }] })).toThrow(SelectorParseError);
    expect(() => labelSelectorFromObject({ matchExpressions: [{ key: "a", operator: "In", values: [] }] })).toThrow(/can't be empty/);
  });

  it("labelSelectorToString renders as kubectl -o wide", () => {
    expect(labelSelectorToString({ matchLabels: { app: "web", tier: "a" } })).toBe("app=web,tier=a");
    expect(labelSelectorToString({ matchExpressions: [{ key: "env", operator: "NotIn", values: ["b", "a"] }] })).toBe("env notin (a,b)");
    expect(labelSelectorToString(undefined)).toBe("<none>");
    expect(labelSelectorToString({})).toBe("<none>");
    expect(labelSelectorToString({ matchLabels: { "bad key": "x" } })).toBe("<error>");
  });

  it("round-trips through parseLabelSelector", () => {
    const s = labelSelectorToString({ matchLabels: { a: "1" }, matchExpressions: [{ key: "b", operator: "Exists" }, { key: "c", operator: "In", values: ["x", "y"] }] });
    const m = parseLabelSelector(s);
    expect(m.toString()).toBe(s);
  });
});

describe("parseFieldSelector", () => {
  const pod = {
    metadata: { name: "p1", namespace: "default" },
    spec: { nodeName: "w1", schedulerName: "default-scheduler", containers: [] },
    status: { phase: "Running" },
  } as KubeObject;
  const pending = { metadata: { name: "p2", namespace: "kube-system" }, spec: { containers: [] }, status: { phase: "Pending" } } as KubeObject;

  it.each([
    ["spec.nodeName=w1", true, false],
    ["spec.nodeName==w1", true, false],
    ["spec.nodeName!=w1", false, true],
    ["spec.nodeName=", false, true],
    ["status.phase=Running", true, false],
    ["status.phase!=Failed,status.phase!=Succeeded", true, true],
    ["metadata.name=p1", true, false],
    ["metadata.namespace=kube-system", false, true],
    ["spec.schedulerName=default-scheduler", true, false],
    ["", true, true],
  ])("%j", (sel, a, b) => {
    const m = parseFieldSelector(sel, info("pods"));
    expect(m.matches(pod)).toBe(a);
    expect(m.matches(pending)).toBe(b);
  });

  it("names the unsupported field", () => {
    expect(() => parseFieldSelector("spec.foo=bar", info("pods"))).toThrow("field label not supported: spec.foo");
    expect(() => parseFieldSelector("spec.nodeName=x", info("deployments"))).toThrow("field label not supported: spec.nodeName");
    expect(() => parseFieldSelector("type=Opaque", info("pods"))).toThrow(SelectorParseError);
  });

  it("supports involvedObject fields on events and type on secrets", () => {
    const ev = { metadata: { name: "e", namespace: "default" }, involvedObject: { kind: "Pod", name: "p1", uid: "u1" }, type: "Warning", reason: "BackOff" } as KubeObject;
    expect(parseFieldSelector("involvedObject.kind=Pod,involvedObject.name=p1", info("events")).matches(ev)).toBe(true);
    expect(parseFieldSelector("involvedObject.uid=u2", info("events")).matches(ev)).toBe(false);
    expect(parseFieldSelector("type=Warning,reason=BackOff", info("events")).matches(ev)).toBe(true);
    const secret = { metadata: { name: "s", namespace: "default" }, type: "kubernetes.io/tls" } as KubeObject;
    expect(parseFieldSelector("type=kubernetes.io/tls", info("secrets")).matches(secret)).toBe(true);
  });

  it("unescapes values and reports the exact match", () => {
    const m = parseFieldSelector("metadata.name=a\\,b", info("pods"));
    expect(m.matches({ metadata: { name: "a,b" } } as KubeObject)).toBe(true);
    expect(m.exactMatch("metadata.name")).toBe("a,b");
    expect(m.toString()).toBe("metadata.name=a\\,b");
    expect(parseFieldSelector("spec.nodeName=w1", info("pods")).exactMatch("spec.nodeName")).toBe("w1");
    expect(parseFieldSelector("spec.nodeName!=w1", info("pods")).exactMatch("spec.nodeName")).toBeUndefined();
  });

  it("refuses a term without an operator", () => {
    expect(() => parseFieldSelector("spec.nodeName", info("pods"))).toThrow(SelectorParseError);
  });

  it("nodes: spec.unschedulable and metadata.name", () => {
    const node = { metadata: { name: "w1" }, spec: { unschedulable: true } } as KubeObject;
    expect(parseFieldSelector("spec.unschedulable=true", info("nodes")).matches(node)).toBe(true);
    expect(parseFieldSelector("spec.unschedulable=false", info("nodes")).matches({ metadata: { name: "w2" } })).toBe(true);
  });
});
