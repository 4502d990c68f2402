// The kubelet's public surface: the node agent, its runtimes, and what
// `pinsetter node` runs (ARCHITECTURE §6).
export { Kubelet, type KubeletOptions } from "./kubelet.js";
export { startNodeKubelet, startHollowNodes, apiServers, leaseTimings, HOLLOW_LABEL, type HollowNodes, type HollowOptions, type NodeTuning } from "./node-process.js";
export { runNodeProcess, type NodeCommandOptions } from "./node-command.js";
export { DockerRuntime, DEFAULT_PAUSE_IMAGE, type DockerRuntimeOptions } from "./docker-runtime.js";
export { SimRuntime, SIM_ANNOTATION_PREFIX, type SimRuntimeOptions } from "./sim-runtime.js";
export { SharedPodSource, type PodSource } from "./pod-source.js";
export { LABELS, ImageError, type ContainerRuntime, type RuntimeContainer, type ContainerSpec, type SandboxSpec } from "./runtime.js";
export type { Summary, PodSummary, ContainerSummary } from "./stats.js";
