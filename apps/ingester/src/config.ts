import { ConfigError, type Env, parseVariables, type ValuesOf } from '@tickhub/config';
import type { BurstProfile } from '@tickhub/market-sim';
import { firstSeqAt } from '@tickhub/protocol';
import { INGESTER_VARIABLES } from './variables';

/**
 * Ingester configuration, read once from environment variables (src/variables.ts) and validated before
 * anything starts. Every bad variable is reported on its own line, naming it and what it accepts.
 */

export type Acks = -1 | 0 | 1;
export type Compression = 'none' | 'gzip';
export type LogLevel = ValuesOf<typeof INGESTER_VARIABLES>['LOG_LEVEL'];

export interface IngesterConfig {
  brokers: string[];
  clientId: string;
  topic: string;
  partitions: number;
  replicationFactor: number;
  acks: Acks;
  compression: Compression;
  /**
   * Whether records carry the `produced-at` header (the record timestamp always carries the same time).
   * Measured: the header makes kafkajs' encoding about 1.5 times as expensive per record.
   */
  producedAtHeader: boolean;
  /** kafkajs producers publishing in parallel (by partition); more than one run in worker threads. */
  producers: number;
  /** Ticks per second in total across all symbols (simulator only). */
  tickRate: number;
  /** Rate multipliers over time for the simulator (BURSTS, e.g. `10x30s@0s`). */
  bursts: BurstProfile[];
  seed: number;
  symbols: number;
  /**
   * `seq` of each symbol's first tick (SEQ_START). By default the start time in microseconds, so that
   * a restarted ingester continues above its previous run: gateways drop ticks whose seq is not above
   * the last they stored.
   */
  firstSeq: number;
  replayFile: string | undefined;
  /** 1 = recorded speed, 10 = ten times faster, 0 = as fast as the producer takes them. */
  replaySpeed: number;
  replayLoop: boolean;
  /** `now`: replayed ticks carry the wall-clock time; `recorded`: the file's timestamps. */
  replayTimestamps: 'now' | 'recorded';
  batchMaxMessages: number;
  batchLingerMs: number;
  /** Ticks kept in arrival order before the buffer starts conflating per symbol. */
  bufferMaxTicks: number;
  httpPort: number;
  httpHost: string;
  startupTimeoutMs: number;
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
}

export { ConfigError };

export function loadConfig(env: Env = process.env): IngesterConfig {
  const v = parseVariables(INGESTER_VARIABLES, env);
  return {
    brokers: v.KAFKA_BROKERS,
    clientId: v.KAFKA_CLIENT_ID,
    topic: v.KAFKA_TOPIC,
    partitions: v.KAFKA_PARTITIONS,
    replicationFactor: v.KAFKA_REPLICATION_FACTOR,
    acks: v.KAFKA_ACKS === 'all' ? -1 : (Number(v.KAFKA_ACKS) as Acks),
    compression: v.KAFKA_COMPRESSION,
    producers: v.KAFKA_PRODUCERS,
    producedAtHeader: v.KAFKA_PRODUCED_AT_HEADER,
    tickRate: v.TICK_RATE,
    bursts: v.BURSTS ?? [],
    seed: v.SIM_SEED,
    symbols: v.SIM_SYMBOLS,
    firstSeq: v.SEQ_START ?? firstSeqAt(Date.now()),
    replayFile: v.REPLAY_FILE,
    replaySpeed: v.REPLAY_SPEED,
    replayLoop: v.REPLAY_LOOP,
    replayTimestamps: v.REPLAY_TIMESTAMPS,
    batchMaxMessages: v.BATCH_MAX_MESSAGES,
    batchLingerMs: v.BATCH_LINGER_MS,
    bufferMaxTicks: v.BUFFER_MAX_TICKS,
    httpPort: v.INGESTER_HTTP_PORT ?? v.METRICS_PORT,
    httpHost: v.INGESTER_HTTP_HOST,
    startupTimeoutMs: v.STARTUP_TIMEOUT_MS,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    logLevel: v.LOG_LEVEL,
  };
}
