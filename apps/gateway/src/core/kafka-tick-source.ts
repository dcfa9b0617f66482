import { decodeTickRecord, type QuoteUpdate } from '@tickhub/protocol';
import { type Consumer, Kafka, type KafkaConfig, type LogEntry, logLevel, PartitionAssigners } from 'kafkajs';
import { OffsetCommitter } from './offset-committer';
import { shiftedAssigner } from './shifted-assigner';
import type { PartitionState, TickSource, TickSourceHandler } from './tick-source';

/**
 * A pod silent for this long loses its partitions to the others (KAFKA_SESSION_TIMEOUT_MS): the lowest a
 * broker accepts with its default `group.min.session.timeout.ms`. The brokers this project ships lower
 * that minimum and run the gateways at 3 s (docs/architecture.md, "When a pod dies").
 */
export const DEFAULT_KAFKA_SESSION_TIMEOUT_MS = 6000;

/**
 * A member learns of a rebalance from its next heartbeat's answer, so this bounds how long the others'
 * partitions wait when a pod joins or leaves (a deploy). Half a second costs the broker nothing.
 */
const HEARTBEAT_INTERVAL_MS = 500;

/**
 * The broker holds a fetch until it has this many bytes for the consumer (KAFKA_FETCH_MIN_BYTES) or
 * DEFAULT_KAFKA_FETCH_MAX_WAIT_MS has passed. One byte: a fetch is answered as soon as a tick is there,
 * so no tick waits for others to fill a batch. A busy topic still comes in batches, of whatever arrived
 * during the previous fetch's round trip and handling, so the batches grow with the load by themselves.
 * Measured on the dashboard benchmark (10,000 ticks/s): 16 KiB (some 130 records, reached only after the
 * 10 ms wait at that rate) put the Kafka path's p50 12–15 ms above embedded, one byte 5 ms, at the same
 * CPU per delivered update within the runs' spread (docs/benchmarks.md).
 */
export const DEFAULT_KAFKA_FETCH_MIN_BYTES = 1;

/**
 * How long the broker may hold a fetch that has less than the minimum bytes (KAFKA_FETCH_MAX_WAIT_MS):
 * with the default minimum, how long a fetch waits for the first tick; with a larger one, the most a
 * tick waits for others to fill a batch. It also makes even a topic
 * without traffic answer many times a second, so readiness can tell a quiet topic from a broker that is
 * gone (FETCH_STALE_MS).
 */
export const DEFAULT_KAFKA_FETCH_MAX_WAIT_MS = 10;

/** The longest fetch wait allowed: readiness needs several answers within FETCH_STALE_MS. */
export const MAX_KAFKA_FETCH_MAX_WAIT_MS = 500;

/** No fetch answer for this long (six quiet-topic answers missed) means ticks cannot flow. */
export const FETCH_STALE_MS = 3000;

/**
 * kafkajs backs off up to 30 s by default, which kept the gateways idle for 10-15 s after a broker came
 * back; retrying every second at most resumes within a second of its return. Nothing gives up: a consumer
 * that gave up was restarted by kafkajs as a new member, and the group then waited a whole session
 * timeout for the old one before it could rebalance. Retrying, it keeps its member id and generation and
 * simply carries on once the coordinator is back. Readiness reports the outage meanwhile.
 */
const RETRY = { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1000 };

/** How long stop() waits for the last offsets to be committed before it leaves the group anyway. */
const FINAL_COMMIT_WAIT_MS = 2000;

/**
 * How often a standby looks again at which partitions its pod's primary reads, besides the primary's own
 * rebalance events: a primary that stalls is only noticed by its readiness check (FETCH_STALE_MS).
 */
const STANDBY_RECONCILE_MS = 500;

/** How often a standby commits, for the partitions it leaves to its pod's primary, where that primary is. */
const STANDBY_COMMIT_MS = 1000;

/** kafkajs reports a rebalance in progress as an error of the heartbeat or fetch that met it. */
const REBALANCE = /rebalanc/i;

