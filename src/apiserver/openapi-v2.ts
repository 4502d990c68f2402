// /openapi/v2 in protobuf (gnostic's openapi.v2.Document), which kubectl 1.27
// and 1.28 fetch eagerly. It carries what kubectl reads from it: each
// resource's PATCH operation with its x-kubernetes-group-version-kind and the
// fieldValidation query parameter (so kubectl leaves field validation to the
// server). Definitions are left out: kubectl then computes apply patches from
// its built-in types. The few messages needed are encoded by hand (field
// numbers from gnostic's OpenAPIv2.proto), so no protobuf library is needed.

import { RESOURCES, type ResourceInfo } from "../api/resources.js";
import { KUBE_VERSION } from "./discovery.js";

/** The type kube-openapi answers with (the request asks for ...spec.v2@v1.0+protobuf; Go cannot parse the @ back). */
export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

// ---------------------------------------------------------------- wire format

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

const tag = (field: number, wire: number) => varint(field * 8 + wire);

class Msg {
  private parts: Buffer[] = [];
  str(field: number, s: string | undefined): this {
    if (s === undefined || s === "") return this;
    const b = Buffer.from(s, "utf8");
    this.parts.push(tag(field, 2), varint(b.length), b);
    return this;
  }
  bool(field: number, v: boolean | undefined): this {
    if (v) this.parts.push(tag(field, 0), varint(1));
    return this;
  }
  msg(field: number, m: Msg): this {
    const b = m.bytes();
    this.parts.push(tag(field, 2), varint(b.length), b);
    return this;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// ---------------------------------------------------------------- messages

/** NamedAny{name, value: Any{yaml}}. */
const namedYaml = (name: string, yaml: string) => new Msg().str(1, name).msg(2, new Msg().str(2, yaml));

/** ParametersItem{parameter: Parameter{non_body_parameter: NonBodyParameter{query_parameter_sub_schema}}}. */
function queryParameter(name: string, description: string, type = "string"): Msg {
  // QueryParameterSubSchema: required=1 in=2 description=3 name=4 type=6 unique_items=20
  const q = new Msg().str(2, "query").str(3, description).str(4, name).str(6, type).bool(20, true);
  return new Msg().msg(1, new Msg().msg(2, new Msg().msg(3, q)));
}

function pathParameter(name: string): Msg {
  // PathParameterSubSchema: required=1 in=2 description=3 name=4 type=5 unique_items=19
  const p = new Msg().bool(1, true).str(2, "path").str(4, name).str(5, "string").bool(19, true);
  return new Msg().msg(1, new Msg().msg(2, new Msg().msg(4, p)));
}

function responses(): Msg {
  // Responses{response_code: NamedResponseValue{name, ResponseValue{response: Response{description}}}}
  return new Msg().msg(1, new Msg().str(1, "200").msg(2, new Msg().msg(1, new Msg().str(1, "OK"))));
}

function gvkYaml(group: string, version: string, kind: string): string {
  return `group: ${JSON.stringify(group)}\nkind: ${kind}\nversion: ${version}\n`;
}

const PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"];

function operation(id: string, action: string, gvk: string, params: Msg[], consumes: string[] = []): Msg {
  // Operation: tags=1 description=3 operation_id=5 produces=6 consumes=7 parameters=8 responses=9 schemes=10 vendor_extension=13
  const op = new Msg().str(5, id);
  for (const p of ["application/json", "application/yaml"]) op.str(6, p);
  for (const c of consumes) op.str(7, c);
  for (const p of params) op.msg(8, p);
  op.msg(9, responses());
  op.str(10, "https");
  op.msg(13, namedYaml("x-kubernetes-action", `${action}\n`));
  op.msg(13, namedYaml("x-kubernetes-group-version-kind", gvk));
  return op;
}

function objectPath(r: ResourceInfo, sub?: string): { path: string; item: Msg } {
  const base = r.group === "" ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const path = `${base}${r.namespaced ? "/namespaces/{namespace}" : ""}/${r.resource}/{name}${sub ? `/${sub}` : ""}`;
  const gvk = sub === "scale" ? gvkYaml("autoscaling", "v1", "Scale") : gvkYaml(r.group, r.version, r.kind);
  const write = [
    queryParameter("dryRun", "When present, indicates that modifications should not be persisted."),
    queryParameter("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."),
    queryParameter("fieldValidation", "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields: Ignore, Warn or Strict."),
  ];
  const kind = sub === "scale" ? "Scale" : r.kind;
  // PathItem: get=2 put=3 delete=5 patch=8 parameters=9
  const item = new Msg()
    .msg(2, operation(`read${kind}${sub ?? ""}`, "get", gvk, []))
    .msg(3, operation(`replace${kind}${sub ?? ""}`, "put", gvk, write, ["*/*"]));
  if (!sub) item.msg(5, operation(`delete${kind}`, "delete", gvk, [queryParameter("dryRun", "When present, indicates that modifications should not be persisted.")]));
  item.msg(8, operation(`patch${kind}${sub ?? ""}`, "patch", gvk, [...write, queryParameter("force", "Force is going to force Apply requests.", "boolean")], PATCH_TYPES));
  if (r.namespaced) item.msg(9, pathParameter("namespace"));
  item.msg(9, pathParameter("name"));
  return { path, item };
}

let cached: Buffer | null = null;

/** The whole document, encoded once. */
export function openApiV2Protobuf(): Buffer {
  if (cached) return cached;
  const paths = new Msg();
  for (const r of RESOURCES) {
    for (const sub of [undefined, ...r.subresources.filter((s) => s === "status" || s === "scale")]) {
      const { path, item } = objectPath(r, sub);
      paths.msg(2, new Msg().str(1, path).msg(2, item));
    }
  }
  const doc = new Msg()
    .str(1, "2.0")
    .msg(2, new Msg().str(1, "Pinsetter").str(2, `v${KUBE_VERSION.major}.${KUBE_VERSION.minor}.0`))
    .msg(8, paths)
    .msg(9, new Msg());
  cached = doc.bytes();
  return cached;
}
