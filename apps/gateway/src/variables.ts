import {
  bad,
  boolean,
  helpFor,
  listValue,
  matching,
  number,
  oneOfValue,
  parsed,
  text,
  urlValue,
  variable,
} from '@tickhub/config';
import { LOG_VARIABLES } from '@tickhub/log';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_LIMITS } from '@tickhub/protocol';
import { DEFAULT_HUB_OPTIONS, DEFAULT_TRANSPORT_OPTIONS } from '@tickhub/signalr';
import { z } from 'zod';
import { DEFAULT_COALESCE_MS } from './core/edge-stage';
import {
  DEFAULT_KAFKA_FETCH_MAX_WAIT_MS,
  DEFAULT_KAFKA_FETCH_MIN_BYTES,
  DEFAULT_KAFKA_SESSION_TIMEOUT_MS,
  MAX_KAFKA_FETCH_MAX_WAIT_MS,
} from './core/kafka-tick-source';

/**
 * Every environment variable of the gateway: name, value, default and doc, in one place. loadConfig
 * reads them, `--help` and `npm run config` print them, and the docs' tables and turbo.json's list of
 * variables are generated from them (`npm run docs:config`).
 */

const TOPIC = /^(?!\.\.?$)[A-Za-z0-9._-]{1,249}$/;
const TOPIC_RULE = '1-249 characters of letters, digits, ".", "_" or "-"';

// Azure SignalR Service keys are 44 characters; a shorter HS256 key is guessable offline from one token.
const MIN_KEY_BYTES = 32;

const accessKey = parsed((raw) =>
  Buffer.byteLength(raw) >= MIN_KEY_BYTES ? raw : bad(`must be at least ${MIN_KEY_BYTES} bytes long`),
);

export const AUTH_MODES = ['off', 'hs256', 'jwks'] as const;

/** Each limit per subscription also bounds the others: loadConfig checks MIN_HZ ≤ DEFAULT_HZ ≤ MAX_HZ. */
export const HZ_RANGE = { min: 0.001, max: 1000 } as const;

