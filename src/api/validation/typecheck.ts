// Checks the JSON type of every known field against schema.ts before any
// semantic rule runs, so that the rules can trust what they read ("replicas"
// is a number, "containers" a list) and a wrong type is named by its path.
// Unknown fields are not reported here (that is fieldValidation's business).

import { isValidQuantity } from "../quantity.js";
import { findSchema, type FieldSchema, type ObjectSchema } from "../schema.js";
import { child, formatValue, index, invalid, key, type FieldError } from "./errors.js";

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function typeName(f: FieldSchema): string {
  switch (f.kind) {
    case "integer":
      return f.format === "int32" ? "int32" : "int64";
    case "intOrString":
      return "integer or string";
    case "object":
    case "map":
      return "object";
    case "array":
      return "array";
    case "time":
    case "bytes":
    case "quantity":
      return "string";
    default:
      return f.kind;
  }
}

function checkField(v: unknown, f: FieldSchema, path: string, out: FieldError[]): void {
  // null is "not set" on the wire, as Go decodes it.
  if (v === null || v === undefined) return;
  const wrong = (): void => {
    out.push(invalid(path, v, `must be of type ${typeName(f)}`));
  };
  switch (f.kind) {
    case "string":
    case "time":
      if (typeof v !== "string") wrong();
      return;
    case "bytes":
      if (typeof v !== "string") wrong();
      else if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
        out.push(invalid(path, "<binary>", "illegal base64 data"));
      }
      return;
    case "integer":
      if (typeof v !== "number" || !Number.isInteger(v)) wrong();
      else if (f.format === "int32" && (v < INT32_MIN || v > INT32_MAX)) {
        out.push(invalid(path, v, "must be a 32-bit integer"));
      }
      return;
    case "number":
      if (typeof v !== "number") wrong();
      return;
    case "boolean":
      if (typeof v !== "boolean") wrong();
      return;
    case "intOrString":
      if (!(typeof v === "string" || (typeof v === "number" && Number.isInteger(v)))) wrong();
      return;
    case "quantity":
      if (typeof v === "number") {
        if (!Number.isFinite(v)) wrong();
        return;
      }
      if (typeof v !== "string") wrong();
      else if (!isValidQuantity(v)) {
        out.push(invalid(path, v, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
      }
      return;
    case "any":
      return;
    case "object": {
      if (typeof v !== "object" || Array.isArray(v)) {
        wrong();
        return;
      }
      const s = findSchema(f.ref);
      if (s !== undefined) checkObject(v as Record<string, unknown>, s, path, out);
      return;
    }
    case "map":
      if (typeof v !== "object" || Array.isArray(v)) {
        wrong();
        return;
      }
      for (const [k, val] of Object.entries(v as Record<string, unknown>)) checkField(val, f.values, key(path, k), out);
      return;
    case "array":
      if (!Array.isArray(v)) {
        wrong();
        return;
      }
      v.forEach((e, i) => {
        if (e === null && f.items.kind === "object") {
          out.push(invalid(index(path, i), null, "must be of type object"));
          return;
        }
        checkField(e, f.items, index(path, i), out);
      });
      return;
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

function checkObject(obj: Record<string, unknown>, schema: ObjectSchema, path: string, out: FieldError[]): void {
  // Walk the object's keys (usually far fewer than the schema's fields).
  for (const name in obj) {
    if (!hasOwn.call(obj, name) || !hasOwn.call(schema.fields, name)) continue;
    checkField(obj[name], schema.fields[name] as FieldSchema, child(path, name), out);
  }
}

/** Type errors of an object of `kind` (empty when every known field has the right JSON type). */
export function typeErrors(kind: string, obj: unknown): FieldError[] {
  const out: FieldError[] = [];
  const s = findSchema(kind);
  if (s === undefined) return out;
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    return [invalid("", formatValue(obj), "must be an object")];
  }
  checkObject(obj as Record<string, unknown>, s, "", out);
  return out;
}