export type KafkaLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface KafkaTickSourceOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  clientId: string;
  /** Read the topic from its start for a group without committed offsets (default: latest). */
  fromBeginning?: boolean;
  /** A pod silent for this long loses its partitions to the others (default DEFAULT_KAFKA_SESSION_TIMEOUT_MS). */
  sessionTimeoutMs?: number;
  /** Bytes the broker gathers before it answers a fetch (default DEFAULT_KAFKA_FETCH_MIN_BYTES). */
  fetchMinBytes?: number;
  /** The longest the broker holds a fetch short of fetchMinBytes (default DEFAULT_KAFKA_FETCH_MAX_WAIT_MS). */
  fetchMaxWaitMs?: number;
  log?: (level: KafkaLogLevel, msg: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
  /**
   * Assign partitions with shiftedAssigner (members ordered by pod id, shifted by `shift`), so that a
   * primary and a standby group put each partition on two different pods. kafkajs's round robin stays
   * as a fallback for a group that still has members without it (a rolling deploy).
   */
  assigner?: { podId: string; shift: number };
  /**
   * For a standby source: the primary owner on the same pod. The partitions it reads are paused here (a
   * standby on the primary's own pod protects against nothing, and fetching and decoding every record a
   * second time cost as much as the primary's own reading); when it stops reading one (a rebalance, a
   * stall, a drain), the standby resumes that partition from where the primary got to.
   */
  samePodPrimary?: SamePodPrimary;
  /**
   * Awaited before each offset commit, once the offsets to commit are taken: the primary source waits
   * for the candles of the ticks handed over to be stored (CandleAggregator.settled), so that a
   * partition's next owner reads again every tick whose candles were not written.
   */
  beforeCommit?: () => Promise<unknown>;
}

/** What a standby source asks of the primary owner on its own pod (KafkaTickSource is one). */
export interface SamePodPrimary {
  /** Whether it reads `partition` now: owns it, is not rebalancing, and the brokers answer. */
  isReading(partition: number, now: number): boolean;
  /** The next offset it would read in `partition`, once it has read a record of it. */
  position(partition: number): string | undefined;
  /** Calls `listener` whenever what it reads may have changed (a rebalance began or ended, it stopped). */
  onReadingChange(listener: () => void): void;
}

/**
 * Reads tick records from Kafka in consumer group `groupId`: each pod owns some partitions of the topic,
 * so each tick is decoded once in the cluster. Records that do not decode are counted and skipped.
 * Health is judged from what the broker answers (fetches, heartbeats), never from a flag set at start.
 */
export class KafkaTickSource implements TickSource, SamePodPrimary {
  readonly kind = 'kafka';
  private readonly kafka: Kafka;
  private readonly now: () => number;
  private readonly sessionTimeoutMs: number;
  private consumer: Consumer | undefined;
  private committer: OffsetCommitter | undefined;
  private running = false;
  private crashed: string | undefined;
  private lastFetchAt = 0;
  private lastHeartbeatAt = 0;
  private readonly partitionsState = new Map<number, PartitionState>();
  private assigned: number[] = [];
  /** Between a rebalance's start and the next assignment: owned partitions are not being read. */
  private rebalancing = false;
  decodeErrors = 0;
  records = 0;
  /** Records consumed without decoding: fetched for a partition just before it was paused. */
  skipped = 0;
  rebalances = 0;
  /** The next offset to read per partition, after the last record read (kept after a partition moves). */
  private readonly positions = new Map<number, bigint>();
  /** Partitions left to the same pod's primary (samePodPrimary), paused in kafkajs. */
  private readonly paused = new Set<number>();
  private readonly readingListeners: Array<() => void> = [];
  private reconcileTimer: NodeJS.Timeout | undefined;
  private lastStandbyCommitAt = 0;

  constructor(private readonly options: KafkaTickSourceOptions) {
    this.now = options.now ?? Date.now;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_KAFKA_SESSION_TIMEOUT_MS;
    const config: KafkaConfig = {
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      retry: RETRY,
      logCreator: () => (entry) => this.kafkaLog(entry),
    };
    this.kafka = new Kafka(config);
    // Once, not per start: a stopped standby ignores the calls (reconcileStandby).
    options.samePodPrimary?.onReadingChange(() => this.reconcileStandby());
  }

  /**
   * kafkajs logs every failed request of an outage and every heartbeat that meets a rebalance at error.
   * Those are retried, and the outage itself is reported once by readiness; so its lines are warnings,
   * rebalances are info, and only a consumer that stops for good logs an error (CRASH below).
   */
  private kafkaLog(entry: LogEntry): void {
    const log = this.options.log;
    if (!log) return;
    const { message, ...rest } = entry.log;
    const text = `${message} ${String((rest as { error?: unknown }).error ?? '')}`;
    const level: KafkaLogLevel = REBALANCE.test(text)
      ? 'info'
      : entry.level <= logLevel.WARN
        ? 'warn'
        : 'info';
    log(level, `kafka: ${message}`, { namespace: entry.namespace, ...rest });
  }

