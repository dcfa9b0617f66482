import {
  type BurstProfile,
  DEFAULT_UNIVERSE_SIZE,
  MAX_UNIVERSE_SIZE,
  parseBurstProfile,
} from '@tickhub/market-sim';
import { firstSeqAt } from '@tickhub/protocol';

/**
 * Ingester configuration, read once from environment variables and validated before anything starts.
 * Every problem is reported as one ConfigError naming the variable and what it accepts.
 */

export type Acks = -1 | 0 | 1;
export type Compression = 'none' | 'gzip';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

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

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) {
    throw new ConfigError(name, `must be an integer between ${min} and ${max}, got "${value}"`);
  }
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return n;
}

/** SEQ_START: `clock` (the default) or a fixed first seq, e.g. 1 for reproducible test topics. */
function firstSeq(env: Env): number {
  const value = raw(env, 'SEQ_START') ?? 'clock';
  if (value === 'clock') return firstSeqAt(Date.now());
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1) {
    throw new ConfigError('SEQ_START', `must be "clock" or an integer from 1 to 2^53 - 1, got "${value}"`);
  }
  return Number(value);
}

function decimal(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) {
    throw new ConfigError(name, `must be a number between ${min} and ${max}, got "${value}"`);
  }
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  const match = allowed.find((a) => a === lower);
  if (match === undefined) {
    throw new ConfigError(name, `must be one of ${allowed.join('|')}, got "${value}"`);
  }
  return match;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  throw new ConfigError(name, `must be one of true|false|1|0, got "${value}"`);
}

const BROKER = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

function brokers(env: Env): string[] {
  const value = raw(env, 'KAFKA_BROKERS');
  if (value === undefined) {
    throw new ConfigError(
      'KAFKA_BROKERS',
      'is required: comma-separated host:port list, e.g. 127.0.0.1:19092',
    );
  }
  const list = value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const b of list) {
    const port = Number(b.slice(b.lastIndexOf(':') + 1));
    if (!BROKER.test(b) || port < 1 || port > 65535) {
      throw new ConfigError('KAFKA_BROKERS', `must be a comma-separated host:port list, got "${b}"`);
    }
  }
  if (list.length === 0) throw new ConfigError('KAFKA_BROKERS', 'must list at least one host:port');
  return list;
}

export function loadConfig(env: Env = process.env): IngesterConfig {
  const topic = raw(env, 'KAFKA_TOPIC') ?? 'md.ticks';
  if (!TOPIC.test(topic) || topic === '.' || topic === '..') {
    throw new ConfigError('KAFKA_TOPIC', `must be 1-249 characters of [A-Za-z0-9._-], got "${topic}"`);
  }
  const acks = oneOf(env, 'KAFKA_ACKS', ['-1', 'all', '1', '0'] as const, '-1');
  const replayFile = raw(env, 'REPLAY_FILE');
  const httpPort = raw(env, 'INGESTER_HTTP_PORT') !== undefined ? 'INGESTER_HTTP_PORT' : 'METRICS_PORT';
  let bursts: BurstProfile[];
  try {
    bursts = parseBurstProfile(raw(env, 'BURSTS') ?? '');
  } catch (err) {
    throw new ConfigError('BURSTS', (err as Error).message.replace(/^invalid burst/, 'has an invalid burst'));
  }
  const clientId = raw(env, 'KAFKA_CLIENT_ID') ?? 'tickhub-ingester';
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(clientId)) {
    throw new ConfigError('KAFKA_CLIENT_ID', `must be 1-100 characters of [A-Za-z0-9._-], got "${clientId}"`);
  }
  return {
    brokers: brokers(env),
    clientId,
    topic,
    partitions: integer(env, 'KAFKA_PARTITIONS', 12, 1, 10000),
    replicationFactor: integer(env, 'KAFKA_REPLICATION_FACTOR', 1, 1, 100),
    acks: acks === 'all' ? -1 : (Number(acks) as Acks),
    compression: oneOf(env, 'KAFKA_COMPRESSION', ['none', 'gzip'] as const, 'none'),
    producers: integer(env, 'KAFKA_PRODUCERS', 1, 1, 64),
    producedAtHeader: bool(env, 'KAFKA_PRODUCED_AT_HEADER', true),
    tickRate: integer(env, 'TICK_RATE', 2000, 1, 10_000_000),
    bursts,
    seed: integer(env, 'SIM_SEED', 42, 0, 2 ** 32 - 1),
    symbols: integer(env, 'SIM_SYMBOLS', DEFAULT_UNIVERSE_SIZE, 1, MAX_UNIVERSE_SIZE),
    firstSeq: firstSeq(env),
    replayFile,
    replaySpeed: decimal(env, 'REPLAY_SPEED', 1, 0, 1_000_000),
    replayLoop: bool(env, 'REPLAY_LOOP', false),
    replayTimestamps: oneOf(env, 'REPLAY_TIMESTAMPS', ['now', 'recorded'] as const, 'now'),
    batchMaxMessages: integer(env, 'BATCH_MAX_MESSAGES', 1000, 1, 1_000_000),
    // A tick waits at most this long for others to fill its batch; the gateways read it in fetches of
    // their own (KAFKA_FETCH_MIN_BYTES), so a longer wait here only adds latency.
    batchLingerMs: integer(env, 'BATCH_LINGER_MS', 1, 0, 10_000),
    bufferMaxTicks: integer(env, 'BUFFER_MAX_TICKS', 200_000, 1, 10_000_000),
    httpPort: integer(env, httpPort, 9464, 0, 65535),
    httpHost: raw(env, 'INGESTER_HTTP_HOST') ?? '127.0.0.1',
    startupTimeoutMs: integer(env, 'STARTUP_TIMEOUT_MS', 30_000, 0, 3_600_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
  };
}