export const GATEWAY_VARIABLES = {
  PORT: number(
    { min: 0, max: 65535, integer: true },
    { doc: 'HTTP and WebSocket port (`0`: any free port, logged)', default: 8080 },
  ),
  HOST: text({ doc: 'address to bind', default: '0.0.0.0' }),
  GATEWAY_ID: variable({
    doc: 'pod id: `server` in the welcome, backplane pod id, Kafka client id',
    accepts: '1-64 of A-Z a-z 0-9 . _ -',
    defaultText: 'gw-<random>',
    value: matching(/^[A-Za-z0-9._-]{1,64}$/, '1-64 characters of letters, digits, ".", "_" or "-"'),
  }),
  KAFKA_BROKERS: variable({
    doc: '`host:port[,host:port]`; unset = embedded mode',
    accepts: 'host:port list',
    value: listValue('host:port[,host:port]', (b) => /^[^\s:]+:\d{1,5}$/.test(b)),
  }),
  KAFKA_TOPIC: variable({
    doc: 'topic of tick records',
    accepts: 'Kafka topic name',
    default: 'md.ticks',
    value: matching(TOPIC, TOPIC_RULE),
  }),
  KAFKA_GROUP_ID: text({ doc: 'consumer group: each pod owns some partitions', default: 'gateway' }),
  KAFKA_CLIENT_ID: variable({
    doc: 'Kafka client id',
    accepts: 'text',
    defaultText: 'GATEWAY_ID',
    value: z.string(),
  }),
  KAFKA_FROM_BEGINNING: boolean({
    doc: 'a group without committed offsets starts at the beginning of the topic',
    default: false,
  }),
  KAFKA_SESSION_TIMEOUT_MS: number(
    { min: 1000, max: 300_000, integer: true },
    {
      doc: 'a pod silent this long loses its partitions to the other pods; the default is the lowest a stock broker accepts, the shipped brokers allow 3000 (compose, tests)',
      default: DEFAULT_KAFKA_SESSION_TIMEOUT_MS,
    },
  ),
  KAFKA_FETCH_MIN_BYTES: number(
    { min: 1, max: 1_048_576, integer: true },
    {
      doc: 'the broker answers a fetch once it has this many bytes for the pod or after `KAFKA_FETCH_MAX_WAIT_MS`; the default answers as soon as a tick is there (lowest latency), larger values (16384: about 130 ticks) make fewer fetches at the cost of up to `KAFKA_FETCH_MAX_WAIT_MS` of latency',
      default: DEFAULT_KAFKA_FETCH_MIN_BYTES,
    },
  ),
  KAFKA_FETCH_MAX_WAIT_MS: number(
    { min: 1, max: MAX_KAFKA_FETCH_MAX_WAIT_MS, integer: true },
    {
      doc: 'the longest a tick waits for a fetch to fill; a quiet topic answers this often, which readiness reads as a sign of life',
      default: DEFAULT_KAFKA_FETCH_MAX_WAIT_MS,
    },
  ),
  KAFKA_STANDBY: boolean({
    doc: "a second consumer group (`<KAFKA_GROUP_ID>.standby`) makes this pod the standby owner of other pods' partitions: it publishes what their primary leaves unpublished for `KAFKA_TAKEOVER_MS`",
    default: true,
  }),
  KAFKA_TAKEOVER_MS: number(
    { min: 10, max: 60_000, integer: true },
    {
      doc: "how long the standby owner waits for the primary's update before publishing it itself",
      default: 250,
    },
  ),
  REDIS_URL: variable({
    doc: '`redis://[user:pass@]host:port[/db]`: the Redis backplane (unset = in-memory); with `REDIS_CLUSTER`, a comma list of seed nodes',
    accepts: 'redis:// or rediss:// URL',
    value: urlValue(['redis', 'rediss']),
  }),
  REDIS_CLUSTER: boolean({
    doc: 'Redis Cluster: sharded pub/sub, one last-value key per symbol',
    default: false,
  }),
  REDIS_KEY_PREFIX: variable({
    doc: 'prefix of every backplane key and channel; the pods of one deployment share it',
    accepts: '1-64 of A-Z a-z 0-9 . _ : -',
    default: 'tickhub:',
    value: matching(/^[A-Za-z0-9._:-]{1,64}$/, '1-64 characters of letters, digits, ".", "_", ":" or "-"'),
  }),
  SIM_RATE: number(
    { min: 0, max: 1_000_000 },
    { doc: 'embedded mode: source ticks per second over the universe', default: 2000 },
  ),
  SIM_SEED: number({ integer: true }, { doc: 'embedded mode: seed of the simulated market', default: 42 }),
  // Six hours: a full chart of 1m candles (and of 1s for the last minutes) when the dashboard opens.
  SIM_WARMUP_SECONDS: number(
    { min: 0, max: 2_592_000, integer: true },
    {
      doc: 'embedded mode without Redis: simulated history (6 h) run before serving, so the candle store is full when the dashboard opens',
      default: 21_600,
    },
  ),
  SIM_WARMUP_RATE: number(
    { min: 0, max: 100_000 },
    {
      doc: 'ticks per simulated second of that warm-up, over the universe (a few seconds of CPU at the defaults)',
      default: 40,
    },
  ),
  // Once a second: the flushes' cost stays small next to the per-tick work at 100k ticks/s, and the
  // newest candle a reader gets is at most a second behind the live updates that extend it.
  CANDLE_FLUSH_MS: number(
    { min: 1, max: 60_000, integer: true },
    {
      doc: 'how long changed candles wait to be written together (one Redis pipeline per flush); Kafka offsets are committed once the candles of their ticks are written, so at most this much is read again after a partition moves',
      default: 1000,
    },
  ),
  SIM_SYMBOLS: number(
    { min: 1, max: 100_000, integer: true },
    { doc: 'size of the symbol universe (`/api/symbols`, accepted symbols)', default: 500 },
  ),
  MAX_SUBSCRIPTIONS: number(
    { min: 1, max: 100_000, integer: true },
    { doc: 'subscriptions per connection', default: DEFAULT_LIMITS.maxSubscriptions },
  ),
  MIN_HZ: number(HZ_RANGE, {
    doc: 'lowest rate a subscription may ask for (at most `MAX_HZ`)',
    default: DEFAULT_LIMITS.minHz,
  }),
  MAX_HZ: number(HZ_RANGE, {
    doc: 'highest rate per subscription; also the source pre-conflation rate',
    default: DEFAULT_LIMITS.maxHz,
  }),
  DEFAULT_HZ: number(HZ_RANGE, {
    doc: 'rate of a subscription that asks for none (from `MIN_HZ` to `MAX_HZ`)',
    defaultText: `${DEFAULT_LIMITS.defaultHz} (at most MAX_HZ)`,
  }),
  MAX_INBOUND_PER_SEC: number(
    { min: 1, max: 1_000_000 },
    {
      doc: 'requests per second per connection (token bucket, burst = rate)',
      default: DEFAULT_LIMITS.maxInboundPerSec,
    },
  ),
  MAX_PAYLOAD_BYTES: number(
    { min: 256, max: 16 * 1024 * 1024, integer: true },
    { doc: 'largest inbound frame; larger closes with 1009', default: DEFAULT_LIMITS.maxPayloadBytes },
  ),
  ABUSE_MAX_REJECTIONS: number(
    { min: 1, integer: true },
    { doc: 'rate-limited frames in one episode that close with 4008', default: 100 },
  ),
  ABUSE_WINDOW_MS: number(
    { min: 100, integer: true },
    { doc: 'an episode of rate-limited frames this long closes with 4008', default: 3000 },
  ),
  HEARTBEAT_MS: number(
    { min: 100, max: 3_600_000, integer: true },
    {
      doc: 'WebSocket ping interval; a peer that misses a pong is terminated, except one above the high-water mark (its ping waits behind the backlog: the slow-consumer guard decides) or already being closed (4009: it gets the close frame once it reads again, or is cut after 30 s)',
      default: DEFAULT_HEARTBEAT_MS,
    },
  ),
  HIGH_WATER_MARK_BYTES: number(
    { min: 1024, integer: true },
    { doc: 'unsent bytes above which a connection is paused', default: 1024 * 1024 },
  ),
  SLOW_CONSUMER_TIMEOUT_MS: number(
    { min: 100, integer: true },
    { doc: 'paused longer than this closes with 4009', default: 10_000 },
  ),
  COALESCE_MS: number(
    { min: 0, max: 1000 },
    {
      doc: "a trailing edge may go out up to this much (and at most a tenth of its interval) after its interval ends to share a frame with the connection's other symbols; `0` = off",
      default: DEFAULT_COALESCE_MS,
    },
  ),
  ALLOWED_ORIGINS: variable({
    doc: 'comma list of allowed `Origin`s; others are closed with 1008 (requests without `Origin` are not browsers and pass); unset = all',
    accepts: 'comma list of origins',
    value: listValue('a comma list of origins'),
  }),
  ENTITLED_SYMBOLS: variable({
    doc: "symbol patterns (`AAPL`, `EUR*`) any connection may see and subscribe to; a token's `symbols` claim narrows them further, never widens; others get `FORBIDDEN`; unset = all",
    accepts: 'comma list of symbols or prefixes with *',
    value: listValue('a comma list of symbols or prefixes with *', (p) => /^[A-Za-z0-9._:/-]*\*?$/.test(p)),
  }),
  DRAIN_GRACE_MS: number(
    { min: 0, max: 600_000, integer: true },
    { doc: 'SIGTERM/SIGINT: the process exits within this', default: 10_000 },
  ),
  DASHBOARD_DIR: variable({
    doc: 'static files served on `/` (a small page when not built)',
    accepts: 'directory',
    defaultText: 'apps/dashboard/dist',
    value: z.string(),
  }),
  ...LOG_VARIABLES,
  STATEFUL_RECONNECT_BUFFER_BYTES: number(
    { min: 0, max: 64 * 1024 * 1024, integer: true },
    {
      doc: 'SignalR stateful reconnect: bytes kept per hub connection for resending after a dropped WebSocket; `0` turns it off (negotiate then never grants `useStatefulReconnect`)',
      default: DEFAULT_HUB_OPTIONS.statefulReconnectBufferBytes,
    },
  ),

  AUTH_MODE: variable({
    doc: '`off`, `hs256` (shared secret) or `jwks` (RS256 / ES256 public keys)',
    accepts: AUTH_MODES.join(', '),
    default: 'off',
    group: 'auth',
    value: oneOfValue(AUTH_MODES),
  }),
  AUTH_HS256_SECRET: variable({
    doc: 'the shared secret, at least 32 bytes; required with `hs256`',
    accepts: 'text of 32 bytes or more',
    secret: true,
    group: 'auth',
    value: parsed((raw) => (Buffer.byteLength(raw) >= 32 ? raw : bad('must be at least 32 bytes long'))),
  }),
  AUTH_JWKS_FILE: variable({
    doc: 'a JWKS file; re-read (at most once a second) when a token names a `kid` it does not hold',
    accepts: 'file path',
    group: 'auth',
    value: z.string(),
  }),
  AUTH_JWKS_URL: variable({
    doc: 'a JWKS URL; cached, fetched again when a token names an unknown `kid` (at most once a second), and every 10 minutes',
    accepts: 'http:// or https:// URL',
    group: 'auth',
    value: urlValue(['http', 'https']),
  }),
  AUTH_ISSUER: variable({
    doc: 'required `iss`, when set',
    accepts: 'text',
    group: 'auth',
    value: z.string(),
  }),
  AUTH_AUDIENCE: variable({
    doc: 'required `aud`, when set',
    accepts: 'text',
    group: 'auth',
    value: z.string(),
  }),
  AUTH_CLOCK_TOLERANCE_S: number(
    { min: 0, max: 3600 },
    { doc: 'leeway for `exp` / `nbf`', default: 5, group: 'auth' },
  ),
  AUTH_REQUIRE_EXP: boolean({
    doc: 'refuse tokens without `exp` (401): a leaked token must not work forever; `false` accepts them (they never expire)',
    default: true,
    group: 'auth',
  }),

  MAX_CONNECTIONS_PER_IP: number(
    { min: 0, integer: true },
    { doc: 'concurrent WebSocket connections per client IP; `0` = no cap', default: 0, group: 'limits' },
  ),
  MAX_CONNECTIONS_PER_USER: number(
    { min: 0, integer: true },
    {
      doc: 'concurrent WebSocket connections per authenticated user; `0` = no cap',
      default: 0,
      group: 'limits',
    },
  ),
  MAX_UPGRADES_PER_IP_PER_SEC: number(
    { min: 0, integer: true },
    { doc: 'WebSocket upgrades per client IP per second; `0` = no cap', default: 0, group: 'limits' },
  ),
  HANDSHAKE_TIMEOUT_MS: number(
    { min: 0, max: 3_600_000, integer: true },
    {
      doc: 'a `/ws` connection that sends no request within this is closed with 1008; `0` = never',
      default: 30_000,
      group: 'limits',
    },
  ),
  MAX_PENDING_NEGOTIATIONS_PER_IP: number(
    { min: 0, integer: true },
    {
      doc: 'SignalR negotiations not started yet per client IP; `0` = no cap',
      default: DEFAULT_TRANSPORT_OPTIONS.maxPendingPerAddress,
      group: 'limits',
    },
  ),
  MAX_PENDING_NEGOTIATIONS_PER_USER: number(
    { min: 0, integer: true },
    {
      doc: 'SignalR negotiations not started yet per user; `0` = no cap',
      default: DEFAULT_TRANSPORT_OPTIONS.maxPendingPerUser,
      group: 'limits',
    },
  ),
  NEGOTIATE_TIMEOUT_MS: number(
    { min: 100, max: 600_000, integer: true },
    {
      doc: 'how long a SignalR negotiation may wait for its transport before it is dropped',
      default: DEFAULT_TRANSPORT_OPTIONS.negotiateTimeoutMs,
      group: 'limits',
    },
  ),
  MAX_HALF_OPEN_SOCKETS_PER_IP: number(
    { min: 0, integer: true },
    {
      doc: 'TCP connections per client IP that have not sent a request yet; `0` = no cap',
      default: 0,
      group: 'limits',
    },
  ),
  HEADERS_TIMEOUT_MS: number(
    { min: 1000, max: 300_000, integer: true },
    {
      doc: 'how long a TCP connection may take to send its request headers',
      default: 15_000,
      group: 'limits',
    },
  ),

  PUBLISH_ACCESS_KEY: variable({
    doc: 'serves the REST API `/api/v1/hubs/…` (Azure SignalR data-plane v1); its HS256 signing key, at least 32 bytes; unset = no API',
    accepts: `text of ${MIN_KEY_BYTES} bytes or more`,
    secret: true,
    group: 'publish',
    value: accessKey,
  }),
  PUBLISH_ACCESS_KEY_SECONDARY: variable({
    doc: 'a second accepted key, while the key is rotated',
    accepts: `text of ${MIN_KEY_BYTES} bytes or more`,
    secret: true,
    group: 'publish',
    value: accessKey,
  }),
  // Azure SignalR Service refuses messages above 1 MB.
  PUBLISH_MAX_BODY_BYTES: number(
    { min: 1024, max: 16 * 1024 * 1024, integer: true },
    { doc: 'largest request body (400 above)', default: 1024 * 1024, group: 'publish' },
  ),
  PUBLISH_KAFKA: boolean({
    doc: 'consume server-published messages from Kafka (needs `KAFKA_BROKERS`), group `<KAFKA_GROUP_ID>.hub-messages`',
    default: false,
    group: 'publish',
  }),
  PUBLISH_KAFKA_TOPIC: variable({
    doc: 'their topic; created when missing',
    accepts: 'Kafka topic name',
    default: 'hub.messages',
    group: 'publish',
    value: matching(TOPIC, TOPIC_RULE),
  }),
  PUBLISH_KAFKA_PARTITIONS: number(
    { min: 1, max: 10_000, integer: true },
    { doc: 'partitions of the topic when the gateway creates it', default: 6, group: 'publish' },
  ),
  PUBLISH_KAFKA_REPLICATION_FACTOR: number(
    { min: 1, max: 100, integer: true },
    { doc: 'replication factor of the topic when the gateway creates it', default: 1, group: 'publish' },
  ),
} as const;

/** `node apps/gateway/dist/main.js --help`: every variable, its default and doc, and its value in `env`. */
export const gatewayHelp = helpFor(
  'tickhub gateway (node apps/gateway/dist/main.js; `npm start` at the repository root): the native\n' +
    'WebSocket /ws, the SignalR hubs, the HTTP API and the dashboard. Configured by the environment.',
  GATEWAY_VARIABLES,
);
