import type { Quote, QuoteUpdate } from '@tickhub/protocol';

/** Where the source stage gets ticks from. Implementations: SimTickSource (embedded), KafkaTickSource. */
export interface TickSourceHandler {
  /** A batch of source ticks, in arrival order (per symbol, in seq order as produced). `n` defaults to 1. */
  onTicks(ticks: ReadonlyArray<Quote | QuoteUpdate>): void;
  /**
   * Ownership of some symbols moved (e.g. Kafka partitions revoked or assigned): the source stage must
   * re-read what it knows about a symbol before trusting its own state again.
   */
  onOwnershipChange?(): void;
}

export interface TickSource {
  /** A short name for logs and metrics, e.g. "simulator" or "kafka". */
  readonly kind: string;
  /** Starts delivering ticks; resolves once connected (for Kafka: after the consumer joined its group). */
  start(handler: TickSourceHandler): Promise<void>;
  /** Stops delivering ticks and releases resources (for Kafka: leaves the consumer group). */
  stop(): Promise<void>;
  /**
   * Why ticks cannot flow at `now` (e.g. no successful fetch for too long), or undefined while they can.
   * Readiness and the dependency metrics follow it.
   */
  problem(now: number): string | undefined;
  /** Messages behind the head of the log, summed over owned partitions (0 when not applicable). */
  lag(): number;
  /** Per owned partition: messages behind the head and when its last record arrived (or when it was assigned). */
  partitionStates(): ReadonlyArray<PartitionState>;
}

export interface PartitionState {
  partition: number;
  lag: number;
  /** When its last record arrived, or when it was assigned to this pod. */
  lastRecordAt: number;
}
