// The live "pinsetter and pins" view: informers on nodes, pods, leases,
// deployments and events keep the picture current, the masters' /status is
// polled, and keys act on the cluster (scale a deployment; with `pinsetter
// up`, also knock a node down, set it up again, pause a master). On a TTY it
// redraws in place (screen.ts); in a pipe it prints one line per change.

import type { Deployment, Event, Lease, Node, Pod } from "../../api/types.js";
import { Informer } from "../../client/informer.js";
import type { KubeClient } from "../../client/kube-client.js";
import { buildModel, type ClusterModel, type MasterRow } from "./model.js";
import { render, type Selection } from "./render.js";
import { Screen } from "./screen.js";

/** What the host of the view can do beyond the API (only `pinsetter up` runs processes). */
export interface LiveHost {
  clusterName: string;
  masters(): Promise<MasterRow[]>;
  nodeProcess?(node: string): "running" | "stopped" | "starting" | undefined;
  knockDown?(node: string): Promise<string>;
  setUp?(node: string): Promise<string>;
  togglePause?(master: string): Promise<string>;
}

export interface LiveViewOptions {
  client: KubeClient;
  host: LiveHost;
  out?: NodeJS.WriteStream;
  input?: NodeJS.ReadStream;
  refreshMs?: number;
}

/** Runs until the user quits (q, Ctrl-C) or `stop()`; resolves then. */
export class LiveView {
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly leases: Informer<Lease>;
  private readonly deployments: Informer<Deployment>;
  private readonly events: Informer<Event>;
  private readonly screen: Screen | null;
  private readonly out: NodeJS.WriteStream;
  private readonly input: NodeJS.ReadStream;
  private selection: Selection = { lane: 0, deployment: 0, master: 0 };
  private message = "";
  private masters: MasterRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastPlain = "";
  private done!: () => void;
  readonly finished: Promise<void>;
  private model: ClusterModel | null = null;
  private readonly onKey = (data: Buffer) => void this.key(data.toString("utf8"));

  constructor(private readonly opts: LiveViewOptions) {
    const c = opts.client;
    this.nodes = new Informer<Node>(c, "nodes");
    this.pods = new Informer<Pod>(c, "pods");
    this.leases = new Informer<Lease>(c, "leases", { namespace: "kube-node-lease" });
    this.deployments = new Informer<Deployment>(c, "deployments");
    this.events = new Informer<Event>(c, "events");
    this.out = opts.out ?? process.stdout;
    this.input = opts.input ?? process.stdin;
    this.screen = this.out.isTTY ? new Screen(this.out as import("node:tty").WriteStream) : null;
    this.finished = new Promise((r) => (this.done = r));
  }

  start(): void {
    for (const i of [this.nodes, this.pods, this.leases, this.deployments, this.events]) i.start();
    if (this.screen) {
      this.screen.start();
      this.screen.resized = () => this.draw();
      if (this.input.isTTY) {
        this.input.setRawMode(true);
        this.input.resume();
        this.input.on("data", this.onKey);
      }
    }
    const tick = async () => {
      this.masters = await this.opts.host.masters().catch(() => this.masters);
      this.draw();
      if (this.timer !== null) this.timer = setTimeout(() => void tick(), this.opts.refreshMs ?? 500);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const i of [this.nodes, this.pods, this.leases, this.deployments, this.events]) i.stop();
    if (this.screen) {
      this.screen.close();
      if (this.input.isTTY) {
        this.input.off("data", this.onKey);
        this.input.setRawMode(false);
        this.input.pause();
      }
    }
    this.done();
  }

  private buildModel(): ClusterModel {
    const model = buildModel({
      clusterName: this.opts.host.clusterName,
      masters: this.masters,
      nodes: this.nodes.list(),
      pods: this.pods.list(),
      leases: this.leases.list(),
      deployments: this.deployments.list(),
      events: this.events.list(),
      now: Date.now(),
      maxEvents: 50,
    });
    for (const lane of model.lanes) {
      const proc = this.opts.host.nodeProcess?.(lane.node);
      if (proc) lane.process = proc;
    }
    return model;
  }

  private draw(): void {
    const model = this.buildModel();
    this.model = model;
    this.clampSelection(model);
    if (this.screen) {
      this.screen.draw(
        render(model, {
          width: this.screen.width,
          height: this.screen.height,
          color: true,
          selection: this.selection,
          message: this.message,
          keys: { knock: !!this.opts.host.knockDown, pause: !!this.opts.host.togglePause, scale: true },
        }),
      );
      return;
    }
    // Not a terminal: one plain line whenever the picture changes.
    const summary = [
      model.masters.map((m) => `${m.name}:${m.down ? "down" : m.paused ? "paused" : m.role}`).join(","),
      ...model.lanes.map((l) => `${l.node}:${l.ready}:${l.pins.map((p) => p.state[0]).join("")}`),
      model.unscheduled.length ? `pending:${model.unscheduled.length}` : "",
      ...model.deployments.map((d) => `${d.name}:${d.ready}/${d.desired}`),
    ]
      .filter(Boolean)
      .join(" | ");
    if (summary !== this.lastPlain) {
      this.lastPlain = summary;
      this.out.write(`${new Date().toISOString()} ${summary}\n`);
    }
  }

  private clampSelection(model: ClusterModel): void {
    const clamp = (v: number, n: number) => (n === 0 ? 0 : Math.min(Math.max(0, v), n - 1));
    this.selection = {
      lane: clamp(this.selection.lane, model.lanes.length),
      deployment: clamp(this.selection.deployment, model.deployments.length),
      master: clamp(this.selection.master, model.masters.length),
    };
  }

  private async key(k: string): Promise<void> {
    const model = this.model;
    if (!model) return;
    const lane = model.lanes[this.selection.lane];
    const dep = model.deployments[this.selection.deployment];
    const master = model.masters[this.selection.master];
    const say = (m: string) => {
      this.message = m;
      this.draw();
    };
    try {
      switch (k) {
        case "q":
        case "\u0003": // Ctrl-C
          this.stop();
          return;
        case "\u001b[A":
          this.selection.lane--;
          break;
        case "\u001b[B":
        case "\t":
          this.selection.lane++;
          break;
        case "\u001b[D":
          this.selection.deployment--;
          break;
        case "\u001b[C":
          this.selection.deployment++;
          break;
        case "m":
          this.selection.master = (this.selection.master + 1) % Math.max(1, model.masters.length);
          break;
        case "k":
          if (lane && this.opts.host.knockDown) say(await this.opts.host.knockDown(lane.node));
          break;
        case "r":
          if (lane && this.opts.host.setUp) say(await this.opts.host.setUp(lane.node));
          break;
        case "p":
          if (master && this.opts.host.togglePause) say(await this.opts.host.togglePause(master.name));
          break;
        case "+":
        case "=":
        case "-": {
          if (!dep) break;
          const replicas = Math.max(0, dep.desired + (k === "-" ? -1 : 1));
          await this.opts.client.patch("deployments", dep.namespace, dep.name, { spec: { replicas } }, "merge", { subresource: "scale" });
          say(`scaled deployment ${dep.name} to ${replicas}`);
          break;
        }
        default:
          return;
      }
    } catch (err) {
      say(`error: ${(err as Error).message}`);
      return;
    }
    this.draw();
  }
}