  async start(handler: TickSourceHandler): Promise<void> {
    if (this.consumer) throw new Error('tick source already started');
    const sessionTimeout = this.sessionTimeoutMs;
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      allowAutoTopicCreation: false,
      // Market data goes stale fast: a crashed pod's partitions should move within seconds.
      sessionTimeout,
      heartbeatInterval: Math.min(HEARTBEAT_INTERVAL_MS, Math.floor(sessionTimeout / 3)),
      minBytes: this.options.fetchMinBytes ?? DEFAULT_KAFKA_FETCH_MIN_BYTES,
      maxWaitTimeInMs: Math.min(
        this.options.fetchMaxWaitMs ?? DEFAULT_KAFKA_FETCH_MAX_WAIT_MS,
        MAX_KAFKA_FETCH_MAX_WAIT_MS,
      ),
      retry: RETRY,
      ...(this.options.assigner
        ? {
            partitionAssigners: [
              shiftedAssigner(this.options.assigner.podId, this.options.assigner.shift),
              PartitionAssigners.roundRobin,
            ],
          }
        : {}),
    });
    this.consumer = consumer;
    this.running = true;
    this.crashed = undefined;
    const { log, topic } = this.options;
    const committer = new OffsetCommitter(
      async (offsets) => {
        await this.options.beforeCommit?.();
        await consumer.commitOffsets(offsets.map((o) => ({ topic, ...o })));
      },
      (error) => log?.('warn', 'kafka offset commit failed', { error: String(error) }),
    );
    this.committer = committer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const assignment = event.payload.memberAssignment[this.options.topic] ?? [];
      this.assigned = [...assignment].sort((a, b) => a - b);
      this.rebalancing = false;
      committer.keepOnly(this.assigned);
      for (const p of [...this.partitionsState.keys()])
        if (!assignment.includes(p)) this.partitionsState.delete(p);
      const now = this.now();
      for (const p of this.assigned)
        if (!this.partitionsState.has(p))
          this.partitionsState.set(p, { partition: p, lag: 0, lastRecordAt: now });
      this.lastFetchAt = now;
      this.lastHeartbeatAt = now;
      this.crashed = undefined;
      log?.('info', 'kafka partitions assigned', {
        groupId: this.options.groupId,
        topic: this.options.topic,
        partitions: this.assigned,
        leader: event.payload.isLeader,
        joinMs: event.payload.duration,
      });
      handler.onOwnershipChange?.();
      this.reconcileStandby();
      this.readingChanged();
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.rebalances++;
      this.rebalancing = true;
      log?.('info', 'kafka group rebalancing', { groupId: this.options.groupId });
      handler.onOwnershipChange?.();
      this.readingChanged();
    });
    consumer.on(consumer.events.FETCH, () => {
      this.lastFetchAt = this.now();
    });
    consumer.on(consumer.events.HEARTBEAT, () => {
      this.lastHeartbeatAt = this.now();
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const error = String(event.payload.error);
      this.crashed = error;
      log?.(event.payload.restart ? 'warn' : 'error', 'kafka consumer stopped by an error', {
        error,
        restart: event.payload.restart,
      });
      this.readingChanged();
    });
    await consumer.connect();
    await consumer.subscribe({
      topic: this.options.topic,
      fromBeginning: this.options.fromBeginning ?? false,
    });
    await consumer.run({
      // Committed beside the fetch loop (OffsetCommitter), not after every batch inside it.
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        const { messages } = batch;
        if (this.paused.has(batch.partition)) {
          this.skipped += messages.length;
          this.notePartition(batch.partition, messages.length, Number(batch.offsetLag()));
          if (messages.length > 0) this.noteRead(batch.partition, messages.at(-1)!.offset);
          await heartbeat();
          return;
        }
        const ticks: QuoteUpdate[] = [];
        let handled: string | undefined;
        for (const message of messages) {
          if (!isRunning() || isStale()) break;
          handled = message.offset;
          this.records++;
          if (!message.value) {
            this.decodeErrors++;
            continue;
          }
          try {
            ticks.push(decodeTickRecord(message.value));
          } catch {
            this.decodeErrors++;
          }
        }
        if (ticks.length > 0) handler.onTicks(ticks);
        this.notePartition(batch.partition, messages.length, Number(batch.offsetLag()));
        if (handled !== undefined) this.noteRead(batch.partition, handled);
        await heartbeat();
      },
    });
    if (this.options.samePodPrimary) {
      this.reconcileTimer = setInterval(() => this.reconcileStandby(), STANDBY_RECONCILE_MS);
      this.reconcileTimer.unref();
      this.reconcileStandby();
    }
  }

  /** `offset` (a kafkajs decimal string) was read in `partition`: the next read starts after it. */
  private noteRead(partition: number, offset: string): void {
    const next = BigInt(offset) + 1n;
    this.positions.set(partition, next);
    this.committer?.note(partition, next.toString());
  }

  /**
   * A standby pauses the partitions its pod's primary reads and resumes those it stops reading, from
   * the primary's position when that is ahead (what the primary read, it published at once). Meanwhile
   * it commits the primary's position for them, so that the pod which gets such a partition in the
   * standby group's next rebalance starts near the present instead of replaying what was skipped.
   */
  private reconcileStandby(): void {
    const primary = this.options.samePodPrimary;
    const consumer = this.consumer;
    if (!primary || !consumer || !this.running || this.rebalancing) return;
    const { topic } = this.options;
    const now = this.now();
    const commit = now - this.lastStandbyCommitAt >= STANDBY_COMMIT_MS;
    if (commit) this.lastStandbyCommitAt = now;
    const pause: number[] = [];
    const resume: number[] = [];
    for (const partition of this.paused)
      if (!this.assigned.includes(partition)) {
        this.paused.delete(partition);
        resume.push(partition);
      }
    for (const partition of this.assigned) {
      const leave = primary.isReading(partition, now);
      const at = primary.position(partition);
      const ahead = at !== undefined && BigInt(at) > (this.positions.get(partition) ?? -1n);
      if (leave && !this.paused.has(partition)) {
        this.paused.add(partition);
        pause.push(partition);
      } else if (!leave && this.paused.has(partition)) {
        this.paused.delete(partition);
        if (ahead) {
          consumer.seek({ topic, partition, offset: at });
          this.positions.set(partition, BigInt(at));
        }
        resume.push(partition);
      } else if (leave && commit && ahead) {
        this.positions.set(partition, BigInt(at));
        this.committer?.note(partition, at);
      }
    }
    if (pause.length > 0) consumer.pause([{ topic, partitions: pause }]);
    if (resume.length > 0) consumer.resume([{ topic, partitions: resume }]);
  }

  private readingChanged(): void {
    for (const listener of this.readingListeners) listener();
  }

  onReadingChange(listener: () => void): void {
    this.readingListeners.push(listener);
  }

  position(partition: number): string | undefined {
    return this.positions.get(partition)?.toString();
  }

  /** Partitions left to the same pod's primary (samePodPrimary). */
  pausedPartitions(): number[] {
    return [...this.paused].sort((a, b) => a - b);
  }

  private notePartition(partition: number, records: number, lag: number): void {
    const state = this.partitionsState.get(partition);
    if (!state) return;
    if (records > 0) state.lastRecordAt = this.now();
    if (Number.isFinite(lag)) state.lag = lag;
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.reconcileTimer);
    this.reconcileTimer = undefined;
    this.readingChanged();
    const consumer = this.consumer;
    this.consumer = undefined;
    const committer = this.committer;
    this.committer = undefined;
    // The partitions' next owners start after what this pod handled (and stored the candles of, with
    // beforeCommit); a batch still being handled while the consumer stops is read again there, and
    // dropped by its seq.
    if (committer) await withTimeout(committer.flush(), FINAL_COMMIT_WAIT_MS);
    // disconnect() leaves the group, so the partitions move to the other pods at once.
    if (consumer) await consumer.disconnect();
  }

  problem(now: number): string | undefined {
    if (!this.running) return 'consumer not started';
    if (this.crashed !== undefined) return `consumer stopped by an error: ${this.crashed}`;
    if (this.lastFetchAt === 0) return 'not joined to the consumer group yet';
    const sinceFetch = now - this.lastFetchAt;
    if (sinceFetch > FETCH_STALE_MS) return `no fetch answered by the brokers for ${sinceFetch} ms`;
    // A pod without partitions "fetches" by sleeping (kafkajs asks the broker nothing), so for it the
    // heartbeats, sent every 500 ms, are the only answers: the same bound applies to them.
    const sinceHeartbeat = now - this.lastHeartbeatAt;
    if (sinceHeartbeat > Math.min(FETCH_STALE_MS, this.sessionTimeoutMs))
      return `no heartbeat answered by the group coordinator for ${sinceHeartbeat} ms`;
    return undefined;
  }

  lag(): number {
    let sum = 0;
    for (const s of this.partitionsState.values()) sum += s.lag;
    return sum;
  }

  partitionStates(): ReadonlyArray<PartitionState> {
    return [...this.partitionsState.values()];
  }

  /** Whether this source owns `partition` and is reading it: joined, not rebalancing, fetches answered. */
  isReading(partition: number, now: number): boolean {
    return !this.rebalancing && this.assigned.includes(partition) && this.problem(now) === undefined;
  }

  partitions(): number[] {
    return this.assigned;
  }
}

async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([promise, timeout]);
  clearTimeout(timer);
}
