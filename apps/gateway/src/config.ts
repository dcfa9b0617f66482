import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  ConfigError,
  type ConfigProblem,
  type Env,
  numberWanted,
  readVariables,
  type ValuesOf,
} from '@tickhub/config';
import type { LogLevel } from '@tickhub/log';
import { DEFAULT_LIMITS, type Limits } from '@tickhub/protocol';
import type { AuthConfig } from './auth/jwt';
import { type PublishConfig, publishConfig } from './publish/publish-config';
import { GATEWAY_VARIABLES, HZ_RANGE } from './variables';

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

export { ConfigError, type Env };

type Values = ValuesOf<typeof GATEWAY_VARIABLES>;

/** MIN_HZ ≤ DEFAULT_HZ ≤ MAX_HZ, DEFAULT_HZ defaulting to the protocol's default within them. */
function rateLimits(v: Values, problems: ConfigProblem[]): Pick<Limits, 'minHz' | 'maxHz' | 'defaultHz'> {
  const { MAX_HZ: maxHz, MIN_HZ: minHz } = v;
  const outside = (name: string, value: number, min: number, max: number) =>
    problems.push({
      variable: name,
      message: `${name} must be ${numberWanted({ min, max })}, got ${JSON.stringify(String(value))}`,
    });
  if (minHz > maxHz) outside('MIN_HZ', minHz, HZ_RANGE.min, maxHz);
  const defaultHz = v.DEFAULT_HZ ?? Math.min(DEFAULT_LIMITS.defaultHz, maxHz);
  if (v.DEFAULT_HZ !== undefined && (defaultHz < minHz || defaultHz > maxHz))
    outside('DEFAULT_HZ', defaultHz, minHz, maxHz);
  return { minHz, maxHz, defaultHz };
}

