import { bad, boolean, helpFor, listValue, matching, number, oneOf, parsed, variable } from '@tickhub/config';
import { LOG_VARIABLES } from '@tickhub/log';
import { DEFAULT_UNIVERSE_SIZE, MAX_UNIVERSE_SIZE, parseBurstProfile } from '@tickhub/market-sim';
import { firstSeqAt } from '@tickhub/protocol';

/**
 * Every environment variable of the ingester: name, value, default and doc, in one place. loadConfig
 * reads them, `--help` and `npm run config` print them, and the docs' tables and turbo.json's list of
 * variables are generated from them (`npm run docs:config`).
 */

const BROKER = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;
const TOPIC = /^(?!\.\.?$)[A-Za-z0-9._-]{1,249}$/;

/** The HTTP server's port: INGESTER_HTTP_PORT, or its older name METRICS_PORT. */
const HTTP_PORT = { min: 0, max: 65535, integer: true } as const;
const HTTP_PORT_DEFAULT = 9464;

export const INGESTER_VARIABLES = {
  KAFKA_BROKERS: variable({
    doc: 'comma-separated `host:port` list',
    accepts: 'host:port list',
    required: 'is required: comma-separated host:port list, e.g. 127.0.0.1:19092',
    value: listValue('host:port[,host:port]', (b) => {
      const port = Number(b.slice(b.lastIndexOf(':') + 1));
      return BROKER.test(b) && port >= 1 && port <= 65535;
    }),
  }),
  KAFKA_TOPIC: variable({
    doc: 'topic to publish to (created when missing)',
    accepts: 'Kafka topic name',
    default: 'md.ticks',
    value: matching(TOPIC, '1-249 characters of letters, digits, ".", "_" or "-"'),
  }),
  KAFKA_PARTITIONS: number(
    { min: 1, max: 10000, integer: true },
    { doc: 'partitions of the topic when the ingester creates it', default: 12 },
  ),
  KAFKA_REPLICATION_FACTOR: number(
    { min: 1, max: 100, integer: true },
    { doc: 'replication factor when the ingester creates the topic', default: 1 },
  ),
  KAFKA_ACKS: oneOf(['-1', 'all', '1', '0'], {
    doc: '`-1`/`all`, `1` or `0`; idempotent producer only with `-1`',
    default: '-1',
  }),
  KAFKA_COMPRESSION: oneOf(['none', 'gzip'], { doc: '`none` or `gzip`', default: 'none' }),
  KAFKA_PRODUCERS: number(
    { min: 1, max: 64, integer: true },
    {
      doc: 'producer lanes (kafkajs producers in worker threads when > 1), at most one per partition',
      default: 1,
    },
  ),
  KAFKA_PRODUCED_AT_HEADER: boolean({
    doc: 'records carry the `produced-at` header (the record timestamp always carries the same time); it makes encoding about 1.5 times as expensive per record',
    default: true,
  }),
  KAFKA_CLIENT_ID: variable({
    doc: 'kafkajs client id',
    accepts: '1-100 of A-Z a-z 0-9 . _ -',
    default: 'tickhub-ingester',
    value: matching(/^[A-Za-z0-9._-]{1,100}$/, '1-100 characters of letters, digits, ".", "_" or "-"'),
  }),
  TICK_RATE: number(
    { min: 1, max: 10_000_000, integer: true },
    { doc: 'simulated ticks per second in total (all symbols)', default: 2000 },
  ),
  BURSTS: variable({
    doc: 'burst profile, e.g. `10x30s@0s` (market open: 10x for 30 s) or `5x10s@60s/300s` (5x for 10 s every 5 min from 60 s); comma-separated list',
    accepts: 'comma list of NxDURATION@START[/EVERY]',
    value: parsed((value) => {
      try {
        return parseBurstProfile(value);
      } catch (err) {
        return bad((err as Error).message.replace(/^invalid burst/, 'has an invalid burst'));
      }
    }),
  }),
  SIM_SEED: number(
    { min: 0, max: 2 ** 32 - 1, integer: true },
    { doc: 'seed of the simulated market (same seed, same ticks)', default: 42 },
  ),
  SIM_SYMBOLS: number(
    { min: 1, max: MAX_UNIVERSE_SIZE, integer: true },
    { doc: 'number of simulated symbols', default: DEFAULT_UNIVERSE_SIZE },
  ),
  SEQ_START: variable({
    doc: "`seq` of each symbol's first tick: `clock` (start time in µs, so a restart continues above the last run) or an integer ≥ 1",
    accepts: 'clock, or integer 1–2^53-1',
    defaultText: 'clock',
    value: parsed((value) => {
      if (value === 'clock') return firstSeqAt(Date.now());
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1)
        return bad(`must be "clock" or an integer from 1 to 2^53 - 1, got "${value}"`);
      return Number(value);
    }),
  }),
  REPLAY_FILE: variable({
    doc: 'CSV file to replay instead of simulating (format below)',
    accepts: 'file path',
    value: parsed((value) => value),
  }),
  REPLAY_SPEED: number(
    { min: 0, max: 1_000_000 },
    { doc: '`1` = recorded speed, `10` = ten times faster, `0` = as fast as Kafka takes them', default: 1 },
  ),
  REPLAY_LOOP: boolean({
    doc: 'start over at the end of the file (seq and timestamps keep increasing)',
    default: false,
  }),
  REPLAY_TIMESTAMPS: oneOf(['now', 'recorded'], {
    doc: "`now`: `ts` is the wall-clock time of the replay; `recorded`: the file's timestamps",
    default: 'now',
  }),
  BATCH_MAX_MESSAGES: number(
    { min: 1, max: 1_000_000, integer: true },
    { doc: 'most records per batch (split over the lanes)', default: 1000 },
  ),
  BATCH_LINGER_MS: number(
    { min: 0, max: 10_000, integer: true },
    // The gateways read in fetches of their own (KAFKA_FETCH_MIN_BYTES): a longer wait here only adds latency.
    {
      doc: 'longest wait for a batch to fill; the gateways batch their fetches themselves, so longer only adds latency',
      default: 1,
    },
  ),
  BUFFER_MAX_TICKS: number(
    { min: 1, max: 10_000_000, integer: true },
    { doc: 'ticks kept in order before folding per symbol', default: 200_000 },
  ),
  INGESTER_HTTP_PORT: number(HTTP_PORT, {
    doc: 'port of `/health/*` and `/metrics` (`0` = any free port, logged)',
    defaultText: `METRICS_PORT, else ${HTTP_PORT_DEFAULT}`,
  }),
  METRICS_PORT: number(HTTP_PORT, {
    doc: 'the older name of `INGESTER_HTTP_PORT`, used when that is unset',
    default: HTTP_PORT_DEFAULT,
  }),
  INGESTER_HTTP_HOST: variable({
    doc: 'address of that server: loopback, so a shared host does not expose it; the images set `0.0.0.0` for Prometheus',
    accepts: 'address',
    default: '127.0.0.1',
    value: parsed((value) => value),
  }),
  STARTUP_TIMEOUT_MS: number(
    { min: 0, max: 3_600_000, integer: true },
    { doc: 'how long to retry an unreachable broker at start', default: 30_000 },
  ),
  SHUTDOWN_TIMEOUT_MS: number(
    { min: 0, max: 600_000, integer: true },
    { doc: 'how long shutdown may spend flushing', default: 10_000 },
  ),
  ...LOG_VARIABLES,
} as const;

/** `node apps/ingester/dist/main.js --help`: every variable, its default and doc, and its value in `env`. */
export const ingesterHelp = helpFor(
  'tickhub ingester (node apps/ingester/dist/main.js): a simulated market, or a CSV replay, published\n' +
    'to Kafka. Configured by the environment; exits 2 naming each variable to fix.',
  INGESTER_VARIABLES,
);
