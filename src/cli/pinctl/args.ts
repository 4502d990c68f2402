// Argument shapes kubectl accepts: "deployment/web", "deployment web",
// "deploy,svc", "pod/a pod/b". Pure, so the unit tests cover every form.

import { lookupResource, type ResourceInfo } from "../../api/resources.js";
import { UserError } from "../errors.js";

export interface ObjectRef {
  info: ResourceInfo;
  name: string;
}

/** kubectl's "all" category, as far as Pinsetter serves its members. */
const ALL_CATEGORY = ["pods", "services", "deployments", "replicasets", "horizontalpodautoscalers"];

function resource(kind: string): ResourceInfo {
  const info = lookupResource(kind);
  if (!info) throw new UserError(`the server doesn't have a resource type "${kind}"`);
  return info;
}

/** `KIND[,KIND...] [NAME...]` or `KIND/NAME ...`: the kinds and the names asked for. */
export function parseResourceArgs(args: string[]): { kinds: ResourceInfo[]; names: string[]; refs: ObjectRef[] } {
  if (args.length === 0) throw new UserError("you must specify the type of resource to get (for example: pods, deployments, nodes)");
  if (args.some((a) => a.includes("/"))) {
    const refs = args.map((a) => {
      const slash = a.indexOf("/");
      if (slash <= 0 || slash === a.length - 1) throw new UserError(`there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (got "${a}")`);
      return { info: resource(a.slice(0, slash)), name: a.slice(slash + 1) };
    });
    return { kinds: [], names: [], refs };
  }
  const [first, ...names] = args;
  const kinds = first!
    .split(",")
    .filter((k) => k !== "")
    .flatMap((k) => (k.toLowerCase() === "all" ? ALL_CATEGORY.map(resource) : [resource(k)]));
  if (kinds.length > 1 && names.length > 0) {
    return { kinds: [], names: [], refs: kinds.flatMap((info) => names.map((name) => ({ info, name }))) };
  }
  return { kinds, names, refs: names.map((name) => ({ info: kinds[0]!, name })) };
}

/** Exactly one object: `deployment/web` or `deployment web`. */
export function parseOneObject(args: string[], verb: string): ObjectRef {
  const parts = args.filter((a) => a !== "");
  if (parts.length === 1 && parts[0]!.includes("/")) {
    const [kind, name] = [parts[0]!.slice(0, parts[0]!.indexOf("/")), parts[0]!.slice(parts[0]!.indexOf("/") + 1)];
    if (!kind || !name) throw new UserError(`${verb}: expected KIND/NAME, got "${parts[0]}"`);
    return { info: resource(kind), name };
  }
  if (parts.length === 2 && !parts[0]!.includes("/")) return { info: resource(parts[0]!), name: parts[1]! };
  throw new UserError(`${verb}: expected KIND/NAME or KIND NAME, got "${parts.join(" ")}"`);
}

/** A non-negative integer flag, refused with the flag's name. */
export function parseCount(value: string | undefined, flag: string, min = 0): number {
  if (value === undefined) throw new UserError(`${flag} is required`);
  if (!/^-?\d+$/.test(value.trim())) throw new UserError(`invalid value "${value}" for ${flag}: not an integer`);
  const n = Number(value);
  if (n < min) throw new UserError(`invalid value ${n} for ${flag}: must be at least ${min}`);
  return n;
}

/** "30s", "5m", "1h", "90" (seconds) into milliseconds; 0 means no limit. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new UserError(`invalid value "${value}" for ${flag}: use a duration like 30s, 5m or 1h`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  return Math.round(n * (unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000));
}
