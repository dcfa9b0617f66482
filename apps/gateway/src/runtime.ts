import { type Backplane, type BackplaneState, MemoryBackplane } from '@tickhub/backplane';
import { RedisBackplane, type RedisBackplaneStats } from '@tickhub/backplane-redis';
import { CandleAggregator, type CandleStore, MemoryCandleStore } from '@tickhub/candles';
import { RedisCandleStore } from '@tickhub/candles-redis';
import type { Logger } from '@tickhub/log';
import { createUniverse } from '@tickhub/market-sim';
import type { SymbolInfo } from '@tickhub/protocol';
import { CandleHistory } from './candles/candle-history';
import type { GatewayConfig } from './config';
import { type Clock, realClock } from './core/clock';
import { type DependencyChange, DependencyMonitor } from './core/dependency-monitor';
import { EdgeStage } from './core/edge-stage';
import { KafkaTickSource } from './core/kafka-tick-source';
import { SimTickSource } from './core/sim-tick-source';
import { SourceStage } from './core/source-stage';
import type { TickSource } from './core/tick-source';

/**
 * The one place that chooses the backplane implementation from the configuration: Redis when
 * `REDIS_URL` is set (pods share updates, last values and hub messages), else the in-memory twin
 * (embedded mode, one pod).
 */
export function createBackplane(config: GatewayConfig, logger: Logger): Backplane {
  if (config.redisUrl) {
    return new RedisBackplane({
      url: config.redisUrl,
      podId: config.gatewayId,
      keyPrefix: config.redisKeyPrefix,
      cluster: config.redisCluster,
      logger: logger.child('backplane'),
    });
  }
  return new MemoryBackplane({ podId: config.gatewayId });
}

/**
 * The one place that chooses the candle store: Redis when `REDIS_URL` is set (history outlives pods),
 * else the in-memory twin. Redis Cluster is not supported by the candle store yet: there candles stay
 * in each pod's memory.
 */
export function createCandleStore(config: GatewayConfig, logger?: Logger): CandleStore {
  if (config.redisUrl && !config.redisCluster) {
    return new RedisCandleStore({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix });
  }
  if (config.redisCluster)
    logger?.warn('candle store: Redis Cluster is not supported, candles stay in memory');
  return new MemoryCandleStore();
}

/** How often a pod reports its presence and refreshes the cluster view used by the connection caps. */
const PRESENCE_REFRESH_MS = 1000;

/** How often the dependencies are probed, so a loss is logged and counted within a fraction of a second. */
const DEPENDENCY_CHECK_MS = 250;

/** How long a draining pod stays in the standby group after leaving the primary one (see stop()). */
const STANDBY_LINGER_MS = 1500;

/** How long one start attempt waits for the backplane before it is logged and retried. */
const BACKPLANE_WAIT_MS = 10_000;

/**
 * Logs an error of the tick path at most once per second per kind, with the number left out, so that a
 * flood of bad records cannot flood the logs.
 */
export function throttledWarn(
  logger: Logger,
  msg: string,
): (fields: Record<string, unknown>, kind: string) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (fields, kind) => {
    const now = Date.now();
    const entry = last.get(kind);
    if (entry && now - entry.at < 1000) {
      entry.suppressed++;
      return;
    }
    if (last.size > 1000) last.clear();
    last.set(kind, { at: now, suppressed: 0 });
    logger.warn(msg, entry && entry.suppressed > 0 ? { ...fields, suppressed: entry.suppressed } : fields);
  };
}

