import type { Logger } from '@tickhub/log';
import { encodeTickRecord, type Quote, type QuoteUpdate } from '@tickhub/protocol';
import { type Admin, type Kafka, Partitioners, type PartitionMetadata } from 'kafkajs';
import type { IngesterConfig } from './config';
import { errorText } from './error-text';
import { createLane, kafkaClient, type LaneSlice, type ProducerLane } from './lanes';
import type { IngesterMetrics } from './metrics';
import { type ConflatingTickBuffer, TickBatch } from './tick-buffer';

/** Kafka could not be reached (or the topic not created) before STARTUP_TIMEOUT_MS ran out. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** What one acknowledged batch looked like, for benchmarks and diagnostics. */
export interface BatchAck {
  records: number;
  bytes: number;
  sendMs: number;
  /** Oldest producedAt stamp in the batch (ms since the epoch). */
  oldestProducedAt: number;
  ackedAt: number;
}

export type PublisherConfig = Pick<
  IngesterConfig,
  | 'brokers'
  | 'clientId'
  | 'topic'
  | 'partitions'
  | 'replicationFactor'
  | 'acks'
  | 'compression'
  | 'batchMaxMessages'
  | 'batchLingerMs'
  | 'startupTimeoutMs'
  | 'producers'
  | 'producedAtHeader'
>;

const RECONNECT_MIN_MS = 100;
/** Retrying at least every second resumes publishing within a second of the broker's return. */
const RECONNECT_MAX_MS = 1000;
/** Safety net of the wait for a lane's acknowledgement (each acknowledgement wakes the pump). */
const LANE_WAIT_MS = 5000;
const PARTITION_CACHE_LIMIT = 100_000;
/** Slices a lane may hold (one in flight, one waiting): bounds what is taken from the buffer. */
const QUEUED_SLICES_PER_LANE = 2;
/**
 * Longest idle wait with an empty buffer. Sources wake the publisher when they push (`notify`), so
 * this only bounds the delay if one does not.
 */
const IDLE_WAIT_MS = 50;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Builds the slice of one lane while a batch is taken from the buffer. */
class SliceBuilder {
  values: Buffer[] = [];
  keys: string[] = [];
  partitions: number[] = [];
  producedAt: number[] = [];
  bytes = 0;
  oldest = Number.POSITIVE_INFINITY;

  add(symbol: string, value: Buffer, partition: number, producedAt: number): void {
    this.values.push(value);
    this.keys.push(symbol);
    this.partitions.push(partition);
    this.producedAt.push(producedAt);
    this.bytes += value.length + Buffer.byteLength(symbol);
    if (producedAt < this.oldest) this.oldest = producedAt;
  }

  build(): LaneSlice | undefined {
    const count = this.values.length;
    if (count === 0) return undefined;
    const offsets = new Uint32Array(count + 1);
    let total = 0;
    for (let i = 0; i < count; i++) {
      offsets[i] = total;
      total += this.values[i]!.length;
    }
    offsets[count] = total;
    const slice: LaneSlice = {
      count,
      bytes: this.bytes,
      oldestProducedAt: this.oldest,
      values: Buffer.concat(this.values, total),
      offsets,
      keys: this.keys,
      partitions: Int32Array.from(this.partitions),
      producedAt: Float64Array.from(this.producedAt),
    };
    this.values = [];
    this.keys = [];
    this.partitions = [];
    this.producedAt = [];
    this.bytes = 0;
    this.oldest = Number.POSITIVE_INFINITY;
    return slice;
  }
}

/**
 * Drains the tick buffer into Kafka. A batch is sent when it holds `batchMaxMessages` records or
 * `batchLingerMs` after its first record arrived, whichever comes first; while a send is in flight the
 * next batch keeps filling, so batches grow with load.
 *
 * Records are spread over `producers` lanes (kafkajs producers, in worker threads when more than one)
 * by partition, so a symbol always goes through the same lane. Each lane has one request in flight and
 * the next batch starts when every lane acknowledged its part: a symbol's records reach its partition
 * in order.
 *
 * A failed send never drops records: the failed lane gets a new producer (new connection and
 * producer id) with backoff until the broker answers, and its part of the batch is sent again.
 * Meanwhile the source keeps pushing into the bounded buffer, which conflates per symbol once full.
 */
