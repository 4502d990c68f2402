// The clientPort's etcd v3 JSON gateway: what a master mounts on its client server.
export { createGatewayHandler, type GatewayHandler, type GatewayOptions } from "./handler.js";
export type { GatewayAuth } from "./auth.js";
export * from "./limits.js";
