// Field errors as Kubernetes reports them (apimachinery's field.Error): a
// type, a field path such as spec.template.spec.containers[0].image, the bad
// value and a detail, rendered into the 422 message and the Status causes.

import { resourceForKind } from "../resources.js";

export type FieldErrorType =
  | "FieldValueRequired"
  | "FieldValueInvalid"
  | "FieldValueNotSupported"
  | "FieldValueDuplicate"
  | "FieldValueForbidden"
  | "FieldValueTooLong"
  | "FieldValueNotFound";

export interface FieldError {
  type: FieldErrorType;
  field: string;
  message: string;
  value?: unknown;
}

/** Field paths: "spec", "spec.containers[0]", "metadata.labels[app]". */
export const child = (path: string, name: string): string => (path === "" ? name : `${path}.${name}`);
export const index = (path: string, i: number): string => `${path}[${i}]`;
export const key = (path: string, k: string): string => `${path}[${k}]`;

export const required = (field: string, message = ""): FieldError => ({ type: "FieldValueRequired", field, message });
export const invalid = (field: string, value: unknown, message: string): FieldError => ({
  type: "FieldValueInvalid",
  field,
  value,
  message,
});
export const notSupported = (field: string, value: unknown, supported: readonly string[]): FieldError => ({
  type: "FieldValueNotSupported",
  field,
  value,
  message: supported.length > 0 ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}` : "",
});
export const duplicate = (field: string, value: unknown): FieldError => ({ type: "FieldValueDuplicate", field, value, message: "" });
export const forbidden = (field: string, message: string): FieldError => ({ type: "FieldValueForbidden", field, message });
export const tooLong = (field: string, value: unknown, max: number): FieldError => ({
  type: "FieldValueTooLong",
  field,
  value,
  message: `must have at most ${max} bytes`,
});
export const notFound = (field: string, value: unknown): FieldError => ({ type: "FieldValueNotFound", field, value, message: "" });

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueRequired: "Required value",
  FieldValueInvalid: "Invalid value",
  FieldValueNotSupported: "Unsupported value",
  FieldValueDuplicate: "Duplicate value",
  FieldValueForbidden: "Forbidden",
  FieldValueTooLong: "Too long",
  FieldValueNotFound: "Not found",
};

/** A value as Kubernetes prints it in an error: strings quoted, numbers bare, objects as JSON. */
export function formatValue(v: unknown): string {
  if (v === undefined) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** The part after the field: "Invalid value: -1: must be greater than or equal to 0". */
export function errorBody(e: FieldError): string {
  const t = TYPE_TEXT[e.type];
  const showsValue = e.type === "FieldValueInvalid" || e.type === "FieldValueNotSupported" || e.type === "FieldValueDuplicate" || e.type === "FieldValueNotFound";
  // Too long shows no value (it may be huge), like Kubernetes when the value is omitted.
  let s = t;
  if (showsValue) s += `: ${formatValue(e.value)}`;
  if (e.message !== "") s += `: ${e.message}`;
  return s;
}

/** One error as one line: "spec.replicas: Invalid value: -1: must be greater than or equal to 0". */
export function formatFieldError(e: FieldError): string {
  return e.field === "" ? errorBody(e) : `${e.field}: ${errorBody(e)}`;
}

/** Kind with its group, as Kubernetes names it in messages: "Deployment.apps", "Pod". */
export function qualifiedKind(kind: string): string {
  if (kind.includes(".")) return kind;
  // Scale is no stored resource but the body of deployments/scale.
  if (kind === "Scale") return "Scale.autoscaling";
  const info = resourceForKind(undefined, kind);
  return info === undefined || info.group === "" ? kind : `${kind}.${info.group}`;
}

/**
 * The 422 message: 'Deployment.apps "web" is invalid: [spec.replicas: Invalid
 * value: -1: must be greater than or equal to 0, spec.selector: Required value]'
 * (no brackets for a single error).
 */
export function formatFieldErrors(kind: string, name: string, errors: readonly FieldError[]): string {
  const head = `${qualifiedKind(kind)} ${JSON.stringify(name)} is invalid`;
  if (errors.length === 0) return head;
  const items = dedupe(errors).map(formatFieldError);
  return items.length === 1 ? `${head}: ${items[0]}` : `${head}: [${items.join(", ")}]`;
}

function dedupe(errors: readonly FieldError[]): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of errors) {
    const k = formatFieldError(e);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(e);
  }
  return out;
}

/** Status.details.causes of a 422: one per error, reason = error type, message = body. */
export function fieldErrorCauses(errors: readonly FieldError[]): { reason: string; message: string; field: string }[] {
  return dedupe(errors).map((e) => ({ reason: e.type, message: errorBody(e), field: e.field }));
}
