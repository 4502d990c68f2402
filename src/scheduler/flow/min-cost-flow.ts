// A min-cost flow solver for the batch placer (issue 12): successive shortest
// paths with node potentials (Dijkstra on reduced costs, binary heap), with
// an incremental mode. After supplies, capacities or costs change, solve()
// starts from the previous flow and potentials: it restores the capacity
// bounds, saturates every residual arc whose reduced cost went negative
// (turning the damage into excesses and deficits), and augments only what
// is left, as Firmament's incremental solver does, instead of starting over.
//
// Integer capacities and costs; supplies must balance (sum of supply = 0),
// or solve() reports the flow it could not route. Pure: no I/O.

export type NodeId = number;
export type ArcId = number;

interface Arc {
  from: NodeId;
  to: NodeId;
  cap: number;
  cost: number;
  flow: number;
}

export interface SolveResult {
  /** total cost of the flow */
  cost: number;
  /** supply that could not be routed to any demand (0 when feasible) */
  unrouted: number;
  /** augmenting paths found in this solve (a measure of the work done) */
  augmentations: number;
}

/** Thrown when a change would make the problem ill-posed (negative capacity, unbalanced...). */
export class FlowError extends Error {
  override name = "FlowError";
}

export class MinCostFlow {
  private readonly arcs: Arc[] = [];
  /** arc ids leaving each node (the reverse residual direction is found through `incoming`) */
  private readonly outgoing: ArcId[][] = [];
  private readonly incoming: ArcId[][] = [];
  private supply: number[] = [];
  private potential: number[] = [];
  private excess: number[] = [];
  /** Per-phase marks of the admissible-path search (see blockingFlow). */
  private mark = new Int32Array(0);
  private cur = new Int32Array(0);
  private phase = 0;
  /** Dijkstra runs in the last solve (a measure of the work done, beside augmentations). */
  lastPhases = 0;

  /**
   * @param blocking route every zero-reduced-cost path after each Dijkstra
   *   (primal-dual); false gives plain successive shortest paths, one path
   *   per Dijkstra, kept for measurement.
   */
  constructor(private readonly blocking = true) {}

  get nodeCount(): number {
    return this.outgoing.length;
  }

  get arcCount(): number {
    return this.arcs.length;
  }

  addNode(supply = 0): NodeId {
    const id = this.outgoing.length;
    this.outgoing.push([]);
    this.incoming.push([]);
    this.supply.push(supply);
    this.potential.push(0);
    this.excess.push(supply);
    return id;
  }

  /** Sets a node's supply (> 0) or demand (< 0). */
  setSupply(v: NodeId, supply: number): void {
    this.checkNode(v);
    this.excess[v]! += supply - this.supply[v]!;
    this.supply[v] = supply;
  }

  addArc(from: NodeId, to: NodeId, cap: number, cost: number): ArcId {
    this.checkNode(from);
    this.checkNode(to);
    if (!Number.isInteger(cap) || cap < 0) throw new FlowError(`capacity must be a non-negative integer, got ${cap}`);
    if (!Number.isInteger(cost)) throw new FlowError(`cost must be an integer, got ${cost}`);
    const id = this.arcs.length;
    this.arcs.push({ from, to, cap, cost, flow: 0 });
    this.outgoing[from]!.push(id);
    this.incoming[to]!.push(id);
    return id;
  }

  setCapacity(a: ArcId, cap: number): void {
    if (!Number.isInteger(cap) || cap < 0) throw new FlowError(`capacity must be a non-negative integer, got ${cap}`);
    this.arc(a).cap = cap;
  }

  setCost(a: ArcId, cost: number): void {
    if (!Number.isInteger(cost)) throw new FlowError(`cost must be an integer, got ${cost}`);
    this.arc(a).cost = cost;
  }

  flow(a: ArcId): number {
    return this.arc(a).flow;
  }

  arcInfo(a: ArcId): Readonly<Arc> {
    return this.arc(a);
  }

  totalCost(): number {
    let c = 0;
    for (const a of this.arcs) c += a.flow * a.cost;
    return c;
  }

  /** Solves from the current flow (all zero the first time). */
  solve(): SolveResult {
    const total = this.supply.reduce((s, x) => s + x, 0);
    if (total !== 0) throw new FlowError(`supplies must balance, they sum to ${total}`);
    this.repair();
    let augmentations = 0;
    let phases = 0;
    for (;;) {
      const path = this.shortestPaths();
      phases++;
      if (!path) break;
      this.augment(path.sink, path.parent);
      augmentations++;
      // After Dijkstra every shortest path has reduced cost 0: route all the
      // flow those paths can take before paying for the next Dijkstra.
      if (this.blocking) augmentations += this.blockingFlow();
    }
    let unrouted = 0;
    for (const e of this.excess) if (e > 0) unrouted += e;
    this.lastPhases = phases;
    return { cost: this.totalCost(), unrouted, augmentations };
  }

