// The batch placer by min-cost flow (issue 12): public surface.

export { FlowPlacer, type FlowPlacerOptions, type FlowStats, UNSCHEDULED_COST, SPREAD_STEP, COST_QUANTUM } from "./flow-placer.js";
export { FlowNetwork, type NetworkInput, type ClassInput, type Segment, type Decoded } from "./network.js";
export { MinCostFlow, FlowError, type SolveResult } from "./min-cost-flow.js";
export { groupIntoClasses, classKey, type PodClass } from "./classes.js";
export { defaultSchedulerPlacer, flowSchedulerOptions, FLOW_SCHEDULER_NAME } from "./select.js";
