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
// Input rules shared by every implementation, so that all of them fail alike on bad input.
export { sumPresence, validateMessage, validatePayload, validateSymbol } from './validate';
