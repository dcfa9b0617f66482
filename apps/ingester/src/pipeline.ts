import type { Logger } from '@tickhub/log';
import type { Quote } from '@tickhub/protocol';
import type { IngesterConfig } from './config';
import type { DependencyHealth } from './http-server';
import type { IngesterMetrics } from './metrics';
import { KafkaTickPublisher } from './publisher';
import type { TickSink, TickSource } from './source';
import { ConflatingTickBuffer } from './tick-buffer';

export interface PipelineSummary {
  generated: number;
  produced: number;
  folded: number;
  batches: number;
  /** Records still buffered or in flight when shutdown gave up (0 after a complete flush). */
  unsent: number;
  flushed: boolean;
  bufferHighWater: number;
}

/**
 * The hot path: source → bounded conflating buffer → batching Kafka publisher. Plain classes, no
 * framework: the Nest service only starts and stops it.
 */
export class IngestPipeline implements TickSink {
  readonly buffer: ConflatingTickBuffer;
  readonly publisher: KafkaTickPublisher;
  private reportedGenerated = 0;
  private reportedFolded = 0;
  private shuttingDown = false;
  private started = false;

  constructor(
    private readonly config: IngesterConfig,
    private readonly source: TickSource,
    private readonly metrics: IngesterMetrics,
    log: Logger,
  ) {
    this.buffer = new ConflatingTickBuffer(config.bufferMaxTicks);
    this.publisher = new KafkaTickPublisher(config, this.buffer, metrics, log.child('publisher'));
  }

  /** Ready while publishing to a connected producer (not during start-up, outages or shutdown). */
  get ready(): boolean {
    return this.started && !this.shuttingDown && this.publisher.isConnected;
  }

  dependencies(): Record<string, DependencyHealth> {
    return { kafka: this.publisher.kafkaState() };
  }

  push(quote: Quote, producedAt: number): void {
    this.buffer.push(quote, producedAt);
  }

  hasRoom(): boolean {
    return this.buffer.hasRoom;
  }

  flush(): void {
    this.updateMetrics();
    this.publisher.notify();
  }

  updateMetrics(): void {
    const b = this.buffer;
    this.metrics.ticksGenerated.inc(b.accepted - this.reportedGenerated);
    this.reportedGenerated = b.accepted;
    if (b.folded !== this.reportedFolded) {
      this.metrics.ticksFolded.inc(b.folded - this.reportedFolded);
      this.reportedFolded = b.folded;
    }
    this.metrics.bufferTicks.set(b.size);
    this.metrics.inFlightTicks.set(this.publisher.inFlight);
  }

  /** Connects to Kafka (throws StartupError when it cannot within STARTUP_TIMEOUT_MS), then starts the source. */
  async start(): Promise<void> {
    await this.publisher.start();
    this.started = true;
    this.source.start(this);
  }

  /** Stops the source, then publishes what is buffered and in flight within SHUTDOWN_TIMEOUT_MS. */
  async stop(): Promise<PipelineSummary> {
    this.shuttingDown = true;
    await this.source.stop();
    this.updateMetrics();
    const { flushed, left } = await this.publisher.stop(this.config.shutdownTimeoutMs);
    this.updateMetrics();
    return {
      generated: this.buffer.accepted,
      produced: this.publisher.produced,
      folded: this.buffer.folded,
      batches: this.publisher.batchesSent,
      unsent: left,
      flushed,
      bufferHighWater: this.buffer.highWater,
    };
  }
}
