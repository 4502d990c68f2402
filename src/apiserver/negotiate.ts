// Content negotiation: what the client accepts (JSON, YAML, a meta/v1 Table)
// and how a response body is written.

import type { ServerResponse } from "node:http";
import { stringify as toYaml } from "yaml";

export type OutputFormat =
  | { kind: "json" }
  | { kind: "yaml" }
  | { kind: "table"; version: "v1" | "v1beta1" }
  | { kind: "none"; accept: string };

interface MediaType {
  type: string;
  params: Record<string, string>;
}

function parseAccept(header: string): MediaType[] {
  return header
    .split(",")
    .map((part) => {
      const [type, ...params] = part.split(";").map((s) => s.trim());
      const p: Record<string, string> = {};
      for (const kv of params) {
        const i = kv.indexOf("=");
        if (i > 0) p[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
      }
      return { type: (type ?? "").toLowerCase(), params: p };
    })
    .filter((m) => m.type !== "");
}

/** The first acceptable representation in the client's order; tables only where `tables` is true. */
export function negotiate(accept: string | undefined, tables: boolean): OutputFormat {
  if (!accept) return { kind: "json" };
  for (const m of parseAccept(accept)) {
    const isJson = m.type === "application/json" || m.type === "*/*" || m.type === "application/*";
    if (m.params.as) {
      if (tables && isJson && m.params.as === "Table" && m.params.g === "meta.k8s.io" && (m.params.v === "v1" || m.params.v === "v1beta1"))
        return { kind: "table", version: m.params.v };
      continue;
    }
    if (isJson) return { kind: "json" };
    if (m.type === "application/yaml") return { kind: "yaml" };
  }
  // Everything asked for is something else (protobuf, aggregated discovery):
  // answer JSON unless only protobuf was acceptable.
  if (/protobuf/.test(accept) && !/json|\*\/\*/.test(accept)) return { kind: "none", accept };
  return { kind: "json" };
}

export function writeBody(res: ServerResponse, status: number, body: unknown, format: OutputFormat = { kind: "json" }, extraHeaders: Record<string, string> = {}): void {
  let text: string;
  let type: string;
  if (format.kind === "yaml") {
    text = toYaml(body);
    type = "application/yaml";
  } else {
    text = typeof body === "string" ? body : JSON.stringify(body);
    type = "application/json";
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}