export function createTickSource(
  config: GatewayConfig,
  symbols: SymbolInfo[],
  logger: Logger,
  clock: Clock = realClock,
  /** What an offset commit waits for: the candles of the ticks it covers stored (KafkaTickSource.beforeCommit). */
  beforeCommit?: () => Promise<unknown>,
): TickSource {
  if (config.kafkaBrokers) {
    return new KafkaTickSource({
      brokers: config.kafkaBrokers,
      topic: config.kafkaTopic,
      groupId: config.kafkaGroupId,
      clientId: config.kafkaClientId,
      fromBeginning: config.kafkaFromBeginning,
      sessionTimeoutMs: config.kafkaSessionTimeoutMs,
      fetchMinBytes: config.kafkaFetchMinBytes,
      fetchMaxWaitMs: config.kafkaFetchMaxWaitMs,
      log: (level, msg, fields) => logger[level](msg, fields),
      now: () => clock.now(),
      ...(config.kafkaStandby ? { assigner: { podId: config.gatewayId, shift: 0 } } : {}),
      ...(beforeCommit ? { beforeCommit } : {}),
    });
  }
  return new SimTickSource({
    symbols,
    seed: config.simSeed,
    ratePerSec: config.simRate,
    // Only embedded mode warms up: with Redis the history is what ran before, and simulated past
    // ticks would be folded into the stored open candles.
    warmupSeconds: config.redisUrl ? 0 : config.simWarmupSeconds,
    warmupRate: config.simWarmupRate,
  });
}

/**
 * The standby owner's tick source: the same topic in a second group whose assignor shifts every
 * partition to another pod than its primary. Its session is twice the primary's, so that when a pod
 * dies the two groups do not rebalance (and pause) at the same moment.
 */
export function createStandbyTickSource(
  config: GatewayConfig,
  logger: Logger,
  clock: Clock = realClock,
  primary?: TickSource,
): TickSource | undefined {
  if (!config.kafkaBrokers || !config.kafkaStandby) return undefined;
  const log = logger.child('standby');
  return new KafkaTickSource({
    brokers: config.kafkaBrokers,
    topic: config.kafkaTopic,
    groupId: `${config.kafkaGroupId}.standby`,
    clientId: `${config.kafkaClientId}-standby`,
    fromBeginning: config.kafkaFromBeginning,
    sessionTimeoutMs: config.kafkaSessionTimeoutMs * 2,
    fetchMinBytes: config.kafkaFetchMinBytes,
    fetchMaxWaitMs: config.kafkaFetchMaxWaitMs,
    log: (level, msg, fields) => log[level](msg, fields),
    now: () => clock.now(),
    assigner: { podId: config.gatewayId, shift: 1 },
    // With one pod (or for a moment during a rebalance) both groups give a partition to the same pod.
    // The standby then leaves it to the primary while that reads it; during the primary's rebalances,
    // or should it stall, the standby reads it again from where the primary got to.
    ...(primary instanceof KafkaTickSource ? { samePodPrimary: primary } : {}),
  });
}

/** What the presence refresh reports and reads back (AccessControl implements it). */
export interface PresenceCounters {
  presenceCounters(): Record<string, number>;
  applyClusterCounters(counters: Record<string, number>): void;
}

/**
 * The tick path of one gateway, without any transport: tick source → source stage → backplane → edge
 * stage. Transports open sessions on `edge`.
 */
export class GatewayRuntime {
  readonly symbols: SymbolInfo[];
  readonly symbolIndex: ReadonlyMap<string, SymbolInfo>;
  readonly backplane: Backplane;
  readonly tickSource: TickSource;
  readonly source: SourceStage;
  /** The standby owner of other pods' partitions (KAFKA_STANDBY); undefined without Kafka. */
  readonly standbySource: TickSource | undefined;
  readonly standby: SourceStage | undefined;
  readonly edge: EdgeStage;
  readonly candleStore: CandleStore;
  readonly candles: CandleAggregator;
  readonly history: CandleHistory;
  readonly startedAt = Date.now();
  private draining = false;
  private started = false;
  private presenceTimer: NodeJS.Timeout | undefined;
  private rttTimer: NodeJS.Timeout | undefined;
  /** Last backplane round trip in ms (PING on the Redis writer); 0 for the in-memory backplane. */
  backplaneRttMs = 0;
  private backplaneConnectRequested = false;
  private readonly backplaneWaiters = new Set<() => void>();
  private backplaneStateValue: BackplaneState;
  private readonly drainHooks: Array<() => void | Promise<void>> = [];
  /** Kafka (or the simulator) and Redis (or the in-memory backplane): readiness and its reasons. */
  readonly dependencies: DependencyMonitor;

