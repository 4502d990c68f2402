// Random and truncated input against the decoding and patch entry points:
// each may refuse with its own error type, none may throw anything else, hang
// or change its inputs. The API server relies on that to answer 400/422 and
// stay up (issue 8, "Bad input").
import { describe, expect, it } from "vitest";
import { decodeBody, DecodeError, decodeManifests, findDuplicateFields, findUnknownFields } from "../../src/api/codec.js";
import { applyJsonPatch, jsonMergePatch, PatchError, strategicMergePatch } from "../../src/api/patch.js";
import { lookupResource, type ResourceInfo } from "../../src/api/resources.js";
import { parseFieldSelector, parseLabelSelector, SelectorParseError } from "../../src/api/selectors.js";
import { isValidQuantity, parseQuantity, QuantityError } from "../../src/api/quantity.js";
import { prng } from "../lib/prng.js";

const info = (r: string): ResourceInfo => lookupResource(r) as ResourceInfo;

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: "nginx:1.25"
        ports: [{containerPort: 80}]
        env:
        - {name: A, value: "x: y"}
`;
const JSON_BODY = JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i", args: ["a", "b"] }] } });

function mutate(text: string, rand: () => number): string {
  const ops = 1 + Math.floor(rand() * 4);
  let s = text;
  for (let i = 0; i < ops; i++) {
    const at = Math.floor(rand() * (s.length + 1));
    switch (Math.floor(rand() * 4)) {
      case 0:
        s = s.slice(0, at); // truncate
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 5)); // delete
        break;
      case 2:
        s = s.slice(0, at) + "{}[]:,\"'-&*!|>#%@`\n\t \\\u0000\u00e9"[Math.floor(rand() * 24)] + s.slice(at); // insert
        break;
      default:
        s = s.slice(0, at) + s.slice(at, at + 8) + s.slice(at); // duplicate a slice
    }
  }
  return s;
}

function onlyThrows(fn: () => unknown, ...allowed: (new (...a: never[]) => Error)[]): void {
  try {
    fn();
  } catch (e) {
    if (!allowed.some((c) => e instanceof c)) throw e;
  }
}

describe("fuzz: decoding", () => {
  it("random edits of YAML and JSON bodies give a value or a DecodeError", () => {
    const rand = prng(7);
    for (let n = 0; n < 250; n++) {
      const yamlText = mutate(MANIFEST, rand);
      const jsonText = mutate(JSON_BODY, rand);
      onlyThrows(() => decodeBody(Buffer.from(yamlText), "application/yaml"), DecodeError);
      onlyThrows(() => decodeBody(Buffer.from(jsonText), "application/json"), DecodeError);
      onlyThrows(() => decodeManifests(yamlText), DecodeError);
      onlyThrows(() => findDuplicateFields(yamlText));
      try {
        const v = decodeBody(Buffer.from(jsonText), "application/json");
        findUnknownFields(info("pods"), v);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        // a JSON syntax error always says where
        if (e.message === "request body is empty") continue;
        expect(e.line, e.message).toBeGreaterThan(0);
        expect(e.column).toBeGreaterThan(0);
      }
    }
  });

  it("__proto__ in a body is an ordinary key, never a prototype", () => {
    const v = decodeBody(Buffer.from('{"metadata": {"name": "x", "__proto__": {"polluted": 1}}}'), "application/json") as { metadata: Record<string, unknown> };
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(findUnknownFields(info("pods"), v)).toEqual(["metadata.__proto__"]);
    const merged = jsonMergePatch<Record<string, unknown>>({ a: 1 }, JSON.parse('{"__proto__": {"b": 2}}'));
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged)).toEqual(["a", "__proto__"]);
    const smp = strategicMergePatch<Record<string, unknown>>({ a: 1 }, JSON.parse('{"__proto__": {"b": 2}}'), { kind: "Pod" });
    expect(Object.getPrototypeOf(smp)).toBe(Object.prototype);
    const jp = applyJsonPatch<Record<string, unknown>>({}, [{ op: "add", path: "/__proto__", value: { c: 3 } }]);
    expect(Object.getPrototypeOf(jp)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).c).toBeUndefined();
  });
});

