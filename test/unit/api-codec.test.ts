import { describe, expect, it } from "vitest";
import {
  decodeBody,
  DecodeError,
  decodeManifests,
  encodeYaml,
  findDuplicateFields,
  findUnknownFields,
  strictDecodingError,
} from "../../src/api/codec.js";
import { lookupResource, type ResourceInfo } from "../../src/api/resources.js";

const info = (r: string): ResourceInfo => lookupResource(r) as ResourceInfo;

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error("no error");
}

describe("decodeBody", () => {
  it("decodes JSON for every JSON media type", () => {
    for (const ct of ["application/json", "application/json; charset=utf-8", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/json-patch+json"]) {
      expect(decodeBody(Buffer.from('{"a": [1, "b"]}'), ct)).toEqual({ a: [1, "b"] });
    }
  });

  it("decodes YAML as Kubernetes does (YAML 1.1 octal and booleans, timestamps as strings)", () => {
    const v = decodeBody(Buffer.from("mode: 0644\nflag: yes\nt: 2024-01-01T00:00:00Z\nport: 8080\ntime: 1:30\nname: web\n"), "application/yaml");
    expect(v).toEqual({ mode: 420, flag: true, t: "2024-01-01T00:00:00Z", port: 8080, time: "1:30", name: "web" });
  });

  it("sniffs a missing content type", () => {
    expect(decodeBody(Buffer.from(' {"a":1}'), "")).toEqual({ a: 1 });
    expect(decodeBody(Buffer.from("a: 1"), "")).toEqual({ a: 1 });
  });

  it("strips a byte order mark", () => {
    expect(decodeBody(Buffer.from('\ufeff{"a":1}'), "application/json")).toEqual({ a: 1 });
  });

  it.each([
    ['{"a": 1,\n "b": }', 2, 7],
    ['{"a": 1', 1, 8],
    ['{"a" 1}', 1, 6],
    ["[1, 2,, 3]", 1, 7],
    ['{"a": tru}', 1, 7],
    ['{"a": 1} x', 1, 10],
    ['{"a": "\\x"}', 1, 8],
    ["\n\n  {\n  'a': 1}", 4, 3],
  ])("JSON error %j at line %d column %d", (text, line, column) => {
    const e = decodeError(() => decodeBody(Buffer.from(text), "application/json"));
    expect([e.line, e.column]).toEqual([line, column]);
    expect(e.message).toContain(`line ${line}, column ${column}`);
  });

  it.each([
    ["a: b\n  c: d: e\n", 1],
    ["a: [1, 2\nb: 3\n", 2],
    ["a:\n  - b\n c: d\n", 3],
    ["key: 'unterminated\n", 2],
  ])("YAML error %j names a line", (text, line) => {
    const e = decodeError(() => decodeBody(Buffer.from(text), "application/yaml"));
    expect(e.line).toBe(line);
    expect(e.column).toBeGreaterThan(0);
    expect(e.message).toMatch(/^yaml: line \d+, column \d+: /);
  });

  it("refuses empty bodies, several YAML documents, unknown media types", () => {
    expect(() => decodeBody(Buffer.from("  "), "application/json")).toThrow(DecodeError);
    expect(() => decodeBody(Buffer.from("a: 1\n---\nb: 2\n"), "application/yaml")).toThrow(/one document/);
    const e = decodeError(() => decodeBody(Buffer.from("x"), "application/vnd.kubernetes.protobuf"));
    expect(e.unsupportedMediaType).toBe(true);
  });

  it("bounds alias expansion (billion laughs)", () => {
    const lol = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) lol.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
    expect(() => decodeBody(Buffer.from(lol.join("\n")), "application/yaml")).toThrow(DecodeError);
  });
});

describe("decodeManifests", () => {
  it("reads multi-document YAML, skips empty documents, flattens Lists", () => {
    const text = `---
apiVersion: v1
kind: Namespace
metadata:
  name: a
---
# only a comment
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: c1}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: c2}
---
{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
`;
    const objs = decodeManifests(text);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(["Namespace/a", "ConfigMap/c1", "ConfigMap/c2", "Deployment/d"]);
  });

  it("accepts a JSON List", () => {
    const objs = decodeManifests(JSON.stringify({ kind: "PodList", apiVersion: "v1", items: [{ kind: "Pod", metadata: { name: "p" } }] }));
    expect(objs).toHaveLength(1);
  });

  it("names the document that is not an object, and the line of a syntax error", () => {
    expect(() => decodeManifests("a: 1\n---\n- x\n")).toThrow(/document 2 is not an object/);
    const e = decodeError(() => decodeManifests("kind: A\n---\nkind: B\n  bad: [\n"));
    expect(e.line).toBeGreaterThanOrEqual(3);
  });
});