export class KafkaTickPublisher {
  private readonly kafka: Kafka;
  private lanes: ProducerLane[] = [];
  private readonly batch = new TickBatch();
  /** Per lane, the slices taken from the buffer and not yet acknowledged, oldest first (head in flight). */
  private queues: LaneSlice[][] = [];
  private busy: boolean[] = [];
  /** Records taken from the buffer and not yet acknowledged, over all lanes. */
  private pendingTicks = 0;
  /** Waiting with an empty buffer: the next ticks wake the publisher. */
  private idle = false;
  private connected = false;
  private running = false;
  private stopping = false;
  private pump: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private firstPendingAt = 0;
  private partitionCount = 0;
  private readonly partitionOfSymbol = new Map<string, number>();
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private partitionMetadata: PartitionMetadata[] = [];
  private outageStartedAt = 0;
  /** When `connected` last changed, and why it went down. */
  private stateSince = Date.now();
  private downReason: string | undefined = 'not connected yet';
  /** Records acknowledged by Kafka. */
  produced = 0;
  batchesSent = 0;
  /** Called after every acknowledged batch; keep it cheap. */
  onBatchAck: ((ack: BatchAck) => void) | undefined;

  constructor(
    private readonly config: PublisherConfig,
    private readonly buffer: ConflatingTickBuffer,
    private readonly metrics: IngesterMetrics,
    private readonly log: Logger,
  ) {
    this.kafka = kafkaClient(config, log);
    if (config.acks !== -1) {
      log.info('idempotent producer disabled: it requires KAFKA_ACKS=-1 (all)', { acks: config.acks });
    }
    metrics.bufferCapacity.set(buffer.capacity);
    metrics.kafkaConnected.set(0);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Kafka as the ingester sees it, for the readiness body: up or not, since when, and why not. */
  kafkaState(): { up: boolean; since: number; reason?: string } {
    return {
      up: this.connected,
      since: this.stateSince,
      ...(this.connected || this.downReason === undefined ? {} : { reason: this.downReason }),
    };
  }

  private setConnected(up: boolean, reason?: string): void {
    if (up !== this.connected) this.stateSince = Date.now();
    this.connected = up;
    this.downReason = up ? undefined : (reason ?? this.downReason);
    this.metrics.kafkaConnected.set(up ? 1 : 0);
  }

  /** Records taken from the buffer but not yet acknowledged. */
  get inFlight(): number {
    return this.pendingTicks;
  }

  /**
   * Connects, creates the topic when missing and starts publishing. Retries until
   * `startupTimeoutMs` has passed, then throws a StartupError naming the brokers and the last error.
   */
  async start(): Promise<void> {
    const deadline = Date.now() + this.config.startupTimeoutMs;
    let delay = RECONNECT_MIN_MS;
    for (;;) {
      try {
        if (this.partitionCount === 0) this.setPartitions(await this.ensureTopic());
        await this.connectLanes();
        break;
      } catch (err) {
        this.metrics.errors.inc({ kind: 'connect' });
        if (Date.now() + delay >= deadline) {
          await this.disconnectLanes();
          throw new StartupError(
            `cannot reach Kafka at ${this.config.brokers.join(',')} (KAFKA_BROKERS) within ${this.config.startupTimeoutMs} ms: ${errorText(err)}`,
          );
        }
        this.log.warn('Kafka not reachable yet, retrying', {
          brokers: this.config.brokers,
          error: errorText(err),
        });
        await sleep(delay);
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
      }
    }
    this.running = true;
    this.pump = this.run();
  }

  /** Called by the source after pushing ticks. */
  notify(): void {
    if (this.wake === undefined) return;
    // Woken for a full batch, or for the first ticks after an empty buffer: the linger counts from
    // their arrival, not from the end of an idle wait (which made a batch wait up to twice the linger).
    if (this.buffer.size >= this.config.batchMaxMessages || (this.idle && this.buffer.size > 0))
      this.signal();
  }

  /** Publishes what is buffered and in flight (up to `timeoutMs`), then disconnects. */
  async stop(timeoutMs: number): Promise<{ flushed: boolean; left: number }> {
    if (!this.running) {
      await this.disconnectLanes();
      return { flushed: true, left: this.buffer.size };
    }
    this.stopping = true;
    this.signal();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const flushed = !(await Promise.race([this.pump!.then(() => false), timedOut]));
    clearTimeout(timer);
    this.running = false;
    this.signal();
    const left = this.buffer.size + this.pendingTicks;
    await this.disconnectLanes();
    return { flushed, left };
  }

  private setPartitions(count: number): void {
    this.partitionCount = count;
    // Only the count matters to the murmur2 partitioner for keyed records.
    this.partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
    const lanes = Math.max(1, Math.min(this.config.producers, count));
    const inWorkers = lanes > 1;
    this.lanes = Array.from({ length: lanes }, (_, i) =>
      createLane(this.config, i, inWorkers, this.log.child(`lane-${i}`), () => this.laneDisconnected()),
    );
    this.queues = this.lanes.map(() => []);
    this.busy = this.lanes.map(() => false);
    if (inWorkers) this.log.info('producer lanes in worker threads', { lanes, partitions: count });
  }

  private laneDisconnected(): void {
    if (!this.connected) return;
    this.setConnected(false, 'producer disconnected');
    this.outageStartedAt = Date.now();
    this.log.warn('producer disconnected from Kafka; reconnecting');
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private waitFor(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.signal(), ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private hasPending(): boolean {
    return this.pendingTicks > 0;
  }

  /** A new batch may be taken while every lane has at most one slice waiting behind the one in flight. */
  private lanesHaveRoom(): boolean {
    for (const queue of this.queues) if (queue.length >= QUEUED_SLICES_PER_LANE) return false;
    return true;
  }

  private async run(): Promise<void> {
    let delay = RECONNECT_MIN_MS;
    while (this.running) {
      if (!this.connected) {
        if (this.stopping && !this.hasPending() && this.buffer.size === 0) return;
        try {
          await this.connectLanes();
          delay = RECONNECT_MIN_MS;
          this.log.info('Kafka connection restored, publishing resumes', {
            outageMs: Date.now() - this.outageStartedAt,
            folded: this.buffer.folded,
            buffered: this.buffer.size,
          });
        } catch (err) {
          this.metrics.errors.inc({ kind: 'connect' });
          this.downReason = `reconnect failed: ${errorText(err)}`;
          this.log.debug('reconnect failed', { error: errorText(err), retryInMs: delay });
          if (!this.running) return;
          await this.waitFor(delay);
          delay = Math.min(delay * 2, RECONNECT_MAX_MS);
        }
        continue;
      }
      this.startSends();
      const size = this.buffer.size;
      if (size === 0) {
        if (this.stopping && !this.hasPending()) return;
        this.firstPendingAt = 0;
        // Woken by an acknowledgement or by the source's next ticks; the timer is only a safety net.
        this.idle = true;
        await this.waitFor(IDLE_WAIT_MS);
        this.idle = false;
        continue;
      }
      if (!this.lanesHaveRoom()) {
        await this.waitFor(LANE_WAIT_MS);
        continue;
      }
      if (this.firstPendingAt === 0) this.firstPendingAt = Date.now();
      const lingerLeft = this.firstPendingAt + this.config.batchLingerMs - Date.now();
      if (size < this.config.batchMaxMessages && lingerLeft > 0 && !this.stopping) {
        await this.waitFor(lingerLeft);
        continue;
      }
      this.firstPendingAt = this.buffer.size > this.config.batchMaxMessages ? Date.now() : 0;
      this.takeBatch();
    }
  }

  /** Starts a send on every idle, connected lane that has a slice waiting. */
  private startSends(): void {
    for (let i = 0; i < this.lanes.length; i++) {
      if (this.busy[i] || this.queues[i]!.length === 0) continue;
      const lane = this.lanes[i]!;
      if (!lane.connected) continue;
      this.busy[i] = true;
      void this.sendHead(i, lane);
    }
  }

  private async sendHead(i: number, lane: ProducerLane): Promise<void> {
    const slice = this.queues[i]![0]!;
    const started = process.hrtime.bigint();
    try {
      await lane.send(slice);
    } catch (err) {
      this.busy[i] = false;
      this.metrics.errors.inc({ kind: 'send' });
      if (this.connected) {
        this.outageStartedAt = Date.now();
        this.log.warn('send to Kafka failed; buffering (conflating per symbol when full) and reconnecting', {
          error: errorText(err),
          unsent: this.pendingTicks,
        });
      }
      this.setConnected(false, `send failed: ${errorText(err)}`);
      this.signal();
      return;
    }
    const sendMs = Number(process.hrtime.bigint() - started) / 1e6;
    this.queues[i]!.shift();
    this.busy[i] = false;
    this.pendingTicks -= slice.count;
    this.produced += slice.count;
    this.batchesSent++;
    this.metrics.ticksProduced.inc(slice.count);
    this.metrics.bytes.inc(slice.bytes);
    this.metrics.batches.inc();
    this.metrics.sendLatency.observe(sendMs / 1000);
    this.onBatchAck?.({
      records: slice.count,
      bytes: slice.bytes,
      sendMs,
      oldestProducedAt: slice.oldestProducedAt,
      ackedAt: Date.now(),
    });
    // The next slice of this lane goes out at once; the pump is woken to take more from the buffer.
    if (this.queues[i]!.length > 0 && lane.connected && this.connected) {
      this.busy[i] = true;
      void this.sendHead(i, lane);
    }
    this.signal();
  }

  private partitionOf(symbol: string): number {
    let partition = this.partitionOfSymbol.get(symbol);
    if (partition === undefined) {
      partition = this.partitioner({
        topic: this.config.topic,
        partitionMetadata: this.partitionMetadata,
        message: { key: symbol, value: null },
      });
      if (this.partitionOfSymbol.size < PARTITION_CACHE_LIMIT) this.partitionOfSymbol.set(symbol, partition);
    }
    return partition;
  }

  /** Encodes the next batch from the buffer and queues one slice per lane. */
  private takeBatch(): void {
    const batch = this.batch;
    this.buffer.drain(this.config.batchMaxMessages, batch);
    const lanes = this.lanes.length;
    const builders = Array.from({ length: lanes }, () => new SliceBuilder());
    for (let i = 0; i < batch.quotes.length; i++) {
      const quote = batch.quotes[i]!;
      const n = batch.folded[i]!;
      let value: Buffer;
      try {
        value = encodeTickRecord(n === 1 ? quote : withFolded(quote, n));
      } catch (err) {
        this.metrics.errors.inc({ kind: 'encode' });
        this.log.warn('tick dropped: cannot encode', {
          symbol: quote.symbol,
          seq: quote.seq,
          error: errorText(err),
        });
        continue;
      }
      const partition = this.partitionOf(quote.symbol);
      builders[partition % lanes]!.add(quote.symbol, value, partition, batch.producedAt[i]!);
    }
    batch.clear();
    for (let i = 0; i < lanes; i++) {
      const slice = builders[i]!.build();
      if (slice === undefined) continue;
      this.queues[i]!.push(slice);
      this.pendingTicks += slice.count;
    }
    this.startSends();
  }

  private async connectLanes(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.connect()));
    this.setConnected(true);
  }

  private async disconnectLanes(): Promise<void> {
    this.setConnected(false, 'stopped');
    await Promise.all(this.lanes.map((lane) => lane.disconnect()));
  }

  /** Creates the topic when missing; returns its partition count. */
  private async ensureTopic(): Promise<number> {
    const admin: Admin = this.kafka.admin();
    try {
      await admin.connect();
      const created = await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: this.config.topic,
            numPartitions: this.config.partitions,
            replicationFactor: this.config.replicationFactor,
          },
        ],
      });
      const meta = await admin.fetchTopicMetadata({ topics: [this.config.topic] });
      const partitions = meta.topics[0]?.partitions.length ?? 0;
      if (partitions === 0) throw new Error(`topic ${this.config.topic} has no partitions`);
      if (created) {
        this.log.info('topic created', { topic: this.config.topic, partitions });
      } else if (partitions !== this.config.partitions) {
        this.log.warn('topic exists with a different partition count; keeping it', {
          topic: this.config.topic,
          partitions,
          configured: this.config.partitions,
        });
      } else {
        this.log.info('topic exists', { topic: this.config.topic, partitions });
      }
      return partitions;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

function withFolded(quote: Quote, n: number): QuoteUpdate {
  return {
    symbol: quote.symbol,
    seq: quote.seq,
    ts: quote.ts,
    bid: quote.bid,
    ask: quote.ask,
    bidSize: quote.bidSize,
    askSize: quote.askSize,
    last: quote.last,
    lastSize: quote.lastSize,
    volume: quote.volume,
    open: quote.open,
    high: quote.high,
    low: quote.low,
    n,
  };
}
