// ObjectMeta rules shared by every kind (apimachinery's ValidateObjectMeta):
// name and namespace syntax, labels, annotations and their total size, owner
// references, finalizers; plus label selectors, which several kinds embed.

import { labelKeyErrors, labelValueErrors } from "../selectors.js";
import type { LabelSelector, ObjectMeta } from "../types.js";
import { child, duplicate, forbidden, index, invalid, notSupported, required, tooLong, type FieldError } from "./errors.js";
import { dns1123LabelErrors, dns1123SubdomainErrors } from "./names.js";

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export type NameValidator = (name: string) => string[];

export function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const m of labelKeyErrors(k)) errs.push(invalid(path, k, m));
    if (typeof v !== "string") {
      errs.push(invalid(path, v, "label values must be strings"));
      continue;
    }
    for (const m of labelValueErrors(v)) errs.push(invalid(path, v, m));
  }
  return errs;
}

export function validateAnnotations(annotations: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    // Annotation keys are qualified names, case-insensitively (Kubernetes lowercases them to check).
    for (const m of labelKeyErrors(k.toLowerCase())) errs.push(invalid(path, k, m));
    size += k.length + (typeof v === "string" ? Buffer.byteLength(v) : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(path, "", TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

export interface MetaOptions {
  namespaced: boolean;
  nameValidator: NameValidator;
}

/** Rules for metadata on create (and the parts of them that also hold on update). */
export function validateObjectMeta(meta: ObjectMeta | undefined, opts: MetaOptions, path = "metadata"): FieldError[] {
  const errs: FieldError[] = [];
  if (meta === undefined || meta === null) return [required(path, "")];
  const name = meta.name;
  if (name === undefined || name === "") {
    if (meta.generateName === undefined || meta.generateName === "") {
      errs.push(required(child(path, "name"), "name or generateName is required"));
    }
  } else {
    for (const m of opts.nameValidator(name)) errs.push(invalid(child(path, "name"), name, m));
  }
  if (meta.generateName !== undefined && meta.generateName !== "") {
    // A prefix: validated with a stand-in suffix, as Kubernetes' name generator appends 5 characters.
    const trimmed = meta.generateName.replace(/-+$/, "");
    for (const m of opts.nameValidator(`${trimmed === "" ? "x" : trimmed}-abcde`)) {
      errs.push(invalid(child(path, "generateName"), meta.generateName, m));
    }
  }
  if (opts.namespaced) {
    if (meta.namespace === undefined || meta.namespace === "") errs.push(required(child(path, "namespace"), ""));
    else for (const m of dns1123LabelErrors(meta.namespace)) errs.push(invalid(child(path, "namespace"), meta.namespace, m));
  } else if (meta.namespace !== undefined && meta.namespace !== "") {
    errs.push(forbidden(child(path, "namespace"), "not allowed on this type"));
  }
  if (meta.generation !== undefined && meta.generation < 0) {
    errs.push(invalid(child(path, "generation"), meta.generation, "must be greater than or equal to 0"));
  }
  errs.push(...validateLabels(meta.labels, child(path, "labels")));
  errs.push(...validateAnnotations(meta.annotations, child(path, "annotations")));
  (meta.ownerReferences ?? []).forEach((ref, i) => {
    const p = index(child(path, "ownerReferences"), i);
    if (!ref.apiVersion) errs.push(invalid(child(p, "apiVersion"), ref.apiVersion ?? "", "version must not be empty"));
    if (!ref.kind) errs.push(invalid(child(p, "kind"), ref.kind ?? "", "kind must not be empty"));
    if (!ref.name) errs.push(invalid(child(p, "name"), ref.name ?? "", "name must not be empty"));
    if (!ref.uid) errs.push(invalid(child(p, "uid"), ref.uid ?? "", "uid must not be empty"));
  });
  const controllers = (meta.ownerReferences ?? []).filter((r) => r.controller === true);
  if (controllers.length > 1) {
    errs.push(
      invalid(
        child(path, "ownerReferences"),
        meta.ownerReferences,
        `Only one reference can have Controller set to true. Found "true" in references for ${controllers.map((c) => `${c.kind}/${c.name}`).join(" and ")}`,
      ),
    );
  }
  const seen = new Set<string>();
  (meta.finalizers ?? []).forEach((f, i) => {
    const p = index(child(path, "finalizers"), i);
    for (const m of labelKeyErrors(f)) errs.push(invalid(p, f, m));
    if (seen.has(f)) errs.push(duplicate(p, f));
    seen.add(f);
  });
  return errs;
}

/** Update rules: name, namespace, uid and creationTimestamp may not change. */
export function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta, path = "metadata"): FieldError[] {
  const errs: FieldError[] = [];
  const immutable = (field: "name" | "namespace" | "uid" | "creationTimestamp"): void => {
    const nv = meta[field];
    const ov = old[field];
    // Unset on the update means "keep": the API server fills it from the stored object.
    if (nv !== undefined && nv !== "" && ov !== undefined && ov !== "" && nv !== ov) {
      errs.push(invalid(child(path, field), nv, "field is immutable"));
    }
  };
  immutable("name");
  immutable("namespace");
  immutable("uid");
  immutable("creationTimestamp");
  if (old.deletionTimestamp !== undefined && meta.deletionTimestamp !== undefined && old.deletionTimestamp !== meta.deletionTimestamp) {
    errs.push(invalid(child(path, "deletionTimestamp"), meta.deletionTimestamp, "field is immutable; may only be changed via deletion"));
  }
  return errs;
}

const SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

/** A metav1.LabelSelector: valid keys and values, operators, and values only where they belong. */
export function validateLabelSelector(sel: LabelSelector, path: string): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validateLabels(sel.matchLabels, child(path, "matchLabels")));
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const p = index(child(path, "matchExpressions"), i);
    if (e === null || typeof e !== "object") {
      errs.push(invalid(p, e, "must be an object"));
      return;
    }
    if (!e.key) errs.push(required(child(p, "key"), ""));
    else for (const m of labelKeyErrors(e.key)) errs.push(invalid(child(p, "key"), e.key, m));
    const vals = e.values ?? [];
    switch (e.operator) {
      case "In":
      case "NotIn":
        if (vals.length === 0) {
          errs.push(required(child(p, "values"), "must be specified when `operator` is 'In' or 'NotIn'"));
        }
        break;
      case "Exists":
      case "DoesNotExist":
        if (vals.length > 0) errs.push(forbidden(child(p, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(notSupported(child(p, "operator"), e.operator, SELECTOR_OPERATORS));
    }
    vals.forEach((v, j) => {
      for (const m of labelValueErrors(String(v))) errs.push(invalid(index(child(p, "values"), j), v, m));
    });
  });
  return errs;
}

export { dns1123LabelErrors, dns1123SubdomainErrors };