  /**
   * The counters (connections per IP and per user) reported with this pod's presence and summed over
   * the cluster: the access control's, attached once the application has built it.
   */
  presenceCounters: PresenceCounters | undefined;

  constructor(
    readonly config: GatewayConfig,
    readonly logger: Logger,
    readonly clock: Clock = realClock,
  ) {
    this.symbols = createUniverse(config.simSymbols);
    this.symbolIndex = new Map(this.symbols.map((s) => [s.symbol, s]));
    this.backplane = createBackplane(config, logger);
    this.backplaneStateValue = this.backplane.isReady() ? 'ready' : 'connecting';
    // One listener for the life of the runtime: start attempts wait on it instead of adding their own.
    this.backplane.onStateChange((state) => {
      const previous = this.backplaneStateValue;
      this.backplaneStateValue = state;
      if (state !== previous) {
        const fields = { state, previous };
        if (state === 'reconnecting') this.logger.warn('backplane state', fields);
        else this.logger.info('backplane state', fields);
      }
      if (state === 'ready') {
        const waiters = [...this.backplaneWaiters];
        this.backplaneWaiters.clear();
        for (const w of waiters) w();
      }
    });
    const sourceWarn = throttledWarn(logger, 'source stage error');
    const edgeWarn = throttledWarn(logger, 'edge stage error');
    // Offsets are committed once the candles of their ticks are stored: a partition's next owner
    // reads again what was not, and the candles miss no tick across a drain, a rebalance or a crash.
    this.tickSource = createTickSource(config, this.symbols, logger, clock, () => this.candles.settled());
    const candleWarn = throttledWarn(logger, 'candle store error');
    this.candleStore = createCandleStore(config, logger);
    this.candles = new CandleAggregator({
      store: this.candleStore,
      flushMs: config.candleFlushMs,
      onError: (error, what) => candleWarn({ what, error: String(error) }, `${what}:${errorKind(error)}`),
    });
    this.history = new CandleHistory(
      this.candleStore,
      (s) => this.symbolIndex.has(s),
      (error) => candleWarn({ what: 'read', error: String(error) }, `read:${errorKind(error)}`),
    );
    this.standbySource = createStandbyTickSource(config, logger, clock, this.tickSource);
    const watchPublications = this.standbySource !== undefined;
    const sourceOptions = {
      backplane: this.backplane,
      clock,
      maxHz: config.limits.maxHz,
      isKnownSymbol: (s: string) => this.symbolIndex.has(s),
      onError: (error: unknown, symbol: string) =>
        sourceWarn({ symbol, error: String(error) }, errorKind(error)),
      watchPublications,
      takeoverMs: config.kafkaTakeoverMs,
    };
    // Candles come from the primary owner only: the standby sees the same ticks, and the store holds one
    // writer per symbol (a new primary continues the stored candles, counting each seq once).
    this.source = new SourceStage({ ...sourceOptions, candles: this.candles });
    this.standby = watchPublications
      ? new SourceStage({ ...sourceOptions, holdMs: config.kafkaTakeoverMs })
      : undefined;
    const standby = this.standby;
    this.edge = new EdgeStage({
      backplane: this.backplane,
      clock,
      isKnownSymbol: (s) => this.symbolIndex.has(s),
      highWaterMarkBytes: config.highWaterMarkBytes,
      slowConsumerTimeoutMs: config.slowConsumerTimeoutMs,
      coalesceMs: config.coalesceMs,
      onError: (error, context) => edgeWarn({ context, error: String(error) }, errorKind(error)),
      ...(standby
        ? {
            observeUpdate: (symbol: string, payload: Uint8Array) => {
              this.source.observe(symbol, payload);
              standby.observe(symbol, payload);
            },
          }
        : {}),
    });
    this.dependencies = new DependencyMonitor(
      [
        {
          name: this.tickSource.kind,
          problem: (now) => {
            const standbyProblem = this.standbySource?.problem(now);
            return this.tickSource.problem(now) ?? (standbyProblem && `standby group: ${standbyProblem}`);
          },
        },
        {
          name: this.mode.backplane,
          problem: () => (this.backplane.isReady() ? undefined : `backplane ${this.backplaneStateValue}`),
        },
      ],
      () => clock.now(),
      (change) => this.logDependencyChange(change),
    );
  }

