export type {
  Backplane,
  BackplaneState,
  ClusterMessage,
  ClusterMessageHandler,
  ClusterPresence,
  MessageTarget,
  PodPresence,
  SymbolUpdateHandler,
} from './backplane';
export type { MemoryBackplaneOptions, MemoryBusOptions } from './memory';
export { MemoryBackplane, MemoryBus } from './memory';
