import {
  bad,
  describeVariables,
  type Env,
  formatHelp,
  parsed,
  type Variable,
  variable,
} from '@tickhub/config';
import { DEFAULT_UNIVERSE_SIZE, MAX_UNIVERSE_SIZE, parseBurstProfile } from '@tickhub/market-sim';
import { firstSeqAt } from '@tickhub/protocol';

/**
 * Every environment variable of the ingester: name, value, default and doc, in one place. loadConfig
 * reads them, `--help` and `npm run config` print them, and the docs' tables and turbo.json's list of
 * variables are generated from them (`npm run docs:config`).
 */

function integerValue(min: number, max: number) {
  return parsed((value) => {
    if (!/^-?\d+$/.test(value)) return bad(`must be an integer between ${min} and ${max}, got "${value}"`);
    const n = Number(value);
    return n < min || n > max ? bad(`must be between ${min} and ${max}, got ${value}`) : n;
  });
}

function integer(min: number, max: number, options: { doc: string; default: number }): Variable<number> {
  return variable({ ...options, accepts: `integer ${min}–${max}`, value: integerValue(min, max) });
}

function decimal(min: number, max: number, options: { doc: string; default: number }): Variable<number> {
  return variable({
    ...options,
    accepts: `number ${min}–${max}`,
    value: parsed((value) => {
      const n = Number(value);
      if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n))
        return bad(`must be a number between ${min} and ${max}, got "${value}"`);
      return n < min || n > max ? bad(`must be between ${min} and ${max}, got ${value}`) : n;
    }),
  });
}