  private logDependencyChange(change: DependencyChange): void {
    const { name, reason } = change.status;
    if (change.kind === 'connected') this.logger.info('dependency connected', { dependency: name });
    else if (change.kind === 'lost')
      this.logger.warn('dependency lost', { dependency: name, reason, upMs: change.upMs });
    else this.logger.info('dependency reconnected', { dependency: name, downMs: change.downMs });
  }

  get mode(): { tickSource: string; backplane: string } {
    return {
      tickSource: this.tickSource.kind,
      backplane: this.backplane instanceof MemoryBackplane ? 'memory' : 'redis',
    };
  }

  /** `connecting`, `ready`, `reconnecting` or `closed` (readiness, metrics). */
  backplaneState(): BackplaneState {
    return this.backplaneStateValue;
  }

  /** Redis Cluster masters this pod cannot reach (RedisBackplane.unreachableShards); empty otherwise. */
  unreachableShards(): string[] {
    return this.backplane instanceof RedisBackplane ? this.backplane.unreachableShards() : [];
  }

  /** Counters of the Redis backplane; undefined for the in-memory one. */
  backplaneStats(): RedisBackplaneStats | undefined {
    return this.backplane instanceof RedisBackplane ? this.backplane.stats() : undefined;
  }

  /** Channels this pod holds on the backplane (interest routing: only symbols its clients want). */
  backplaneChannels(): number {
    return this.backplane instanceof RedisBackplane
      ? this.backplane.subscribedChannels().length
      : this.backplane.interests().length;
  }