function authConfig(v: Values, problems: ConfigProblem[]): AuthConfig {
  const mode = v.AUTH_MODE;
  const problem = (variable: string, message: string) => problems.push({ variable, message });
  const { AUTH_HS256_SECRET: hs256Secret, AUTH_JWKS_FILE: jwksFile, AUTH_JWKS_URL: jwksUrl } = v;
  // The secret and the key source are checked only for the mode that uses them: a leftover value of
  // another mode stays harmless.
  if (mode === 'hs256') {
    if (!hs256Secret) problem('AUTH_HS256_SECRET', 'AUTH_HS256_SECRET is required with AUTH_MODE=hs256');
    else if (Buffer.byteLength(hs256Secret) < 32)
      problem('AUTH_HS256_SECRET', 'AUTH_HS256_SECRET must be at least 32 bytes long');
  }
  if (mode === 'jwks') {
    if (!jwksFile && !jwksUrl)
      problem('AUTH_JWKS_FILE', 'AUTH_JWKS_FILE or AUTH_JWKS_URL is required with AUTH_MODE=jwks');
    if (jwksFile && jwksUrl) problem('AUTH_JWKS_FILE', 'AUTH_JWKS_FILE and AUTH_JWKS_URL are exclusive');
    if (jwksUrl && !/^https?:\/\//.test(jwksUrl))
      problem('AUTH_JWKS_URL', 'AUTH_JWKS_URL must start with http:// or https://');
    if (jwksFile && !existsSync(jwksFile))
      problem('AUTH_JWKS_FILE', `AUTH_JWKS_FILE does not exist: ${JSON.stringify(jwksFile)}`);
  }
  return {
    mode,
    ...(hs256Secret ? { hs256Secret } : {}),
    ...(jwksFile ? { jwksFile } : {}),
    ...(jwksUrl ? { jwksUrl } : {}),
    ...(v.AUTH_ISSUER ? { issuer: v.AUTH_ISSUER } : {}),
    ...(v.AUTH_AUDIENCE ? { audience: v.AUTH_AUDIENCE } : {}),
    clockToleranceS: v.AUTH_CLOCK_TOLERANCE_S,
    requireExp: v.AUTH_REQUIRE_EXP,
  };
}

/** Reads and validates every setting; throws a ConfigError with one line per bad variable. */
export function loadConfig(env: Env = process.env): GatewayConfig {
  // Checks across variables run on the values that are valid by themselves (a wrong one is undefined
  // and compares as nothing), so that one start reports every problem.
  const { values: v, problems } = readVariables(GATEWAY_VARIABLES, env);
  const rates = rateLimits(v, problems);
  const auth = authConfig(v, problems);
  const publish = publishConfig(v, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const gatewayId = v.GATEWAY_ID ?? `gw-${randomBytes(4).toString('hex')}`;
  const brokers = v.KAFKA_BROKERS ?? [];
  const entitled = v.ENTITLED_SYMBOLS ?? [];
  return {
    port: v.PORT,
    host: v.HOST,
    gatewayId,
    kafkaBrokers: brokers.length > 0 ? brokers : undefined,
    kafkaTopic: v.KAFKA_TOPIC,
    kafkaGroupId: v.KAFKA_GROUP_ID,
    kafkaClientId: v.KAFKA_CLIENT_ID ?? gatewayId,
    kafkaFromBeginning: v.KAFKA_FROM_BEGINNING,
    kafkaSessionTimeoutMs: v.KAFKA_SESSION_TIMEOUT_MS,
    kafkaFetchMinBytes: v.KAFKA_FETCH_MIN_BYTES,
    kafkaFetchMaxWaitMs: v.KAFKA_FETCH_MAX_WAIT_MS,
    kafkaStandby: v.KAFKA_STANDBY,
    kafkaTakeoverMs: v.KAFKA_TAKEOVER_MS,
    redisUrl: v.REDIS_URL,
    redisCluster: v.REDIS_CLUSTER,
    redisKeyPrefix: v.REDIS_KEY_PREFIX,
    simRate: v.SIM_RATE,
    simSeed: v.SIM_SEED,
    simSymbols: v.SIM_SYMBOLS,
    simWarmupSeconds: v.SIM_WARMUP_SECONDS,
    simWarmupRate: v.SIM_WARMUP_RATE,
    candleFlushMs: v.CANDLE_FLUSH_MS,
    limits: {
      maxSubscriptions: v.MAX_SUBSCRIPTIONS,
      ...rates,
      maxInboundPerSec: v.MAX_INBOUND_PER_SEC,
      maxPayloadBytes: v.MAX_PAYLOAD_BYTES,
    },
    heartbeatMs: v.HEARTBEAT_MS,
    highWaterMarkBytes: v.HIGH_WATER_MARK_BYTES,
    slowConsumerTimeoutMs: v.SLOW_CONSUMER_TIMEOUT_MS,
    coalesceMs: v.COALESCE_MS,
    allowedOrigins: v.ALLOWED_ORIGINS ?? [],
    entitledSymbols: entitled.length > 0 ? entitled : undefined,
    drainGraceMs: v.DRAIN_GRACE_MS,
    logLevel: v.LOG_LEVEL,
    dashboardDir: v.DASHBOARD_DIR,
    abuseMaxRejections: v.ABUSE_MAX_REJECTIONS,
    abuseWindowMs: v.ABUSE_WINDOW_MS,
    auth,
    maxConnectionsPerIp: v.MAX_CONNECTIONS_PER_IP,
    maxConnectionsPerUser: v.MAX_CONNECTIONS_PER_USER,
    maxUpgradesPerIpPerSec: v.MAX_UPGRADES_PER_IP_PER_SEC,
    handshakeTimeoutMs: v.HANDSHAKE_TIMEOUT_MS,
    maxHalfOpenSocketsPerIp: v.MAX_HALF_OPEN_SOCKETS_PER_IP,
    headersTimeoutMs: v.HEADERS_TIMEOUT_MS,
    maxPendingNegotiationsPerIp: v.MAX_PENDING_NEGOTIATIONS_PER_IP,
    maxPendingNegotiationsPerUser: v.MAX_PENDING_NEGOTIATIONS_PER_USER,
    negotiateTimeoutMs: v.NEGOTIATE_TIMEOUT_MS,
    publish,
    statefulReconnectBufferBytes: v.STATEFUL_RECONNECT_BUFFER_BYTES,
  };
}
