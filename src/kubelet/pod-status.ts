// A pod's status from what the runtime holds (kubelet_pods.go
// generateAPIPodStatus and getPhase): container states, restart counts,
// readiness, conditions and phase. Pure: the caller passes probe results and
// the waiting reasons of the last sync, and pushes the result only when it
// differs from what the API server has.

import type { Condition, Container, ContainerState, ContainerStatus, Pod, PodPhase, PodStatus } from "../api/types.js";
import type { Waiting } from "./pod-actions.js";
import type { ProbeResult } from "./probe-state.js";
import type { Instances, PodView } from "./pod-view.js";
import type { RuntimeContainer } from "./runtime.js";

export interface StatusInput {
  pod: Pod;
  view: PodView;
  /** Why a container is not running, from the last sync (CrashLoopBackOff, ErrImagePull, ...). */
  waiting: Map<string, Waiting>;
  readiness(containerId: string): ProbeResult;
  startup(containerId: string): ProbeResult;
  hostIP: string;
  /** ISO time, for startTime and condition transitions. */
  now: string;
  /** Set when an init container failed under restartPolicy Never. */
  podFailed: boolean;
  /** Set when spec.activeDeadlineSeconds passed. */
  deadlineExceeded?: boolean;
  /** A runtime prefix for container IDs ("docker://"). */
  idPrefix: string;
}

function terminated(c: RuntimeContainer, idPrefix: string): ContainerState {
  return {
    terminated: {
      exitCode: c.exitCode ?? 0,
      reason: c.reason ?? (c.exitCode === 0 ? "Completed" : "Error"),
      ...(c.message ? { message: c.message } : {}),
      ...(c.startedAt ? { startedAt: c.startedAt } : {}),
      ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
      containerID: idPrefix + c.id,
    },
  };
}

function containerStatus(spec: Container, insts: Instances | undefined, input: StatusInput, defaultWaiting: string, isInit: boolean): ContainerStatus {
  const base = { name: spec.name, image: spec.image ?? "", imageID: "", restartCount: 0, ready: false, started: false };
  const waiting = input.waiting.get(spec.name);
  if (!insts) {
    return { ...base, state: { waiting: waiting ?? { reason: defaultWaiting } }, lastState: {} };
  }
  const cur = insts.latest;
  const status: ContainerStatus = {
    ...base,
    image: cur.image || base.image,
    imageID: cur.imageID,
    containerID: input.idPrefix + cur.id,
    restartCount: cur.attempt,
    lastState: {},
  };
  if (cur.state === "running") {
    status.state = { running: { startedAt: cur.startedAt ?? input.now } };
    if (insts.previous && insts.previous.state === "exited") status.lastState = terminated(insts.previous, input.idPrefix);
    const started = !spec.startupProbe || input.startup(cur.id) === "success";
    status.started = started;
    status.ready = !isInit && started && (!spec.readinessProbe || input.readiness(cur.id) === "success");
  } else if (cur.state === "exited") {
    if (waiting) {
      // Waiting to restart: the instance that ended is the last state.
      status.state = { waiting };
      status.lastState = terminated(cur, input.idPrefix);
    } else {
      status.state = terminated(cur, input.idPrefix);
      if (insts.previous && insts.previous.state === "exited") status.lastState = terminated(insts.previous, input.idPrefix);
    }
  } else {
    status.state = { waiting: waiting ?? { reason: "ContainerCreating" } };
    if (insts.previous && insts.previous.state === "exited") status.lastState = terminated(insts.previous, input.idPrefix);
  }
  return status;
}

/** Kubernetes' getPhase over the app containers. */
export function podPhase(pod: Pod, statuses: ContainerStatus[], initPending: boolean, podFailed: boolean): PodPhase {
  if (podFailed) return "Failed";
  if (initPending) return "Pending";
  const policy = pod.spec.restartPolicy ?? "Always";
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (policy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

function condition(type: string, ok: boolean, input: StatusInput, reason?: string): Condition {
  const old = input.pod.status?.conditions?.find((c) => c.type === type);
  const status = ok ? "True" : "False";
  return {
    type,
    status,
    lastProbeTime: null,
    // A transition keeps its time until the condition changes again.
    lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : input.now,
    ...(reason ? { reason } : {}),
  };
}

export function computePodStatus(input: StatusInput): PodStatus {
  const { pod, view } = input;
  const init = pod.spec.initContainers ?? [];
  const initStatuses = init.map((c) => containerStatus(c, view.init.get(c.name), input, "PodInitializing", true));
  // Init is done when every init container exited 0 (or the app containers already ran).
  const initDone = initStatuses.every((s) => s.state?.terminated?.exitCode === 0) || view.app.size > 0;
  const appStatuses = pod.spec.containers.map((c) => containerStatus(c, view.app.get(c.name), input, initDone ? "ContainerCreating" : "PodInitializing", false));
  for (const s of initStatuses) {
    if (s.state?.terminated?.exitCode === 0) s.ready = true;
  }

  const old = pod.status ?? {};
  let phase = input.deadlineExceeded ? "Failed" : podPhase(pod, appStatuses, !initDone, input.podFailed);
  // A terminal phase is final (kubelet never moves a pod out of it).
  if (old.phase === "Succeeded" || old.phase === "Failed") phase = old.phase;

  const containersReady = appStatuses.every((s) => s.ready);
  const terminal = phase === "Succeeded" || phase === "Failed";
  const podIP = view.sandbox?.ip ?? old.podIP;

  const status: PodStatus = {
    phase,
    conditions: [
      condition("PodReadyToStartContainers", !!view.sandbox && view.sandbox.state === "running", input),
      condition("Initialized", initDone, input, initDone ? undefined : "ContainersNotInitialized"),
      condition("Ready", containersReady && !terminal, input, terminal ? "PodCompleted" : containersReady ? undefined : "ContainersNotReady"),
      condition("ContainersReady", containersReady && !terminal, input, terminal ? "PodCompleted" : containersReady ? undefined : "ContainersNotReady"),
      condition("PodScheduled", true, input),
    ],
    hostIP: input.hostIP,
    startTime: old.startTime ?? input.now,
    containerStatuses: appStatuses,
    ...(initStatuses.length ? { initContainerStatuses: initStatuses } : {}),
  };
  if (podIP) {
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
  }
  if (old.qosClass) status.qosClass = old.qosClass;
  if (input.deadlineExceeded || old.reason === "DeadlineExceeded") {
    status.reason = "DeadlineExceeded";
    status.message = "Pod was active on the node longer than the specified deadline";
  }
  return status;
}

/** Status equality for "push only when changed". */
export function sameStatus(a: PodStatus | undefined, b: PodStatus): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(s: PodStatus | undefined): unknown {
  if (!s) return null;
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === "object") {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const val = (v as Record<string, unknown>)[k];
        if (val === undefined || val === null) continue;
        if (typeof val === "object" && !Array.isArray(val) && Object.keys(val).length === 0) continue;
        o[k] = sortKeys(val);
      }
      return o;
    }
    return v;
  };
  return sortKeys(s);
}