  /**
   * Resolves when the backplane is ready. The connection is requested once (the backplane keeps
   * reconnecting by itself); later attempts only wait for the state listener, so nothing piles up.
   */
  private awaitBackplane(timeoutMs: number): Promise<void> {
    if (!this.backplaneConnectRequested) {
      this.backplaneConnectRequested = true;
      // Rejects after its own timeout while reconnection goes on; the wait below reports the outcome.
      this.backplane.connect().catch(() => undefined);
    }
    if (this.backplane.isReady()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.backplaneWaiters.delete(done);
        reject(new Error(`backplane not ready within ${timeoutMs} ms (state ${this.backplaneStateValue})`));
      }, timeoutMs);
      timer.unref();
      this.backplaneWaiters.add(done);
    });
  }

  async start(backplaneWaitMs = BACKPLANE_WAIT_MS): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.dependencies.watch(DEPENDENCY_CHECK_MS);
    await this.awaitBackplane(backplaneWaitMs);
    await this.connectCandleStore();
    await this.tickSource.start(this.source);
    if (this.standbySource && this.standby) await this.standbySource.start(this.standby);
    // Every second: the connection caps read the cluster view, so its age is the window in which a
    // burst spread over pods can pass them (docs/security.md).
    this.presenceTimer = setInterval(() => {
      try {
        this.backplane.reportPresence({
          connections: this.edge.sessionCount(),
          subscribers: this.edge.subscriberCounts(),
          counters: this.presenceCounters?.presenceCounters() ?? {},
        });
      } catch (error) {
        this.logger.warn('presence report failed', { error: String(error) });
      }
      this.backplane.getClusterPresence().then(
        (view) => this.presenceCounters?.applyClusterCounters(view.counters),
        // The caps keep the last view; the next tick tries again.
        () => undefined,
      );
    }, PRESENCE_REFRESH_MS);
    this.presenceTimer.unref();
    this.startRttProbe();
  }

  /**
   * Connects the Redis candle store once; a failure is logged and start-up goes on (candle reads and
   * writes fail until Redis answers, and the aggregator keeps what it could not write, bounded).
   */
  private candleStoreConnecting: Promise<void> | undefined;
  private connectCandleStore(): Promise<void> {
    const store = this.candleStore;
    if (!(store instanceof RedisCandleStore)) return Promise.resolve();
    this.candleStoreConnecting ??= store.connect().catch((error: unknown) => {
      this.logger.warn('candle store not connected', { error: String(error) });
    });
    return this.candleStoreConnecting;
  }

  /** Measures the Redis round trip every 5 s; the in-memory backplane has none to measure. */
  private startRttProbe(): void {
    const backplane = this.backplane;
    if (!(backplane instanceof RedisBackplane) || this.rttTimer) return;
    const probe = () => {
      backplane.ping().then(
        (ms) => {
          this.backplaneRttMs = ms;
        },
        // A failed ping keeps the last value; reconnects and failed writes have their own metrics.
        () => undefined,
      );
    };
    probe();
    this.rttTimer = setInterval(probe, 5000);
    this.rttTimer.unref();
  }

  /** Starts in the background, retrying while the tick source or backplane cannot be reached. */
  startInBackground(retryMs = 2000): void {
    const attempt = () => {
      if (this.draining) return;
      this.start().then(
        () => {
          const source = this.tickSource;
          // How much simulated history the embedded candle store starts with.
          const warmup = source instanceof SimTickSource ? { warmupTicks: source.warmupTicks } : {};
          this.logger.info('tick source connected', { ...this.mode, ...warmup });
        },
        (error: unknown) => {
          this.started = false;
          this.logger.error('start failed, retrying', { error: String(error), retryMs });
          this.tickSource.stop().catch(() => undefined);
          this.standbySource?.stop().catch(() => undefined);
          setTimeout(attempt, retryMs).unref();
        },
      );
    };
    attempt();
  }

  /** Registers work to do when the gateway drains (e.g. other transports closing their clients). */
  onDrain(hook: () => void | Promise<void>): void {
    this.drainHooks.push(hook);
  }

  async runDrainHooks(): Promise<void> {
    for (const hook of this.drainHooks) {
      try {
        await hook();
      } catch (error) {
        this.logger.warn('drain hook failed', { error: String(error) });
      }
    }
  }

  isReady(): boolean {
    return !this.draining && this.started && this.dependencies.allUp();
  }

  isDraining(): boolean {
    return this.draining;
  }

  markDraining(): void {
    this.draining = true;
  }

  /** Stops the tick source (leaving the consumer group) and closes the backplane. */
  async stop(): Promise<void> {
    this.draining = true;
    if (this.presenceTimer) clearInterval(this.presenceTimer);
    if (this.rttTimer) clearInterval(this.rttTimer);
    this.dependencies.stop();
    try {
      await this.tickSource.stop();
      if (this.standbySource) {
        // This pod keeps covering other pods' partitions as their standby while the primary group
        // rebalances without it; leaving both at once would pause every pod's primary and standby
        // consumers together.
        await new Promise((r) => setTimeout(r, STANDBY_LINGER_MS));
        await this.standbySource.stop();
      }
    } catch (error) {
      this.logger.warn('tick source stop failed', { error: String(error) });
    }
    this.source.stop();
    this.standby?.stop();
    this.edge.stop();
    try {
      await this.candles.stop();
    } catch (error) {
      this.logger.warn('candle flush failed', { error: String(error) });
    }
    if (this.candleStore instanceof RedisCandleStore) await this.candleStore.close();
    try {
      await this.backplane.close();
    } catch (error) {
      this.logger.warn('backplane close failed', { error: String(error) });
    }
  }
}

function errorKind(error: unknown): string {
  return error instanceof Error ? `${error.name}:${error.message.slice(0, 40)}` : typeof error;
}
