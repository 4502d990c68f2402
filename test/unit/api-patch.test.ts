import { describe, expect, it } from "vitest";
import { applyJsonPatch, jsonMergePatch, PatchError, strategicMergePatch } from "../../src/api/patch.js";

describe("jsonMergePatch (RFC 7386 appendix A)", () => {
  it.each([
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])("%j + %j = %j", (target, patch, want) => {
    expect(jsonMergePatch(target, patch)).toEqual(want);
  });

  it("does not modify its inputs", () => {
    const target = { a: { b: 1 } };
    const patch = { a: { c: 2 } };
    jsonMergePatch(target, patch);
    expect(target).toEqual({ a: { b: 1 } });
    expect(patch).toEqual({ a: { c: 2 } });
  });
});

describe("applyJsonPatch (RFC 6902)", () => {
  const doc = { foo: "bar", list: [1, 2, 3], "a/b": 1, "m~n": 2, nested: { x: { y: 1 } } };
  it.each([
    [[{ op: "add", path: "/baz", value: "qux" }], { baz: "qux" }],
    [[{ op: "add", path: "/list/1", value: 9 }], { list: [1, 9, 2, 3] }],
    [[{ op: "add", path: "/list/-", value: 4 }], { list: [1, 2, 3, 4] }],
    [[{ op: "add", path: "/list/3", value: 4 }], { list: [1, 2, 3, 4] }],
    [[{ op: "remove", path: "/list/0" }], { list: [2, 3] }],
    [[{ op: "replace", path: "/foo", value: 5 }], { foo: 5 }],
    [[{ op: "replace", path: "/a~1b", value: 7 }], { "a/b": 7 }],
    [[{ op: "replace", path: "/m~0n", value: 8 }], { "m~n": 8 }],
    [[{ op: "move", from: "/foo", path: "/moved" }], { moved: "bar" }],
    [[{ op: "copy", from: "/nested/x", path: "/copy" }], { copy: { y: 1 } }],
    [[{ op: "move", from: "/list/0", path: "/list/2" }], { list: [2, 3, 1] }],
    [[{ op: "test", path: "/nested", value: { x: { y: 1 } } }, { op: "add", path: "/ok", value: true }], { ok: true }],
  ] as [Record<string, unknown>[], Record<string, unknown>][])("%j", (ops, changes) => {
    const got = applyJsonPatch<Record<string, unknown>>(doc, ops);
    const want = structuredClone(doc) as Record<string, unknown>;
    for (const [k, v] of Object.entries(changes)) want[k] = v;
    if (ops[0]?.op === "remove" && ops[0].path === "/list/0") want.list = [2, 3];
    if (ops[0]?.op === "move" && ops[0].from === "/foo") delete want.foo;
    expect(got).toEqual(want);
  });

  it("replaces the whole document at the root pointer", () => {
    expect(applyJsonPatch({ a: 1 }, [{ op: "replace", path: "", value: [1] }])).toEqual([1]);
  });

  it.each([
    [[{ op: "test", path: "/foo", value: "nope" }], /testing value \/foo failed/],
    [[{ op: "remove", path: "/missing" }], /does not exist/],
    [[{ op: "replace", path: "/missing", value: 1 }], /does not exist/],
    [[{ op: "add", path: "/missing/x", value: 1 }], /does not exist/],
    [[{ op: "add", path: "/list/5", value: 1 }], /out of bounds/],
    [[{ op: "add", path: "/list/01", value: 1 }], /invalid array index/],
    [[{ op: "remove", path: "/list/-" }], /invalid array index/],
    [[{ op: "bogus", path: "/foo" }], /unknown op/],
    [[{ op: "add", path: "/x" }], /missing "value"/],
    [[{ op: "move", path: "/x" }], /missing "from"/],
    [[{ op: "add", path: "x", value: 1 }], /must start with/],
    [[{ op: "move", from: "/nested", path: "/nested/x/z" }], /own child/],
    [{ op: "add" }, /must be an array/],
  ])("fails with PatchError: %j", (ops, msg) => {
    expect(() => applyJsonPatch(doc, ops)).toThrow(PatchError);
    expect(() => applyJsonPatch(doc, ops)).toThrow(msg);
  });

  it("is all or nothing and never touches the input", () => {
    const input = structuredClone(doc);
    expect(() =>
      applyJsonPatch(input, [
        { op: "add", path: "/first", value: 1 },
        { op: "test", path: "/foo", value: "other" },
      ]),
    ).toThrow(PatchError);
    expect(input).toEqual(doc);
  });
});

