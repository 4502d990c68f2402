// -o json and -o yaml as kubectl prints them: keys sorted (Go encodes
// unstructured objects from maps), JSON indented four spaces, YAML lists not
// indented under their key.

import { stringify } from "yaml";
import { canonicalJson } from "./apply-patch.js";

export function kubectlJson(value: unknown): string {
  return `${JSON.stringify(JSON.parse(canonicalJson(value)), null, 4)}\n`;
}

export function kubectlYaml(value: unknown): string {
  return stringify(JSON.parse(canonicalJson(value)), { indentSeq: false, lineWidth: 0 });
}
