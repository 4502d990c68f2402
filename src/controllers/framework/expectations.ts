// Expectations (Kubernetes' controller_utils.go): what a controller has asked
// for but not yet seen in its cache. While a ReplicaSet has creates or
// deletes outstanding it does not act again, so a lagging watch never makes it
// create (or delete) twice. Records expire, in case an event is lost for good.

const DEFAULT_TTL_MS = 2 * 60_000;

interface Record_ {
  adds: number;
  /** keys of pods whose deletion we asked for and have not yet seen */
  deletes: Set<string>;
  at: number;
}

export class Expectations {
  private readonly records = new Map<string, Record_>();

  constructor(
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when nothing is outstanding for key (or the record is stale). */
  satisfied(key: string): boolean {
    const r = this.records.get(key);
    if (!r) return true;
    if (r.adds <= 0 && r.deletes.size === 0) return true;
    return this.now() - r.at > this.ttlMs;
  }

  expectCreations(key: string, n: number): void {
    this.records.set(key, { adds: n, deletes: new Set(), at: this.now() });
  }

  expectDeletions(key: string, podKeys: string[]): void {
    this.records.set(key, { adds: 0, deletes: new Set(podKeys), at: this.now() });
  }

  creationObserved(key: string): void {
    const r = this.records.get(key);
    if (r && r.adds > 0) r.adds--;
  }

  deletionObserved(key: string, podKey: string): void {
    this.records.get(key)?.deletes.delete(podKey);
  }

  delete(key: string): void {
    this.records.delete(key);
  }
}
