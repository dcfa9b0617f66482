import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_LIMITS, type Limits } from '@tickhub/protocol';
import { DEFAULT_HUB_OPTIONS, DEFAULT_TRANSPORT_OPTIONS } from '@tickhub/signalr';
import type { AuthConfig } from './auth/jwt';
import { DEFAULT_COALESCE_MS } from './core/edge-stage';
import {
  DEFAULT_KAFKA_FETCH_MAX_WAIT_MS,
  DEFAULT_KAFKA_FETCH_MIN_BYTES,
  DEFAULT_KAFKA_SESSION_TIMEOUT_MS,
  MAX_KAFKA_FETCH_MAX_WAIT_MS,
} from './core/kafka-tick-source';
import { type PublishConfig, publishConfig } from './publish/publish-config';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface GatewayConfig {
  port: number;
  host: string;
  gatewayId: string;
  kafkaBrokers: string[] | undefined;
  kafkaTopic: string;
  kafkaGroupId: string;
  kafkaClientId: string;
  kafkaFromBeginning: boolean;
  kafkaSessionTimeoutMs: number;
  /** A fetch is answered once the broker has this many bytes or kafkaFetchMaxWaitMs has passed. */
  kafkaFetchMinBytes: number;
  kafkaFetchMaxWaitMs: number;
  /**
   * A second consumer group puts every partition on a standby pod too, which publishes what the primary
   * leaves unpublished for `kafkaTakeoverMs` (docs/architecture.md, "When a pod dies").
   */
  kafkaStandby: boolean;
  kafkaTakeoverMs: number;
  redisUrl: string | undefined;
  /** REDIS_URL lists Redis Cluster seed nodes: sharded pub/sub, one last-value key per symbol. */
  redisCluster: boolean;
  /** Prefix of every backplane key and channel; pods of one deployment share it. */
  redisKeyPrefix: string;
  simRate: number;
  simSeed: number;
  simSymbols: number;
  /** Simulated history before live ticks in embedded mode (SimTickSourceOptions.warmupSeconds). */
  simWarmupSeconds: number;
  /** Ticks per simulated second of that warm-up, over the universe. */
  simWarmupRate: number;
  /** How long changed candles wait to be written together (CandleAggregatorOptions.flushMs). */
  candleFlushMs: number;
  limits: Limits;
  heartbeatMs: number;
  highWaterMarkBytes: number;
  slowConsumerTimeoutMs: number;
  /** How much later a trailing edge may go out to share a connection's frame (EdgeStageOptions.coalesceMs). */
  coalesceMs: number;
  allowedOrigins: string[];
  /** Symbol patterns every connection is entitled to unless its token says otherwise; undefined = all. */
  entitledSymbols: string[] | undefined;
  drainGraceMs: number;
  logLevel: LogLevel;
  dashboardDir: string | undefined;
  /** Rejected frames within one abuse episode that close the connection with 4008. */
  abuseMaxRejections: number;
  /** How long a connection may keep exceeding its inbound rate before it is closed with 4008. */
  abuseWindowMs: number;
  /** JWT authentication (AUTH_*); mode `off` by default. */
  auth: AuthConfig;
  /** Concurrent WebSocket connections per client IP; 0 = no cap. */
  maxConnectionsPerIp: number;
  /** Concurrent WebSocket connections per authenticated user; 0 = no cap. */
  maxConnectionsPerUser: number;
  /** WebSocket upgrades per client IP per second; 0 = no cap. */
  maxUpgradesPerIpPerSec: number;
  /** A /ws connection that sends no request within this is closed with 1008; 0 = never. */
  handshakeTimeoutMs: number;
  /** SignalR negotiations not started yet per client IP and per user (0 = no cap), and how long they live. */
  maxPendingNegotiationsPerIp: number;
  /** TCP connections per IP that have not sent a request yet (0 = no cap), and how long they may wait. */
  maxHalfOpenSocketsPerIp: number;
  headersTimeoutMs: number;
  maxPendingNegotiationsPerUser: number;
  negotiateTimeoutMs: number;
  /** The server publish API (PUBLISH_*). */
  publish: PublishConfig;
  /** SignalR stateful reconnect: bytes kept per connection for resending after a dropped WebSocket (0 = off). */
  statefulReconnectBufferBytes: number;
}