describe("fuzz: patches", () => {
  const base = JSON.parse(JSON_BODY) as unknown;
  const VALUES: unknown[] = [null, 1, "s", true, [], {}, [1, { name: "c" }], { name: "c", $patch: "delete" }, { $patch: "replace" }, { $retainKeys: ["a"] }, ["x"], { "$setElementOrder/containers": [{ name: "c" }] }];
  const KEYS = ["metadata", "spec", "containers", "name", "image", "args", "labels", "$patch", "$retainKeys", "$setElementOrder/containers", "$deleteFromPrimitiveList/args", "a"];
  const randomPatch = (rand: () => number, depth = 0): unknown => {
    if (depth > 3 || rand() < 0.3) return VALUES[Math.floor(rand() * VALUES.length)];
    if (rand() < 0.2) return [randomPatch(rand, depth + 1), randomPatch(rand, depth + 1)];
    const o: Record<string, unknown> = {};
    const n = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) o[KEYS[Math.floor(rand() * KEYS.length)] as string] = randomPatch(rand, depth + 1);
    return o;
  };

  it("random strategic and merge patches give a document or a PatchError, inputs untouched", () => {
    const rand = prng(11);
    const before = JSON.stringify(base);
    for (let n = 0; n < 3000; n++) {
      const patch = randomPatch(rand);
      const patchText = JSON.stringify(patch);
      onlyThrows(() => strategicMergePatch(base, patch, info("pods")), PatchError);
      onlyThrows(() => strategicMergePatch(base, patch, info("deployments")), PatchError);
      jsonMergePatch(base, patch);
      expect(JSON.stringify(patch)).toBe(patchText);
    }
    expect(JSON.stringify(base)).toBe(before);
  });

  it("random JSON patches give a document or a PatchError", () => {
    const rand = prng(13);
    const paths = ["", "/", "/metadata", "/metadata/name", "/spec/containers/0", "/spec/containers/-", "/spec/containers/9", "/spec/containers/0/args/1", "/x/y", "/~2", "/a~1b", "/spec/containers/01"];
    const ops = ["add", "remove", "replace", "move", "copy", "test", "bogus"];
    for (let n = 0; n < 3000; n++) {
      const list = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ({
        op: ops[Math.floor(rand() * ops.length)],
        path: paths[Math.floor(rand() * paths.length)],
        from: rand() < 0.5 ? paths[Math.floor(rand() * paths.length)] : undefined,
        value: rand() < 0.8 ? VALUES[Math.floor(rand() * VALUES.length)] : undefined,
      }));
      onlyThrows(() => applyJsonPatch(base, list), PatchError);
    }
  });
});

describe("fuzz: selectors and quantities", () => {
  it("random selector strings parse or throw SelectorParseError", () => {
    const rand = prng(17);
    const alphabet = "ab=!,() innotin.-/_x1 >< \\";
    for (let n = 0; n < 3000; n++) {
      const s = Array.from({ length: Math.floor(rand() * 20) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join("");
      onlyThrows(() => parseLabelSelector(s).matches({ a: "b" }), SelectorParseError);
      onlyThrows(() => parseFieldSelector(s, info("pods")).matches({ metadata: { name: "a" } }), SelectorParseError);
    }
  });

  it("random quantity strings parse or throw QuantityError, consistently with isValidQuantity", () => {
    const rand = prng(19);
    const alphabet = "0123456789.+-eEmkMGTPiKu n";
    for (let n = 0; n < 3000; n++) {
      const s = Array.from({ length: Math.floor(rand() * 8) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join("");
      let ok = true;
      onlyThrows(() => {
        try {
          parseQuantity(s);
        } catch (e) {
          ok = false;
          throw e;
        }
      }, QuantityError);
      expect(isValidQuantity(s)).toBe(ok);
    }
  });
});