  // ------------------------------------------------------------------ internals

  private arc(a: ArcId): Arc {
    const arc = this.arcs[a];
    if (!arc) throw new FlowError(`no arc ${a}`);
    return arc;
  }

  private checkNode(v: NodeId): void {
    if (!Number.isInteger(v) || v < 0 || v >= this.outgoing.length) throw new FlowError(`no node ${v}`);
  }

  /**
   * Makes the previous solution a valid starting point: flows within the
   * (possibly lowered) capacities, and no residual arc with a negative
   * reduced cost (each one is saturated, moving its flow into excesses).
   */
  private repair(): void {
    const pi = this.potential;
    for (const a of this.arcs) {
      if (a.flow > a.cap) this.push(a, a.cap - a.flow);
      const reduced = a.cost + pi[a.from]! - pi[a.to]!;
      if (reduced < 0 && a.flow < a.cap) this.push(a, a.cap - a.flow);
      else if (reduced > 0 && a.flow > 0) this.push(a, -a.flow);
    }
  }

  /** Changes an arc's flow by delta, keeping excesses in step. */
  private push(a: Arc, delta: number): void {
    a.flow += delta;
    this.excess[a.from]! -= delta;
    this.excess[a.to]! += delta;
  }

  /**
   * Dijkstra on reduced costs from every node with excess at once, stopping
   * at the first node with a deficit; updates the potentials so reduced
   * costs stay non-negative. Returns the reached deficit node and the tree,
   * or null when no excess can reach any deficit.
   */
  private shortestPaths(): { sink: NodeId; parent: Int32Array } | null {
    const n = this.nodeCount;
    const dist = new Float64Array(n).fill(Infinity);
    // parent[v] = arc id + 1 for a forward residual arc, -(arc id + 1) for a backward one
    const parent = new Int32Array(n);
    const done = new Uint8Array(n);
    const heap = new MinHeap();
    let anyDeficit = false;
    for (let v = 0; v < n; v++) {
      if (this.excess[v]! > 0) {
        dist[v] = 0;
        heap.push(0, v);
      } else if (this.excess[v]! < 0) anyDeficit = true;
    }
    if (!anyDeficit || heap.size === 0) return null;
    const pi = this.potential;
    let sink = -1;
    let sinkDist = Infinity;
    while (heap.size > 0) {
      const d = heap.topKey;
      const v = heap.pop();
      if (done[v] || d > dist[v]!) continue;
      done[v] = 1;
      if (this.excess[v]! < 0) {
        sink = v;
        sinkDist = d;
        break;
      }
      for (const id of this.outgoing[v]!) {
        const a = this.arcs[id]!;
        if (a.flow >= a.cap) continue;
        const nd = d + a.cost + pi[v]! - pi[a.to]!;
        if (nd < dist[a.to]!) {
          dist[a.to] = nd;
          parent[a.to] = id + 1;
          heap.push(nd, a.to);
        }
      }
      for (const id of this.incoming[v]!) {
        const a = this.arcs[id]!;
        if (a.flow <= 0) continue;
        const nd = d - a.cost + pi[v]! - pi[a.from]!;
        if (nd < dist[a.from]!) {
          dist[a.from] = nd;
          parent[a.from] = -(id + 1);
          heap.push(nd, a.from);
        }
      }
    }
    if (sink < 0) return null;
    // Potentials: settled nodes by their distance, the rest by the sink's,
    // which keeps every residual reduced cost non-negative.
    for (let v = 0; v < n; v++) pi[v]! += done[v] ? dist[v]! : sinkDist;
    return { sink, parent };
  }