/** A configuration value that is missing or wrong; the message names the variable. */
export class ConfigError extends Error {}

export type Env = Record<string, string | undefined>;

export function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v.trim() === '' ? fallback : v.trim();
}

export function num(
  env: Env,
  name: string,
  fallback: number,
  check: { min?: number; max?: number; integer?: boolean } = {},
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  const { min, max, integer } = check;
  const wanted = `${integer ? 'an integer' : 'a number'}${min !== undefined ? ` >= ${min}` : ''}${
    max !== undefined ? ` and <= ${max}` : ''
  }`;
  if (
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    (min !== undefined && value < min) ||
    (max !== undefined && value > max)
  ) {
    throw new ConfigError(`${name} must be ${wanted}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
}

function patterns(env: Env, name: string): string[] | undefined {
  const items = list(env, name);
  if (items.length === 0) return undefined;
  for (const p of items) {
    if (!/^[A-Za-z0-9._:/-]*\*?$/.test(p))
      throw new ConfigError(`${name} has an invalid symbol pattern "${p}"`);
  }
  return items;
}

function list(env: Env, name: string): string[] {
  const raw = env[name];
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function redisKeyPrefix(env: Env): string {
  const prefix = str(env, 'REDIS_KEY_PREFIX', 'tickhub:');
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(prefix)) {
    throw new ConfigError(
      'REDIS_KEY_PREFIX must be 1-64 characters of letters, digits, ".", "_", ":" or "-"',
    );
  }
  return prefix;
}

function authConfig(env: Env): AuthConfig {
  const mode = str(env, 'AUTH_MODE', 'off').toLowerCase();
  if (mode !== 'off' && mode !== 'hs256' && mode !== 'jwks') {
    throw new ConfigError(`AUTH_MODE must be one of off, hs256, jwks, got ${JSON.stringify(env.AUTH_MODE)}`);
  }
  const hs256Secret = env.AUTH_HS256_SECRET?.trim() || undefined;
  const jwksFile = env.AUTH_JWKS_FILE?.trim() || undefined;
  const jwksUrl = env.AUTH_JWKS_URL?.trim() || undefined;
  if (mode === 'hs256') {
    if (!hs256Secret) throw new ConfigError('AUTH_HS256_SECRET is required with AUTH_MODE=hs256');
    if (Buffer.byteLength(hs256Secret) < 32)
      throw new ConfigError('AUTH_HS256_SECRET must be at least 32 bytes long');
  }
  if (mode === 'jwks') {
    if (!jwksFile && !jwksUrl)
      throw new ConfigError('AUTH_JWKS_FILE or AUTH_JWKS_URL is required with AUTH_MODE=jwks');
    if (jwksFile && jwksUrl) throw new ConfigError('AUTH_JWKS_FILE and AUTH_JWKS_URL are exclusive');
    if (jwksUrl && !/^https?:\/\//.test(jwksUrl))
      throw new ConfigError('AUTH_JWKS_URL must start with http:// or https://');
    if (jwksFile && !existsSync(jwksFile))
      throw new ConfigError(`AUTH_JWKS_FILE does not exist: ${JSON.stringify(jwksFile)}`);
  }
  return {
    mode,
    ...(hs256Secret ? { hs256Secret } : {}),
    ...(jwksFile ? { jwksFile } : {}),
    ...(jwksUrl ? { jwksUrl } : {}),
    ...(env.AUTH_ISSUER?.trim() ? { issuer: env.AUTH_ISSUER.trim() } : {}),
    ...(env.AUTH_AUDIENCE?.trim() ? { audience: env.AUTH_AUDIENCE.trim() } : {}),
    clockToleranceS: num(env, 'AUTH_CLOCK_TOLERANCE_S', 5, { min: 0, max: 3600 }),
    requireExp: bool(env, 'AUTH_REQUIRE_EXP', true),
  };
}

/** Reads and validates every setting; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): GatewayConfig {
  const gatewayId = str(env, 'GATEWAY_ID', `gw-${randomBytes(4).toString('hex')}`);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(gatewayId)) {
    throw new ConfigError('GATEWAY_ID must be 1-64 characters of letters, digits, ".", "_" or "-"');
  }
  const brokers = list(env, 'KAFKA_BROKERS');
  for (const b of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b))
      throw new ConfigError(`KAFKA_BROKERS must be host:port[,host:port], got "${b}"`);
  }
  const redisUrl = env.REDIS_URL?.trim() || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('REDIS_URL must start with redis:// or rediss://');
  }
  const maxHz = num(env, 'MAX_HZ', DEFAULT_LIMITS.maxHz, { min: 0.001, max: 1000 });
  const minHz = num(env, 'MIN_HZ', DEFAULT_LIMITS.minHz, { min: 0.001, max: maxHz });
  const defaultHz = num(env, 'DEFAULT_HZ', Math.min(DEFAULT_LIMITS.defaultHz, maxHz), {
    min: minHz,
    max: maxHz,
  });
  const limits: Limits = {
    maxSubscriptions: num(env, 'MAX_SUBSCRIPTIONS', DEFAULT_LIMITS.maxSubscriptions, {
      min: 1,
      max: 100_000,
      integer: true,
    }),
    minHz,
    maxHz,
    defaultHz,
    maxInboundPerSec: num(env, 'MAX_INBOUND_PER_SEC', DEFAULT_LIMITS.maxInboundPerSec, {
      min: 1,
      max: 1_000_000,
    }),
    maxPayloadBytes: num(env, 'MAX_PAYLOAD_BYTES', DEFAULT_LIMITS.maxPayloadBytes, {
      min: 256,
      max: 16 * 1024 * 1024,
      integer: true,
    }),
  };
  const logLevel = str(env, 'LOG_LEVEL', 'info');
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of debug, info, warn, error, got "${logLevel}"`);
  }
  const topic = str(env, 'KAFKA_TOPIC', 'md.ticks');
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new ConfigError('KAFKA_TOPIC is not a valid topic name');
  return {
    port: num(env, 'PORT', 8080, { min: 0, max: 65535, integer: true }),
    host: str(env, 'HOST', '0.0.0.0'),
    gatewayId,
    kafkaBrokers: brokers.length > 0 ? brokers : undefined,
    kafkaTopic: topic,
    kafkaGroupId: str(env, 'KAFKA_GROUP_ID', 'gateway'),
    kafkaClientId: str(env, 'KAFKA_CLIENT_ID', gatewayId),
    kafkaFromBeginning: bool(env, 'KAFKA_FROM_BEGINNING', false),
    kafkaSessionTimeoutMs: num(env, 'KAFKA_SESSION_TIMEOUT_MS', DEFAULT_KAFKA_SESSION_TIMEOUT_MS, {
      min: 1000,
      max: 300_000,
      integer: true,
    }),
    kafkaFetchMinBytes: num(env, 'KAFKA_FETCH_MIN_BYTES', DEFAULT_KAFKA_FETCH_MIN_BYTES, {
      min: 1,
      max: 1_048_576,
      integer: true,
    }),
    kafkaFetchMaxWaitMs: num(env, 'KAFKA_FETCH_MAX_WAIT_MS', DEFAULT_KAFKA_FETCH_MAX_WAIT_MS, {
      min: 1,
      max: MAX_KAFKA_FETCH_MAX_WAIT_MS,
      integer: true,
    }),
    kafkaStandby: bool(env, 'KAFKA_STANDBY', true),
    kafkaTakeoverMs: num(env, 'KAFKA_TAKEOVER_MS', 250, { min: 10, max: 60_000, integer: true }),
    redisUrl,
    redisCluster: bool(env, 'REDIS_CLUSTER', false),
    redisKeyPrefix: redisKeyPrefix(env),
    simRate: num(env, 'SIM_RATE', 2000, { min: 0, max: 1_000_000 }),
    simSeed: num(env, 'SIM_SEED', 42, { integer: true }),
    simSymbols: num(env, 'SIM_SYMBOLS', 500, { min: 1, max: 100_000, integer: true }),
    // Six hours: a full chart of 1m candles (and of 1s for the last minutes) when the dashboard opens.
    simWarmupSeconds: num(env, 'SIM_WARMUP_SECONDS', 21_600, { min: 0, max: 2_592_000, integer: true }),
    simWarmupRate: num(env, 'SIM_WARMUP_RATE', 40, { min: 0, max: 100_000 }),
    // Once a second: the flushes' cost stays small next to the per-tick work at 100k ticks/s, and the
    // newest candle a reader gets is at most a second behind the live updates that extend it.
    candleFlushMs: num(env, 'CANDLE_FLUSH_MS', 1000, { min: 1, max: 60_000, integer: true }),
    limits,
    heartbeatMs: num(env, 'HEARTBEAT_MS', DEFAULT_HEARTBEAT_MS, { min: 100, max: 3_600_000, integer: true }),
    highWaterMarkBytes: num(env, 'HIGH_WATER_MARK_BYTES', 1024 * 1024, { min: 1024, integer: true }),
    slowConsumerTimeoutMs: num(env, 'SLOW_CONSUMER_TIMEOUT_MS', 10_000, { min: 100, integer: true }),
    coalesceMs: num(env, 'COALESCE_MS', DEFAULT_COALESCE_MS, { min: 0, max: 1000 }),
    allowedOrigins: list(env, 'ALLOWED_ORIGINS'),
    entitledSymbols: patterns(env, 'ENTITLED_SYMBOLS'),
    drainGraceMs: num(env, 'DRAIN_GRACE_MS', 10_000, { min: 0, max: 600_000, integer: true }),
    logLevel: logLevel as LogLevel,
    dashboardDir: env.DASHBOARD_DIR?.trim() || undefined,
    abuseMaxRejections: num(env, 'ABUSE_MAX_REJECTIONS', 100, { min: 1, integer: true }),
    abuseWindowMs: num(env, 'ABUSE_WINDOW_MS', 3000, { min: 100, integer: true }),
    auth: authConfig(env),
    maxConnectionsPerIp: num(env, 'MAX_CONNECTIONS_PER_IP', 0, { min: 0, integer: true }),
    maxConnectionsPerUser: num(env, 'MAX_CONNECTIONS_PER_USER', 0, { min: 0, integer: true }),
    maxUpgradesPerIpPerSec: num(env, 'MAX_UPGRADES_PER_IP_PER_SEC', 0, { min: 0, integer: true }),
    handshakeTimeoutMs: num(env, 'HANDSHAKE_TIMEOUT_MS', 30_000, { min: 0, max: 3_600_000, integer: true }),
    maxHalfOpenSocketsPerIp: num(env, 'MAX_HALF_OPEN_SOCKETS_PER_IP', 0, { min: 0, integer: true }),
    headersTimeoutMs: num(env, 'HEADERS_TIMEOUT_MS', 15_000, { min: 1000, max: 300_000, integer: true }),
    maxPendingNegotiationsPerIp: num(
      env,
      'MAX_PENDING_NEGOTIATIONS_PER_IP',
      DEFAULT_TRANSPORT_OPTIONS.maxPendingPerAddress,
      { min: 0, integer: true },
    ),
    maxPendingNegotiationsPerUser: num(
      env,
      'MAX_PENDING_NEGOTIATIONS_PER_USER',
      DEFAULT_TRANSPORT_OPTIONS.maxPendingPerUser,
      { min: 0, integer: true },
    ),
    negotiateTimeoutMs: num(env, 'NEGOTIATE_TIMEOUT_MS', DEFAULT_TRANSPORT_OPTIONS.negotiateTimeoutMs, {
      min: 100,
      max: 600_000,
      integer: true,
    }),
    publish: publishConfig(env),
    statefulReconnectBufferBytes: num(
      env,
      'STATEFUL_RECONNECT_BUFFER_BYTES',
      DEFAULT_HUB_OPTIONS.statefulReconnectBufferBytes,
      { min: 0, max: 64 * 1024 * 1024, integer: true },
    ),
  };
}