describe("encodeYaml", () => {
  it("prints like kubectl: sorted keys, unindented sequences, ambiguous strings quoted", () => {
    const y = encodeYaml({ metadata: { name: "x" }, apiVersion: "v1", spec: { containers: [{ name: "c", args: ["yes", "0644", "1.5"] }] } });
    expect(y).toBe(`apiVersion: v1
metadata:
  name: x
spec:
  containers:
  - args:
    - "yes"
    - "0644"
    - "1.5"
    name: c
`);
  });

  it("round-trips through decodeBody", () => {
    const obj = { a: { b: ["on", "off", "y", "n", "true", "null", "~", "1e3", "0x10", "2024-01-01"], c: 1.5, d: null, e: "multi\nline" } };
    expect(decodeBody(Buffer.from(encodeYaml(obj)), "application/yaml")).toEqual(obj);
  });
});

describe("strict field checks", () => {
  const deploy = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", labels: { a: "b" } },
    spec: {
      replicas: 1,
      foo: 1,
      selector: { matchLabels: { a: "b" } },
      template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i", imagePullPolicy: "Always", bar: true, resources: { limits: { cpu: "1" } } }], volumes: [{ name: "v", configMap: { name: "x", baz: 1 } }] } },
    },
    status: {},
  };

  it("lists unknown fields with their paths", () => {
    expect(findUnknownFields(info("deployments"), deploy)).toEqual([
      "spec.foo",
      "spec.template.spec.containers[0].bar",
      "spec.template.spec.volumes[0].configMap.baz",
    ]);
  });

  it("knows every field of a typical manifest", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", annotations: { a: "b" }, ownerReferences: [{ apiVersion: "v1", kind: "X", name: "n", uid: "u", controller: true }] },
      spec: {
        containers: [{ name: "c", image: "i", command: ["sh"], env: [{ name: "A", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }], securityContext: { runAsUser: 1000, capabilities: { add: ["NET_ADMIN"] } }, readinessProbe: { httpGet: { port: 80, httpHeaders: [{ name: "a", value: "b" }] } } }],
        affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: { topologyKey: "k", labelSelector: { matchExpressions: [{ key: "a", operator: "In", values: ["b"] }] } } }] } },
        imagePullSecrets: [{ name: "reg" }],
        tolerations: [{ key: "k", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 }],
      },
    };
    expect(findUnknownFields(info("pods"), pod)).toEqual([]);
  });

  it("ignores patch directives when asked", () => {
    const patch = { spec: { template: { spec: { "$setElementOrder/containers": [{ name: "c" }], containers: [{ name: "c", $patch: "delete" }] } } } };
    expect(findUnknownFields(info("deployments"), patch, { allowDirectives: true })).toEqual([]);
    expect(findUnknownFields(info("deployments"), patch)).toHaveLength(2);
  });

  it("finds duplicate fields in JSON and YAML bodies", () => {
    expect(findDuplicateFields('{"spec": {"replicas": 1, "replicas": 2}, "metadata": {"name": "a"}}')).toEqual(["spec.replicas"]);
    expect(findDuplicateFields("metadata:\n  name: a\n  name: b\nspec:\n  containers:\n  - name: c\n    image: x\n    image: y\n")).toEqual([
      "metadata.name",
      "spec.containers[0].image",
    ]);
    expect(findDuplicateFields('{"a": 1}')).toEqual([]);
    expect(findDuplicateFields('{"spec": {"containers": [{"name": "a"}, {"name": "a", "\\u006eame": "b"}]}}')).toEqual(["spec.containers[1].name"]);
    expect(findDuplicateFields(' [{"a": 1, "a": 2}]')).toEqual(["[0].a"]);
  });

  it("words the strict decoding error as Kubernetes", () => {
    expect(strictDecodingError(["spec.foo"], ["spec.replicas"])).toBe('strict decoding error: unknown field "spec.foo", duplicate field "spec.replicas"');
    expect(strictDecodingError([], [])).toBeUndefined();
  });
});
