// The per-node service proxy: startProxy() in a node process; the pieces for tests.
export { startProxy, ServiceProxy, type ProxyOptions, type ProxyHandle, type ServiceProxyOptions } from "./proxy.js";
export { InformerSource, type ProxySource } from "./source.js";
export { nodePortTable, type Backend, type NodePortEntry } from "./backends.js";
export { PortListener } from "./port-listener.js";
