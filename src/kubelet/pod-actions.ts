// What to do to bring one pod's containers to its spec (kuberuntime's
// computePodActions): a pure function of the pod, what the runtime holds,
// the probe results and the restart back-off. pod-sync.ts carries it out.

import type { Container, Pod } from "../api/types.js";
import { backoffKey, type RestartBackoff } from "./backoff.js";
import type { ProbeResult } from "./probe-state.js";
import type { PodView } from "./pod-view.js";
import type { RuntimeContainer } from "./runtime.js";

export interface StartAction {
  container: Container;
  kind: "init" | "app";
  attempt: number;
  hash: string;
}

export interface Waiting {
  reason: string;
  message?: string;
}

export interface PodActions {
  /** A new sandbox (network holder) is needed, with this attempt number. */
  createSandbox: { attempt: number } | null;
  /** The pod has nothing left to run: stop its sandbox. */
  stopSandbox: boolean;
  kill: { container: RuntimeContainer; reason: string }[];
  start: StartAction[];
  /** Garbage: never-started instances, instances older than the previous one, old sandboxes. */
  remove: RuntimeContainer[];
  /** Containers held back, by name (CrashLoopBackOff). */
  waiting: Map<string, Waiting>;
  /** When a back-off ends (ms since epoch): sync again then. */
  wakeAt: number | null;
  /** An init container failed under restartPolicy Never: the pod failed. */
  podFailed: boolean;
  /** spec.activeDeadlineSeconds passed since startTime: the pod failed (DeadlineExceeded). */
  deadlineExceeded: boolean;
}

export interface ActionInput {
  pod: Pod;
  view: PodView;
  now: number;
  backoff: RestartBackoff;
  hash(c: Container): string;
  liveness(containerId: string): ProbeResult;
  startup(containerId: string): ProbeResult;
}

export function isTerminalPhase(phase: string | undefined): boolean {
  return phase === "Succeeded" || phase === "Failed";
}

function ms(iso: string | undefined, fallback: number): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) && t > 0 ? t : fallback;
}

export function computePodActions(input: ActionInput): PodActions {
  const { pod, view, now } = input;
  const uid = pod.metadata.uid ?? "";
  const policy = pod.spec.restartPolicy ?? "Always";
  const a: PodActions = { createSandbox: null, stopSandbox: false, kill: [], start: [], remove: [], waiting: new Map(), wakeAt: null, podFailed: false, deadlineExceeded: false };

  for (const insts of [...view.init.values(), ...view.app.values()]) a.remove.push(...insts.older);
  for (const s of view.oldSandboxes) {
    if (s.state === "running") a.kill.push({ container: s, reason: "old sandbox" });
    a.remove.push(s);
  }

  const running = (c: RuntimeContainer | undefined) => c?.state === "running";

  // activeDeadlineSeconds counts from the pod's startTime on this node.
  const deadlineSeconds = pod.spec.activeDeadlineSeconds;
  const started = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
  if (deadlineSeconds !== undefined && Number.isFinite(started)) {
    const deadline = started + deadlineSeconds * 1000;
    if (now >= deadline) a.deadlineExceeded = true;
    else a.wakeAt = deadline;
  }

  // A pod in a terminal phase runs nothing again (Kubernetes never revives one).
  if (isTerminalPhase(pod.status?.phase) || a.deadlineExceeded) {
    for (const insts of [...view.init.values(), ...view.app.values()]) {
      if (running(insts.latest)) a.kill.push({ container: insts.latest, reason: "pod is terminal" });
    }
    a.stopSandbox = running(view.sandbox ?? undefined);
    return a;
  }

  /** Whether an exited instance may restart now; records back-off otherwise. */
  const restartNow = (c: Container, inst: RuntimeContainer, hash: string): boolean => {
    const until = input.backoff.backoffUntil(backoffKey(uid, c.name, hash), ms(inst.finishedAt, now), now);
    if (until === null) return true;
    const delay = Math.round(input.backoff.currentDelay(backoffKey(uid, c.name, hash)) / 1000);
    a.waiting.set(c.name, {
      reason: "CrashLoopBackOff",
      message: `back-off ${delay}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${uid})`,
    });
    a.wakeAt = a.wakeAt === null ? until : Math.min(a.wakeAt, until);
    return false;
  };

  // Init containers, one at a time, in order.
  let initDone = true;
  for (const c of pod.spec.initContainers ?? []) {
    const hash = input.hash(c);
    const insts = view.init.get(c.name);
    if (!insts) {
      a.start.push({ container: c, kind: "init", attempt: 0, hash });
      initDone = false;
      break;
    }
    const inst = insts.latest;
    if (inst.state === "exited" && inst.exitCode === 0) continue;
    initDone = false;
    if (inst.state === "running") break;
    if (inst.state === "created" || inst.state === "unknown") {
      a.remove.push(inst);
      a.start.push({ container: c, kind: "init", attempt: inst.attempt + 1, hash });
      break;
    }
    // Failed.
    if (policy === "Never") {
      a.podFailed = true;
      break;
    }
    if (restartNow(c, inst, hash)) a.start.push({ container: c, kind: "init", attempt: inst.attempt + 1, hash });
    break;
  }

  let anyAppRunning = false;
  if (initDone && !a.podFailed) {
    for (const c of pod.spec.containers) {
      const hash = input.hash(c);
      const insts = view.app.get(c.name);
      if (!insts) {
        a.start.push({ container: c, kind: "app", attempt: 0, hash });
        continue;
      }
      const inst = insts.latest;
      if (inst.state === "created" || inst.state === "unknown") {
        a.remove.push(inst);
        a.start.push({ container: c, kind: "app", attempt: inst.attempt + 1, hash });
        continue;
      }
      if (inst.state === "running") {
        anyAppRunning = true;
        if (inst.hash !== hash) a.kill.push({ container: inst, reason: `container ${c.name} definition changed, will be restarted` });
        else if (input.startup(inst.id) === "failure") a.kill.push({ container: inst, reason: `container ${c.name} failed startup probe, will be restarted` });
        else if (input.liveness(inst.id) === "failure") a.kill.push({ container: inst, reason: `container ${c.name} failed liveness probe, will be restarted` });
        continue;
      }
      // Exited.
      const restart = policy === "Always" || (policy === "OnFailure" && inst.exitCode !== 0);
      if (!restart) continue;
      if (restartNow(c, inst, hash)) a.start.push({ container: c, kind: "app", attempt: inst.attempt + 1, hash });
    }
  }

  const initRunning = [...view.init.values()].some((i) => running(i.latest));
  const nothingLeft = a.start.length === 0 && a.waiting.size === 0 && !anyAppRunning && !initRunning;
  if (nothingLeft || a.podFailed) {
    // Everything ran to completion (or failed for good): release the sandbox.
    a.stopSandbox = running(view.sandbox ?? undefined);
    return a;
  }
  if (!running(view.sandbox ?? undefined)) {
    a.createSandbox = { attempt: view.sandbox ? view.sandbox.attempt + 1 : 0 };
    if (view.sandbox) a.remove.push(view.sandbox);
    // Containers in a dead sandbox have no network: restart them in the new one.
    for (const insts of [...view.init.values(), ...view.app.values()]) {
      if (running(insts.latest) && !a.kill.some((k) => k.container.id === insts.latest.id)) a.kill.push({ container: insts.latest, reason: "sandbox changed" });
    }
  }
  return a;
}
