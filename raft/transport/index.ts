// Public surface of the peer transport: the Transport seam, its WebSocket
// implementation and in-memory twin, and the frame validator.
export type { MessageHandler, PeerAddress, Transport } from "./types.js";
export {
  CloseCode,
  DEFAULT_BACKOFF,
  RAFT_PATH,
  WebSocketTransport,
  type BackoffOptions,
  type PeerStats,
  type TransportStats,
  type WebSocketTransportOptions,
} from "./websocket.js";
export { SNAPSHOT_PATH, SNAPSHOT_WINDOW } from "./snapshot-stream.js";
export {
  MemoryNetwork,
  MemoryTransport,
  type MemoryNetworkOptions,
  type MemoryNetworkStats,
} from "./memory.js";
export {
  MAX_NODE_ID_LENGTH,
  MESSAGE_TYPES,
  decodeFrame,
  encodeFrame,
  isMessageType,
  validateFrame,
  validateMessage,
  type FrameExpectation,
  type Validated,
} from "./validate.js";
export {
  HANDSHAKE_VERSION,
  ReplayGuard,
  createHello,
  createWelcome,
  verifyHello,
  verifyWelcome,
  type Hello,
  type Refusal,
  type Secret,
  type Welcome,
} from "./handshake.js";