function oneOf<const T extends string>(allowed: readonly T[], options: { doc: string; default: T }) {
  return variable({
    ...options,
    accepts: allowed.join(', '),
    value: parsed((value) => {
      const lower = value.toLowerCase();
      return allowed.find((a) => a === lower) ?? bad(`must be one of ${allowed.join('|')}, got "${value}"`);
    }),
  });
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

function boolean(options: { doc: string; default: boolean }) {
  return variable({
    ...options,
    accepts: 'true or false (1, 0, yes, no, on, off)',
    value: parsed((value) => {
      const lower = value.toLowerCase();
      if (TRUE.includes(lower)) return true;
      if (FALSE.includes(lower)) return false;
      return bad(`must be one of true|false|1|0, got "${value}"`);
    }),
  });
}

/** A value matching `pattern`; `what` says what it must be. */
function matching(pattern: RegExp, what: string) {
  return parsed((value) => (pattern.test(value) ? value : bad(`must be ${what}, got "${value}"`)));
}

const BROKER = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** The HTTP server's port: INGESTER_HTTP_PORT, or its older name METRICS_PORT. */
const HTTP_PORT = { min: 0, max: 65535, default: 9464 } as const;

export const INGESTER_VARIABLES = {
  KAFKA_BROKERS: variable({
    doc: 'comma-separated `host:port` list',
    accepts: 'host:port list',
    required: 'is required: comma-separated host:port list, e.g. 127.0.0.1:19092',
    value: parsed((value) => {
      const list = value
        .split(',')
        .map((b) => b.trim())
        .filter((b) => b !== '');
      for (const b of list) {
        const port = Number(b.slice(b.lastIndexOf(':') + 1));
        if (!BROKER.test(b) || port < 1 || port > 65535)
          return bad(`must be a comma-separated host:port list, got "${b}"`);
      }
      return list.length === 0 ? bad('must list at least one host:port') : list;
    }),
  }),
  KAFKA_TOPIC: variable({
    doc: 'topic to publish to (created when missing)',
    accepts: 'Kafka topic name',
    default: 'md.ticks',
    value: parsed((topic) =>
      TOPIC.test(topic) && topic !== '.' && topic !== '..'
        ? topic
        : bad(`must be 1-249 characters of [A-Za-z0-9._-], got "${topic}"`),
    ),
  }),
  KAFKA_PARTITIONS: integer(1, 10000, {
    doc: 'partitions of the topic when the ingester creates it',
    default: 12,
  }),
  KAFKA_REPLICATION_FACTOR: integer(1, 100, {
    doc: 'replication factor when the ingester creates the topic',
    default: 1,
  }),
  KAFKA_ACKS: oneOf(['-1', 'all', '1', '0'], {
    doc: '`-1`/`all`, `1` or `0`; idempotent producer only with `-1`',
    default: '-1',
  }),
  KAFKA_COMPRESSION: oneOf(['none', 'gzip'], { doc: '`none` or `gzip`', default: 'none' }),
  KAFKA_PRODUCERS: integer(1, 64, {
    doc: 'producer lanes (kafkajs producers in worker threads when > 1), at most one per partition',
    default: 1,
  }),
  KAFKA_PRODUCED_AT_HEADER: boolean({
    doc: 'records carry the `produced-at` header (the record timestamp always carries the same time); it makes encoding about 1.5 times as expensive per record',
    default: true,
  }),
  KAFKA_CLIENT_ID: variable({
    doc: 'kafkajs client id',
    accepts: '1-100 of A-Z a-z 0-9 . _ -',
    default: 'tickhub-ingester',
    value: matching(/^[A-Za-z0-9._-]{1,100}$/, '1-100 characters of [A-Za-z0-9._-]'),
  }),
  TICK_RATE: integer(1, 10_000_000, {
    doc: 'simulated ticks per second in total (all symbols)',
    default: 2000,
  }),
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
  SIM_SEED: integer(0, 2 ** 32 - 1, {
    doc: 'seed of the simulated market (same seed, same ticks)',
    default: 42,
  }),
  SIM_SYMBOLS: integer(1, MAX_UNIVERSE_SIZE, {
    doc: 'number of simulated symbols',
    default: DEFAULT_UNIVERSE_SIZE,
  }),
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
  REPLAY_SPEED: decimal(0, 1_000_000, {
    doc: '`1` = recorded speed, `10` = ten times faster, `0` = as fast as Kafka takes them',
    default: 1,
  }),
  REPLAY_LOOP: boolean({
    doc: 'start over at the end of the file (seq and timestamps keep increasing)',
    default: false,
  }),
  REPLAY_TIMESTAMPS: oneOf(['now', 'recorded'], {
    doc: "`now`: `ts` is the wall-clock time of the replay; `recorded`: the file's timestamps",
    default: 'now',
  }),
  BATCH_MAX_MESSAGES: integer(1, 1_000_000, {
    doc: 'most records per batch (split over the lanes)',
    default: 1000,
  }),
  BATCH_LINGER_MS: integer(0, 10_000, { doc: 'longest wait for a batch to fill', default: 5 }),
  BUFFER_MAX_TICKS: integer(1, 10_000_000, {
    doc: 'ticks kept in order before folding per symbol',
    default: 200_000,
  }),
  INGESTER_HTTP_PORT: variable({
    doc: 'port of `/health/*` and `/metrics` (`0` = any free port, logged)',
    accepts: `integer ${HTTP_PORT.min}–${HTTP_PORT.max}`,
    defaultText: `METRICS_PORT, else ${HTTP_PORT.default}`,
    value: integerValue(HTTP_PORT.min, HTTP_PORT.max),
  }),
  METRICS_PORT: integer(HTTP_PORT.min, HTTP_PORT.max, {
    doc: 'the older name of `INGESTER_HTTP_PORT`, used when that is unset',
    default: HTTP_PORT.default,
  }),
  INGESTER_HTTP_HOST: variable({
    doc: 'address of that server: loopback, so a shared host does not expose it; the images set `0.0.0.0` for Prometheus',
    accepts: 'address',
    default: '127.0.0.1',
    value: parsed((value) => value),
  }),
  STARTUP_TIMEOUT_MS: integer(0, 3_600_000, {
    doc: 'how long to retry an unreachable broker at start',
    default: 30_000,
  }),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000, {
    doc: 'how long shutdown may spend flushing',
    default: 10_000,
  }),
  LOG_LEVEL: oneOf(['debug', 'info', 'warn', 'error'], {
    doc: '`debug`, `info`, `warn` or `error`',
    default: 'info',
  }),
} as const;

/** `node apps/ingester/dist/main.js --help`: every variable, its default and doc, and its value in `env`. */
export function ingesterHelp(env: Env): string {
  return formatHelp(
    'tickhub ingester (node apps/ingester/dist/main.js): a simulated market, or a CSV replay, published\n' +
      'to Kafka. Configured by the environment; exits 2 naming each variable to fix.',
    describeVariables(INGESTER_VARIABLES),
    env,
  );
}
