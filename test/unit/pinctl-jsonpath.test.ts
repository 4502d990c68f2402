// -o jsonpath as scripts use it with kubectl: fields, lists, filters, ranges.

import { describe, expect, it } from "vitest";
import { renderJsonPath } from "../../src/cli/pinctl/jsonpath.js";

const pod = (name: string, ready: string, node?: string) => ({
  kind: "Pod",
  metadata: { name, labels: { "app.kubernetes.io/name": "web" } },
  spec: { ...(node ? { nodeName: node } : {}), containers: [{ name: "c", image: "i:1" }] },
  status: { conditions: [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: ready }] },
});
const list = { kind: "List", items: [pod("a", "True", "w1"), pod("b", "False")] };

describe("jsonpath", () => {
  it("reads a field of one object, strings raw and objects as JSON", () => {
    expect(renderJsonPath("{.metadata.name}", pod("a", "True"))).toBe("a");
    expect(renderJsonPath("{.spec.containers[0]}", pod("a", "True"))).toBe('{"name":"c","image":"i:1"}');
    expect(renderJsonPath("name={$.metadata.name}!", pod("a", "True"))).toBe("name=a!");
  });

  it("joins the results of [*] with spaces and skips missing fields", () => {
    expect(renderJsonPath("{.items[*].metadata.name}", list)).toBe("a b");
    expect(renderJsonPath("{.items[*].spec.nodeName}", list)).toBe("w1");
    expect(renderJsonPath("{.items[-1].metadata.name}", list)).toBe("b");
  });

  it("filters list items with ==, != and existence", () => {
    expect(renderJsonPath('{.items[0].status.conditions[?(@.type=="Ready")].status}', list)).toBe("True");
    expect(renderJsonPath('{.items[*].status.conditions[?(@.type!="Ready")].type}', list)).toBe("PodScheduled PodScheduled");
    expect(renderJsonPath("{.items[?(@.spec.nodeName)].metadata.name}", list)).toBe("a");
  });

  it("ranges with literals, and reads quoted keys with dots", () => {
    expect(renderJsonPath('{range .items[*]}{.metadata.name}{"\\t"}{.status.conditions[1].status}{"\\n"}{end}', list)).toBe("a\tTrue\nb\tFalse\n");
    expect(renderJsonPath("{.metadata.labels['app.kubernetes.io/name']}", pod("a", "True"))).toBe("web");
  });

  it("refuses a template it cannot parse", () => {
    expect(() => renderJsonPath("{.metadata.name", pod("a", "True"))).toThrow("unclosed");
    expect(() => renderJsonPath("{range .items[*]}{.x}", list)).toThrow("without {end}");
  });
});