  /**
   * Depth-first search for paths of admissible residual arcs (reduced cost
   * 0) from any node with excess to any node with a deficit, pushing the
   * bottleneck along each. Pushing along reduced cost 0 keeps every
   * reduced cost non-negative, so optimality holds whatever paths it finds;
   * a node found to lead nowhere is skipped for the rest of the phase (a
   * path missed that way is found by the next Dijkstra, at distance 0).
   * Returns the number of paths pushed.
   */
  private blockingFlow(): number {
    const n = this.nodeCount;
    if (this.mark.length < n) {
      this.mark = new Int32Array(Math.max(n, 2 * this.mark.length));
      this.cur = new Int32Array(this.mark.length);
    }
    // cur[v]: where v's scan resumes (Dinic's current arc): arcs before it were found
    // useless this phase, so the next search from v does not scan them again.
    const cur = this.cur;
    cur.fill(0, 0, n);
    // mark[v] === phase: on the current DFS stack; === -phase: dead this phase.
    const phase = ++this.phase;
    const mark = this.mark;
    const pi = this.potential;
    const excess = this.excess;
    const stackNode: number[] = [];
    const stackPos: number[] = [];
    const stackArc: number[] = [];
    let paths = 0;
    for (let s = 0; s < n; s++) {
      while (excess[s]! > 0 && mark[s] !== -phase) {
        stackNode.length = 0;
        stackPos.length = 0;
        stackArc.length = 0;
        stackNode.push(s);
        stackPos.push(cur[s]!);
        mark[s] = phase;
        let sink = -1;
        while (stackNode.length > 0) {
          const top = stackNode.length - 1;
          const v = stackNode[top]!;
          if (v !== s && excess[v]! < 0) {
            sink = v;
            break;
          }
          const out = this.outgoing[v]!;
          const inc = this.incoming[v]!;
          let pos = stackPos[top]!;
          let next = -1;
          let via = 0;
          while (pos < out.length + inc.length) {
            if (pos < out.length) {
              const id = out[pos]!;
              const a = this.arcs[id]!;
              pos++;
              const w = a.to;
              if (a.flow < a.cap && mark[w] !== phase && mark[w] !== -phase && a.cost + pi[v]! - pi[w]! === 0) {
                next = w;
                via = id + 1;
                break;
              }
            } else {
              const id = inc[pos - out.length]!;
              const a = this.arcs[id]!;
              pos++;
              const w = a.from;
              if (a.flow > 0 && mark[w] !== phase && mark[w] !== -phase && -a.cost + pi[v]! - pi[w]! === 0) {
                next = w;
                via = -(id + 1);
                break;
              }
            }
          }
          stackPos[top] = pos;
          // The arc taken (at pos - 1) may carry more after this push: resume there.
          cur[v] = next < 0 ? pos : pos - 1;
          if (next < 0) {
            mark[v] = -phase;
            stackNode.pop();
            stackPos.pop();
            stackArc.pop();
            continue;
          }
          mark[next] = phase;
          stackNode.push(next);
          stackPos.push(cur[next]!);
          stackArc.push(via);
        }
        if (sink < 0) break;
        // stackArc[i] leads from stackNode[i] to stackNode[i + 1].
        let amount = Math.min(excess[s]!, -excess[sink]!);
        for (const p of stackArc) {
          const a = this.arcs[Math.abs(p) - 1]!;
          amount = Math.min(amount, p > 0 ? a.cap - a.flow : a.flow);
        }
        for (const p of stackArc) this.arcs[Math.abs(p) - 1]!.flow += p > 0 ? amount : -amount;
        excess[s]! -= amount;
        excess[sink]! += amount;
        // The stack's nodes are free again for the next search from s.
        for (const v of stackNode) if (mark[v] === phase) mark[v] = 0;
        paths++;
      }
      if (mark[s] === phase) mark[s] = 0;
    }
    return paths;
  }

  /** Pushes the bottleneck amount from the path's source to `sink`. */
  private augment(sink: NodeId, parent: Int32Array): void {
    let amount = -this.excess[sink]!;
    let v = sink;
    // First pass: the bottleneck and the source.
    for (;;) {
      const p = parent[v]!;
      if (p === 0 || this.excess[v]! > 0) break;
      const a = this.arcs[Math.abs(p) - 1]!;
      amount = Math.min(amount, p > 0 ? a.cap - a.flow : a.flow);
      v = p > 0 ? a.from : a.to;
    }
    amount = Math.min(amount, this.excess[v]!);
    const source = v;
    v = sink;
    while (v !== source) {
      const p = parent[v]!;
      const a = this.arcs[Math.abs(p) - 1]!;
      if (p > 0) {
        a.flow += amount;
        v = a.from;
      } else {
        a.flow -= amount;
        v = a.to;
      }
    }
    this.excess[source]! -= amount;
    this.excess[sink]! += amount;
  }
}

/** A binary min-heap of (key, value) pairs. */
class MinHeap {
  private keys: number[] = [];
  private vals: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  push(key: number, val: number): void {
    const keys = this.keys;
    const vals = this.vals;
    let i = keys.length;
    keys.push(key);
    vals.push(val);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p]! <= key) break;
      keys[i] = keys[p]!;
      vals[i] = vals[p]!;
      i = p;
    }
    keys[i] = key;
    vals[i] = val;
  }

  /** The smallest key (valid while size > 0). */
  get topKey(): number {
    return this.keys[0]!;
  }

  /** Removes the smallest entry and returns its value (no tuple: this runs per heap pop). */
  pop(): number {
    const keys = this.keys;
    const vals = this.vals;
    const topV = vals[0]!;
    const lastK = keys.pop()!;
    const lastV = vals.pop()!;
    const n = keys.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && keys[r]! < keys[l]! ? r : l;
        if (keys[c]! >= lastK) break;
        keys[i] = keys[c]!;
        vals[i] = vals[c]!;
        i = c;
      }
      keys[i] = lastK;
      vals[i] = lastV;
    }
    return topV;
  }
}
