// The one place the API server reaches the object model (src/api: defaults,
// validation, selectors, patches, codecs, tables), adapted to the shapes the
// server uses (a selector is a predicate on an object).

import type { KubeObject } from "../api/types.js";
import type { ResourceInfo } from "../api/resources.js";
import { parseFieldSelector as parseFields, parseLabelSelector as parseLabels, SelectorParseError } from "../api/selectors.js";

export { applyDefaults } from "../api/defaults.js";
export { validateObject, formatFieldErrors, fieldErrorCauses, type FieldError } from "../api/validation.js";
export { decodeBody, DecodeError, findUnknownFields, findDuplicateFields, strictDecodingError } from "../api/codec.js";
export { jsonMergePatch, applyJsonPatch, strategicMergePatch, PatchError } from "../api/patch.js";
export { tableFor, type TableData } from "../api/tables.js";
export { openApiComponentSchemas, findSchema } from "../api/schema.js";
export { SelectorParseError as SelectorError };

export type Matcher = (obj: KubeObject) => boolean;

export function parseLabelSelector(s: string): Matcher {
  const m = parseLabels(s);
  return (obj) => m.matches(obj.metadata?.labels);
}

export function parseFieldSelector(s: string, info: ResourceInfo): Matcher {
  const m = parseFields(s, info);
  return (obj) => m.matches(obj);
}
