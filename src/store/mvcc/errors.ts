// Constructors for StoreError values, with etcd's messages where etcd has one
// (clients of the JSON gateway match on them).

import type { Result, StoreError } from "./types.js";

export const storeErrors = {
  compacted: (compactRevision: number): StoreError => ({
    code: "compacted",
    compactRevision,
    message: "etcdserver: mvcc: required revision has been compacted",
  }),
  futureRevision: (): StoreError => ({
    code: "futureRevision",
    message: "etcdserver: mvcc: required revision is a future revision",
  }),
  leaseNotFound: (): StoreError => ({ code: "leaseNotFound", message: "etcdserver: requested lease not found" }),
  leaseExists: (): StoreError => ({ code: "leaseExists", message: "etcdserver: lease already exists" }),
  leaseTtlTooLarge: (): StoreError => ({ code: "leaseTtlTooLarge", message: "etcdserver: too large lease TTL" }),
  emptyKey: (): StoreError => ({ code: "invalidArgument", message: "etcdserver: key is not provided" }),
  invalid: (message: string): StoreError => ({ code: "invalidArgument", message }),
  duplicateKey: (): StoreError => ({ code: "duplicateKey", message: "etcdserver: duplicate key given in txn request" }),
  tooManyOps: (): StoreError => ({ code: "tooManyOps", message: "etcdserver: too many operations in txn request" }),
  keyNotFound: (): StoreError => ({ code: "keyNotFound", message: "etcdserver: key not found" }),
};

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T>(error: StoreError): Result<T> {
  return { ok: false, error };
}
