// The pod-template-hash: names a Deployment's ReplicaSets (<deploy>-<hash>) and
// labels their pods. Like Kubernetes: FNV-1a 32 over the template (canonical
// JSON here, spew in Go), then collisionCount when set, printed in decimal and
// mapped onto an alphabet without vowels (rand.SafeEncodeString).

import type { PodTemplateSpec } from "../../api/types.js";
import { Labels } from "../../api/types.js";
import { canonicalJson } from "../framework/objects.js";

const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

export function fnv1a32(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function safeEncode(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

export function computeHash(template: PodTemplateSpec, collisionCount?: number): string {
  let h = fnv1a32(new TextEncoder().encode(canonicalJson(template)));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv1a32(b, h);
  }
  return safeEncode(String(h));
}

/** The template without its pod-template-hash label (what a Deployment's template looks like). */
export function withoutHash(t: PodTemplateSpec): PodTemplateSpec {
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[Labels.podTemplateHash];
  return { ...t, metadata: { ...(t.metadata ?? {}), labels } };
}

/** Kubernetes' EqualIgnoreHash: same template apart from the pod-template-hash label. */
export function templatesEqualIgnoringHash(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}
