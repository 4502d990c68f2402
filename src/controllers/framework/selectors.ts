// Label selectors (meta/v1 LabelSelector and map selectors) as the
// controllers match them against cached objects.

import { labelSelectorFromObject } from "../../api/selectors.js";
import type { LabelSelector } from "../../api/types.js";

/** matchLabels AND every matchExpression, by the API's own matcher (src/api/selectors.ts).
 *  An empty selector matches everything; callers that must refuse "select all" (ReplicaSets,
 *  Deployments) check isEmptySelector first. A missing or invalid selector matches nothing,
 *  as Kubernetes treats a selector LabelSelectorAsSelector refuses. */
export function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  try {
    return labelSelectorFromObject(sel).matches(labels);
  } catch {
    return false;
  }
}

export function isEmptySelector(sel: LabelSelector | undefined): boolean {
  return !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
}

/** A Service-style map selector: every pair must match; an empty map matches nothing here. */
export function mapSelectorMatches(sel: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel || Object.keys(sel).length === 0) return false;
  const l = labels ?? {};
  return Object.entries(sel).every(([k, v]) => l[k] === v);
}

/** The query-string form (app=web,tier in (a,b)) for list calls and Scale.status.selector. */
export function selectorToString(sel: LabelSelector | undefined): string {
  if (!sel) return "";
  const parts = Object.entries(sel.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort().join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${vals})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${vals})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(",");
}