const POD = { kind: "Pod" };
const DEPLOY = { kind: "Deployment" };
const SVC = { kind: "Service" };

describe("strategicMergePatch", () => {
  const pod = {
    metadata: { name: "p", labels: { a: "1", b: "2" }, finalizers: ["x"], ownerReferences: [{ uid: "u1", name: "rs", kind: "ReplicaSet", apiVersion: "apps/v1" }] },
    spec: {
      containers: [
        { name: "web", image: "nginx:1", ports: [{ containerPort: 80, name: "http" }], env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] },
        { name: "side", image: "busybox", volumeMounts: [{ name: "v", mountPath: "/data" }] },
      ],
      volumes: [{ name: "v", emptyDir: {} }],
      tolerations: [{ key: "k", operator: "Exists" }],
    },
  };

  it("merges containers by name and leaves the others alone", () => {
    const got = strategicMergePatch<typeof pod>(pod, { spec: { containers: [{ name: "web", image: "nginx:2" }] } }, POD);
    expect(got.spec.containers).toHaveLength(2);
    expect(got.spec.containers[0]).toMatchObject({ name: "web", image: "nginx:2", ports: [{ containerPort: 80, name: "http" }] });
    expect(got.spec.containers[1]).toEqual(pod.spec.containers[1]);
  });

  it("adds a container with a new name (first, as Kubernetes orders a patch without $setElementOrder)", () => {
    const got = strategicMergePatch<typeof pod>(pod, { spec: { containers: [{ name: "new", image: "x" }] } }, POD);
    expect(got.spec.containers.map((c) => c.name)).toEqual(["new", "web", "side"]);
  });

  it("keeps the order $setElementOrder gives, interleaving elements only the server has", () => {
    // current [1, 4, 2], order [3, 1, 2], patch adds 3: 4 stays between 1 and 2.
    const cur = { spec: { containers: [{ name: "c1" }, { name: "c4" }, { name: "c2" }] } };
    const got = strategicMergePatch<any>(
      cur,
      { spec: { "$setElementOrder/containers": [{ name: "c3" }, { name: "c1" }, { name: "c2" }], containers: [{ name: "c3", image: "i" }] } },
      POD,
    );
    expect(got.spec.containers.map((c: { name: string }) => c.name)).toEqual(["c3", "c1", "c4", "c2"]);
    const fin = strategicMergePatch<any>(
      { metadata: { finalizers: ["a", "d", "b"] } },
      { metadata: { "$setElementOrder/finalizers": ["c", "a", "b"], finalizers: ["c"] } },
      POD,
    );
    expect(fin.metadata.finalizers).toEqual(["c", "a", "d", "b"]);
  });

  it("orders by $setElementOrder alone, deletes by $deleteFromPrimitiveList", () => {
    const got = strategicMergePatch<any>(
      { metadata: { finalizers: ["a", "b", "c"] } },
      { metadata: { "$setElementOrder/finalizers": ["b", "a"], "$deleteFromPrimitiveList/finalizers": ["c"] } },
      POD,
    );
    expect(got.metadata.finalizers).toEqual(["b", "a"]);
  });

  it("merges env by name and ports by containerPort", () => {
    const got = strategicMergePatch<any>(
      pod,
      { spec: { containers: [{ name: "web", env: [{ name: "B", value: "3" }, { name: "C", value: "4" }], ports: [{ containerPort: 443 }] }] } },
      POD,
    );
    expect(got.spec.containers[0].env).toEqual([{ name: "A", value: "1" }, { name: "B", value: "3" }, { name: "C", value: "4" }]);
    expect(got.spec.containers[0].ports).toEqual([{ containerPort: 443 }, { containerPort: 80, name: "http" }]);
  });

  it("deletes a list element with $patch: delete", () => {
    const got = strategicMergePatch<any>(pod, { spec: { containers: [{ name: "side", $patch: "delete" }] } }, POD);
    expect(got.spec.containers.map((c: { name: string }) => c.name)).toEqual(["web"]);
  });

  it("replaces a whole list with a {$patch: replace} element", () => {
    const got = strategicMergePatch<any>(pod, { spec: { containers: [{ name: "only", image: "i" }, { $patch: "replace" }] } }, POD);
    expect(got.spec.containers).toEqual([{ name: "only", image: "i" }]);
  });

  it("replaces a map with $patch: replace", () => {
    const got = strategicMergePatch<any>(pod, { metadata: { labels: { $patch: "replace", c: "3" } } }, POD);
    expect(got.metadata.labels).toEqual({ c: "3" });
  });

  it("deletes a map with $patch: delete and a key with null", () => {
    const got = strategicMergePatch<any>(pod, { metadata: { labels: { a: null } }, spec: { volumes: null } }, POD);
    expect(got.metadata.labels).toEqual({ b: "2" });
    expect(got.spec.volumes).toBeUndefined();
    const got2 = strategicMergePatch<any>(pod, { metadata: { labels: { $patch: "delete" }, annotations: { $patch: "delete" } } }, POD);
    expect(got2.metadata.labels).toEqual({});
    expect(got2.metadata).not.toHaveProperty("annotations");
  });

  it("replaces atomic lists (tolerations, command)", () => {
    const got = strategicMergePatch<any>(pod, { spec: { tolerations: [{ key: "z", operator: "Exists" }] } }, POD);
    expect(got.spec.tolerations).toEqual([{ key: "z", operator: "Exists" }]);
  });

  it("merges finalizers as a set and removes with $deleteFromPrimitiveList", () => {
    const got = strategicMergePatch<any>(pod, { metadata: { finalizers: ["y", "x"] } }, POD);
    expect(got.metadata.finalizers).toEqual(["y", "x"]);
    const got2 = strategicMergePatch<any>(got, { metadata: { "$deleteFromPrimitiveList/finalizers": ["x"] } }, POD);
    expect(got2.metadata.finalizers).toEqual(["y"]);
  });

  it("merges ownerReferences by uid and volumeMounts by mountPath", () => {
    const got = strategicMergePatch<any>(
      pod,
      {
        metadata: { ownerReferences: [{ uid: "u1", controller: true }, { uid: "u2", name: "d", kind: "Deployment", apiVersion: "apps/v1" }] },
        spec: { containers: [{ name: "side", volumeMounts: [{ mountPath: "/data", readOnly: true }] }] },
      },
      POD,
    );
    expect(got.metadata.ownerReferences).toHaveLength(2);
    expect(got.metadata.ownerReferences[0]).toMatchObject({ uid: "u1", name: "rs", controller: true });
    expect(got.spec.containers[1].volumeMounts).toEqual([{ name: "v", mountPath: "/data", readOnly: true }]);
  });

  it("orders a merged list by $setElementOrder", () => {
    const got = strategicMergePatch<any>(
      pod,
      { spec: { "$setElementOrder/containers": [{ name: "side" }, { name: "web" }], containers: [{ name: "web", image: "nginx:3" }] } },
      POD,
    );
    expect(got.spec.containers.map((c: { name: string }) => c.name)).toEqual(["side", "web"]);
    expect(got.spec.containers[1].image).toBe("nginx:3");
    expect(JSON.stringify(got)).not.toContain("$setElementOrder");
  });

  it("keeps only $retainKeys fields (deployment strategy switched to Recreate)", () => {
    const d = { spec: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } } } };
    const got = strategicMergePatch<any>(d, { spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } }, DEPLOY);
    expect(got.spec.strategy).toEqual({ type: "Recreate" });
  });

  it("merges service ports by port", () => {
    const svc = { spec: { ports: [{ port: 80, targetPort: 8080, name: "http" }, { port: 443, name: "https" }] } };
    const got = strategicMergePatch<any>(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }, SVC);
    expect(got.spec.ports).toEqual([{ port: 80, targetPort: 9090, name: "http" }, { port: 443, name: "https" }]);
  });

  it("merges status conditions by type", () => {
    const p = { status: { conditions: [{ type: "Ready", status: "False" }, { type: "PodScheduled", status: "True" }] } };
    const got = strategicMergePatch<any>(p, { status: { conditions: [{ type: "Ready", status: "True" }] } }, POD);
    expect(got.status.conditions).toEqual([{ type: "Ready", status: "True" }, { type: "PodScheduled", status: "True" }]);
  });

  it("strips directives from values that are new", () => {
    const got = strategicMergePatch<any>({ spec: {} }, { spec: { containers: [{ name: "a", env: [{ name: "X", $patch: "delete" }], ports: [{ containerPort: 1 }] }] } }, POD);
    expect(got.spec.containers).toEqual([{ name: "a", env: [], ports: [{ containerPort: 1 }] }]);
  });

  it("refuses fields outside $retainKeys and $patch: merge in a map", () => {
    expect(() => strategicMergePatch({ spec: {} }, { spec: { strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: {} } } }, DEPLOY)).toThrow(/\$retainKeys/);
    expect(strategicMergePatch<any>({ spec: { strategy: { type: "A", x: 1 } } }, { spec: { strategy: { $retainKeys: ["type"], type: "B", rollingUpdate: null } } }, DEPLOY).spec.strategy).toEqual({ type: "B" });
    expect(() => strategicMergePatch(pod, { metadata: { labels: { $patch: "merge" } } }, POD)).toThrow(PatchError);
    expect(() => strategicMergePatch(pod, { spec: { containers: [{ name: "web", $patch: "merge" }] } }, POD)).toThrow(/merging lists cannot yet be specified/);
  });

  it("refuses an element without its merge key, and a bad $patch", () => {
    expect(() => strategicMergePatch(pod, { spec: { containers: [{ image: "x" }] } }, POD)).toThrow(/merge key/);
    expect(() => strategicMergePatch(pod, { metadata: { $patch: "explode" } }, POD)).toThrow(PatchError);
    expect(() => strategicMergePatch(pod, [1], POD)).toThrow(PatchError);
  });

  it("acts as a merge patch for unknown kinds, and leaves inputs unchanged", () => {
    const before = structuredClone(pod);
    const got = strategicMergePatch<any>({ a: [1, 2], b: { c: 1 } }, { a: [3], b: { d: 2 } }, { kind: "Unknown" });
    expect(got).toEqual({ a: [3], b: { c: 1, d: 2 } });
    strategicMergePatch(pod, { spec: { containers: [{ name: "web", image: "q" }] } }, POD);
    expect(pod).toEqual(before);
  });

  it("handles a kubectl apply patch of a deployment template", () => {
    const d = {
      spec: {
        replicas: 3,
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx:1", resources: { limits: { cpu: "1" } } }] } },
      },
    };
    const got = strategicMergePatch<any>(
      d,
      {
        metadata: { annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
        spec: { template: { spec: { "$setElementOrder/containers": [{ name: "web" }], containers: [{ name: "web", image: "nginx:2" }] } } },
      },
      DEPLOY,
    );
    expect(got.spec.replicas).toBe(3);
    expect(got.spec.template.spec.containers).toEqual([{ name: "web", image: "nginx:2", resources: { limits: { cpu: "1" } } }]);
  });
});

