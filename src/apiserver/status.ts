// meta/v1 Status errors: every failure of the API server answers one of these,
// with Kubernetes' reasons and messages so kubectl and client libraries read
// them as they read a kube-apiserver's.

import type { Status, StatusCause, StatusDetails } from "../api/types.js";
import type { ResourceInfo } from "../api/resources.js";

/** An API error carrying the Status object it answers with. */
export class StatusError extends Error {
  override name = "StatusError";
  constructor(readonly status: Status) {
    super(status.message ?? status.reason ?? "error");
  }
  get code(): number {
    return this.status.code;
  }
}

export function failure(code: number, reason: string, message: string, details?: StatusDetails): StatusError {
  return new StatusError({
    apiVersion: "v1",
    kind: "Status",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  });
}

function qualified(info: ResourceInfo, sub?: string): string {
  const r = sub ? `${info.resource}/${sub}` : info.resource;
  return info.group ? `${r}.${info.group}` : r;
}

export function successStatus(details?: StatusDetails): Status {
  return { apiVersion: "v1", kind: "Status", metadata: {}, status: "Success", ...(details ? { details } : {}), code: 200 };
}

export const errors = {
  notFound: (info: ResourceInfo, name: string) =>
    failure(404, "NotFound", `${qualified(info)} "${name}" not found`, { name, group: info.group, kind: info.resource }),
  alreadyExists: (info: ResourceInfo, name: string) =>
    failure(409, "AlreadyExists", `${qualified(info)} "${name}" already exists`, { name, group: info.group, kind: info.resource }),
  conflict: (info: ResourceInfo, name: string, why: string, sub?: string) =>
    failure(409, "Conflict", `Operation cannot be fulfilled on ${qualified(info, sub)} "${name}": ${why}`, {
      name,
      group: info.group,
      kind: info.resource,
    }),
  staleObject: (info: ResourceInfo, name: string) =>
    errors.conflict(info, name, "the object has been modified; please apply your changes to the latest version and try again"),
  invalid: (info: ResourceInfo, name: string, causes: StatusCause[]) =>
    failure(
      422,
      "Invalid",
      `${info.kind} "${name}" is invalid: ${causes.length === 1 ? causes[0]!.message : `[${causes.map((c) => c.message).join(", ")}]`}`,
      { name, group: info.group, kind: info.kind, causes },
    ),
  invalidWith: (info: ResourceInfo, name: string, message: string, causes: StatusCause[]) =>
    failure(422, "Invalid", message, { name, group: info.group, kind: info.kind, causes }),
  badRequest: (message: string, causes?: StatusCause[]) => failure(400, "BadRequest", message, causes ? { causes } : undefined),
  unauthorized: () => failure(401, "Unauthorized", "Unauthorized"),
  forbidden: (info: ResourceInfo | null, name: string, why: string) =>
    failure(
      403,
      "Forbidden",
      info ? `${qualified(info)} "${name}" is forbidden: ${why}` : why,
      info ? { name, group: info.group, kind: info.resource } : undefined,
    ),
  notFoundPath: (message: string) => failure(404, "NotFound", message),
  methodNotAllowed: (method: string) => failure(405, "MethodNotAllowed", `the server does not allow this method on the requested resource (${method})`),
  notAcceptable: (message: string) => failure(406, "NotAcceptable", message),
  gone: (message: string) => failure(410, "Expired", message),
  tooLarge: (limit: number) => failure(413, "RequestEntityTooLarge", `Request entity too large: limit is ${limit}`),
  unsupportedMediaType: (type: string) => failure(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/merge-patch+json, application/strategic-merge-patch+json, application/json-patch+json (got ${type})`),
  unavailable: (message: string) => failure(503, "ServiceUnavailable", message),
  timeout: (message: string) => failure(504, "Timeout", message),
  internal: (message: string) => failure(500, "InternalError", `Internal error occurred: ${message}`),
  /** A patch that cannot be applied to the object. */
  failureFromPatch: (message: string) => failure(422, "Invalid", `the patch could not be applied: ${message}`),
};

