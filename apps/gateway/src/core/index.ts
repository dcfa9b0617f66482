export { type Clock, realClock, type TimerHandle } from './clock';
export {
  EdgeStage,
  type EdgeStageOptions,
  type FeedSession,
  quoteFields,
  type SessionOptions,
  type SessionSink,
  type SubscribeError,
  type SubscribeResult,
  snapshotMessage,
} from './edge-stage';
export {
  frameTicks,
  frameUpdates,
  jsonUpdateEncoding,
  msgpackUpdateEncoding,
  type UpdateEncoding,
} from './encodings';
export {
  type Entitlements,
  entitledDirectory,
  entitlementsFor,
  intersectSymbolPatterns,
  symbolMatcher,
} from './entitlements';
export { KafkaTickSource, type KafkaTickSourceOptions } from './kafka-tick-source';
export { SimTickSource, type SimTickSourceOptions } from './sim-tick-source';
export { SourceStage, type SourceStageOptions } from './source-stage';
export type { TickSource, TickSourceHandler } from './tick-source';
export { TimerWheel, type WheelEntry } from './timer-wheel';