describe("the patch kubectl 1.32 apply computed from our OpenAPI v3 (recorded)", () => {
  // kubectl apply of a Deployment, then again after an edit that changed the
  // image, replaced env B by C, removed the "side" container and changed a
  // capability: this is the body it sent (last-applied annotation left out).
  const recorded = {
    spec: {
      template: {
        spec: {
          "$setElementOrder/containers": [{ name: "web" }],
          containers: [
            {
              "$setElementOrder/env": [{ name: "A" }, { name: "C" }],
              env: [{ name: "C", value: "3" }, { $patch: "delete", name: "B" }],
              image: "nginx:2",
              name: "web",
              securityContext: { capabilities: { add: ["SYS_TIME"] } },
            },
            { $patch: "delete", name: "side" },
          ],
        },
      },
    },
  };
  const live = {
    metadata: { name: "web", namespace: "default", labels: { extra: "set-by-someone-else" } },
    spec: {
      replicas: 5,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "web",
              image: "nginx:1",
              env: [{ name: "A", value: "1" }, { name: "B", value: "2" }],
              ports: [{ containerPort: 80, name: "http", protocol: "TCP" }],
              resources: { limits: { cpu: "1" }, requests: { cpu: "1" } },
              securityContext: { capabilities: { add: ["NET_ADMIN"] } },
              imagePullPolicy: "IfNotPresent",
            },
            { name: "side", image: "busybox", imagePullPolicy: "Always" },
          ],
          restartPolicy: "Always",
        },
      },
    },
  };

  it("applies to the live object keeping what others set", () => {
    const got = strategicMergePatch<any>(live, recorded, DEPLOY);
    expect(got.metadata.labels).toEqual({ extra: "set-by-someone-else" });
    expect(got.spec.replicas).toBe(5);
    expect(got.spec.template.spec.containers).toEqual([
      {
        name: "web",
        image: "nginx:2",
        env: [{ name: "A", value: "1" }, { name: "C", value: "3" }],
        ports: [{ containerPort: 80, name: "http", protocol: "TCP" }],
        resources: { limits: { cpu: "1" }, requests: { cpu: "1" } },
        securityContext: { capabilities: { add: ["SYS_TIME"] } },
        imagePullPolicy: "IfNotPresent",
      },
    ]);
    expect(JSON.stringify(got)).not.toContain("$");
  });
});
