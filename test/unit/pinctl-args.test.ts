// The argument shapes pinctl accepts as kubectl does: deployment/NAME,
// "deployment NAME", comma-separated kinds, short names and plurals.

import { describe, expect, it } from "vitest";
import { parseCount, parseDuration, parseOneObject, parseResourceArgs } from "../../src/cli/pinctl/args.js";
import { parseImageAssignments } from "../../src/cli/pinctl/edit.js";

describe("resource arguments", () => {
  it.each([
    ["po", "pods"],
    ["pod", "pods"],
    ["pods", "pods"],
    ["deploy", "deployments"],
    ["deployment.apps", "deployments"],
    ["svc", "services"],
    ["rs", "replicasets"],
    ["no", "nodes"],
    ["ns", "namespaces"],
    ["ep", "endpoints"],
    ["cm", "configmaps"],
    ["hpa", "horizontalpodautoscalers"],
    ["ev", "events"],
    ["Deployment", "deployments"],
  ])("%s names %s", (arg, resource) => {
    expect(parseResourceArgs([arg]).kinds.map((k) => k.resource)).toEqual([resource]);
  });

  it("reads several kinds at once, and names for one kind", () => {
    expect(parseResourceArgs(["deploy,svc"]).kinds.map((k) => k.resource)).toEqual(["deployments", "services"]);
    const one = parseResourceArgs(["po", "a", "b"]);
    expect(one.refs.map((r) => `${r.info.resource}/${r.name}`)).toEqual(["pods/a", "pods/b"]);
  });

  it("expands kubectl's all category", () => {
    expect(parseResourceArgs(["all"]).kinds.map((k) => k.resource)).toEqual(["pods", "services", "deployments", "replicasets", "horizontalpodautoscalers"]);
  });

  it("reads KIND/NAME forms", () => {
    const r = parseResourceArgs(["deploy/web", "svc/web"]);
    expect(r.refs.map((x) => `${x.info.kind}/${x.name}`)).toEqual(["Deployment/web", "Service/web"]);
  });

  it("refuses an unknown kind with kubectl's words", () => {
    expect(() => parseResourceArgs(["frobs"])).toThrow('the server doesn\'t have a resource type "frobs"');
  });
});

describe("one object", () => {
  it("accepts deployment/NAME and deployment NAME", () => {
    expect(parseOneObject(["deployment/web"], "scale")).toMatchObject({ name: "web", info: { kind: "Deployment" } });
    expect(parseOneObject(["deploy", "web"], "scale")).toMatchObject({ name: "web", info: { kind: "Deployment" } });
  });

  it("refuses anything else", () => {
    expect(() => parseOneObject(["deployment"], "scale")).toThrow(/expected KIND\/NAME/);
    expect(() => parseOneObject(["deployment/"], "scale")).toThrow(/expected KIND\/NAME/);
    expect(() => parseOneObject(["a", "b", "c"], "scale")).toThrow(/expected KIND\/NAME/);
  });
});

describe("numbers and durations", () => {
  it("parses counts and refuses non-integers and values under the minimum", () => {
    expect(parseCount("3", "--replicas")).toBe(3);
    expect(() => parseCount("three", "--replicas")).toThrow("--replicas");
    expect(() => parseCount("0", "--max", 1)).toThrow("at least 1");
  });

  it("parses kubectl-style durations", () => {
    expect(parseDuration("30s", "--timeout")).toBe(30_000);
    expect(parseDuration("5m", "--timeout")).toBe(300_000);
    expect(parseDuration("90", "--timeout")).toBe(90_000);
    expect(() => parseDuration("soon", "--timeout")).toThrow("--timeout");
  });
});

describe("set image assignments", () => {
  it("reads CONTAINER=IMAGE pairs, images with registry ports and tags included", () => {
    expect(parseImageAssignments(["web=nginx:2", "side=reg:5000/log:1"])).toEqual([
      { container: "web", image: "nginx:2" },
      { container: "side", image: "reg:5000/log:1" },
    ]);
  });

  it("refuses a pair without a container or an image", () => {
    expect(() => parseImageAssignments(["=nginx"])).toThrow("CONTAINER=IMAGE");
    expect(() => parseImageAssignments(["web="])).toThrow("CONTAINER=IMAGE");
    expect(() => parseImageAssignments([])).toThrow("at least one");
  });
});
