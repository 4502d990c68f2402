// Matching of label selectors and node selector terms, the two selector
// shapes of pod specs (metav1.LabelSelector and v1.NodeSelectorTerm).

import { labelSelectorFromObject, type LabelMatcher } from "../api/selectors.js";
import type { LabelSelector, NodeSelectorRequirement, NodeSelectorTerm, Node } from "../api/types.js";

/** Matchers by selector object: the plugins test the same pods' selectors against many
 *  pods per cycle, and objects from the informer cache are replaced, never mutated. */
const matchers = new WeakMap<LabelSelector, LabelMatcher | null>();

/** metav1.LabelSelector, by the API's own matcher (src/api/selectors.ts): an empty selector
 *  matches everything, an absent or invalid one nothing. */
export function selectorMatches(sel: LabelSelector | undefined | null, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  let m = matchers.get(sel);
  if (m === undefined) {
    try {
      m = labelSelectorFromObject(sel);
    } catch {
      m = null;
    }
    matchers.set(sel, m);
  }
  return m !== null && m.matches(labels);
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const has = value !== undefined;
  switch (r.operator) {
    case "In":
      return has && (r.values ?? []).includes(value);
    case "NotIn":
      return !has || !(r.values ?? []).includes(value);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      if (!has || (r.values ?? []).length !== 1) return false;
      const a = Number.parseInt(value, 10);
      const b = Number.parseInt(r.values![0]!, 10);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
      return r.operator === "Gt" ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** One term: all its expressions and fields must match; an empty term matches nothing. */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  for (const r of exprs) if (!requirementMatches(r, labels[r.key])) return false;
  for (const r of fields) {
    // metadata.name is the only field selector Kubernetes supports here.
    if (r.key !== "metadata.name" || !requirementMatches(r, node.metadata.name)) return false;
  }
  return true;
}

/** Terms are ORed. */
export function nodeSelectorMatches(terms: NodeSelectorTerm[], node: Node): boolean {
  return terms.some((t) => nodeSelectorTermMatches(t, node));
}
