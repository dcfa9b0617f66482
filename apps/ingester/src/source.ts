import type { Quote } from '@tickhub/protocol';

/** Where a tick source puts its ticks: the bounded buffer in front of the Kafka publisher. */
export interface TickSink {
  /** Takes ownership of `quote` (it must not be changed afterwards); `producedAt` is ms since the epoch. */
  push(quote: Quote, producedAt: number): void;
  /** False while the buffer is full and further ticks would be folded. */
  hasRoom(): boolean;
  /** Tells the publisher a burst of pushes ended (lets it send a full batch at once). */
  flush(): void;
}

export interface TickSource {
  start(sink: TickSink): void;
  stop(): Promise<void>;
  /** Ticks handed to the sink so far. */
  readonly produced: number;
}
