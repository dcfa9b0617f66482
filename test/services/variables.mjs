// The one list of environment variables the apps read, and what is made from it:
// - turbo.json's globalPassThroughEnv (`node test/services/variables.mjs --write-turbo`), so that
//   `turbo run dev` (strict env mode) hands every setting to the apps;
// - `npm run dev`'s warning about variables it does not know (a typo, or a setting of another tool).
// test/smoke/variables.test.ts checks that every variable an app's source reads is listed here and
// that turbo.json is up to date.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every variable each app reads (its README documents them). */
export const APP_VARIABLES = {
  gateway: [
    'PORT',
    'HOST',
    'GATEWAY_ID',
    'KAFKA_BROKERS',
    'KAFKA_TOPIC',
    'KAFKA_GROUP_ID',
    'KAFKA_CLIENT_ID',
    'KAFKA_FROM_BEGINNING',
    'KAFKA_SESSION_TIMEOUT_MS',
    'KAFKA_FETCH_MIN_BYTES',
    'KAFKA_FETCH_MAX_WAIT_MS',
    'KAFKA_STANDBY',
    'KAFKA_TAKEOVER_MS',
    'REDIS_URL',
    'REDIS_CLUSTER',
    'REDIS_KEY_PREFIX',
    'SIM_RATE',
    'SIM_SEED',
    'SIM_SYMBOLS',
    'SIM_WARMUP_SECONDS',
    'SIM_WARMUP_RATE',
    'CANDLE_FLUSH_MS',
    'MAX_SUBSCRIPTIONS',
    'MIN_HZ',
    'MAX_HZ',
    'DEFAULT_HZ',
    'MAX_INBOUND_PER_SEC',
    'MAX_PAYLOAD_BYTES',
    'HEARTBEAT_MS',
    'HIGH_WATER_MARK_BYTES',
    'SLOW_CONSUMER_TIMEOUT_MS',
    'COALESCE_MS',
    'ALLOWED_ORIGINS',
    'ENTITLED_SYMBOLS',
    'DRAIN_GRACE_MS',
    'LOG_LEVEL',
    'LOG_FORMAT',
    'DASHBOARD_DIR',
    'ABUSE_MAX_REJECTIONS',
    'ABUSE_WINDOW_MS',
    'AUTH_MODE',
    'AUTH_HS256_SECRET',
    'AUTH_JWKS_FILE',
    'AUTH_JWKS_URL',
    'AUTH_ISSUER',
    'AUTH_AUDIENCE',
    'AUTH_CLOCK_TOLERANCE_S',
    'AUTH_REQUIRE_EXP',
    'MAX_CONNECTIONS_PER_IP',
    'MAX_CONNECTIONS_PER_USER',
    'MAX_UPGRADES_PER_IP_PER_SEC',
    'HANDSHAKE_TIMEOUT_MS',
    'MAX_PENDING_NEGOTIATIONS_PER_IP',
    'MAX_PENDING_NEGOTIATIONS_PER_USER',
    'NEGOTIATE_TIMEOUT_MS',
    'MAX_HALF_OPEN_SOCKETS_PER_IP',
    'HEADERS_TIMEOUT_MS',
    'STATEFUL_RECONNECT_BUFFER_BYTES',
    'PUBLISH_ACCESS_KEY',
    'PUBLISH_ACCESS_KEY_SECONDARY',
    'PUBLISH_MAX_BODY_BYTES',
    'PUBLISH_KAFKA',
    'PUBLISH_KAFKA_TOPIC',
    'PUBLISH_KAFKA_PARTITIONS',
    'PUBLISH_KAFKA_REPLICATION_FACTOR',
  ],
  ingester: [
    'KAFKA_BROKERS',
    'KAFKA_CLIENT_ID',
    'KAFKA_TOPIC',
    'KAFKA_PARTITIONS',
    'KAFKA_REPLICATION_FACTOR',
    'KAFKA_ACKS',
    'KAFKA_COMPRESSION',
    'KAFKA_PRODUCERS',
    'KAFKA_PRODUCED_AT_HEADER',
    'TICK_RATE',
    'BURSTS',
    'SIM_SEED',
    'SIM_SYMBOLS',
    'SEQ_START',
    'REPLAY_FILE',
    'REPLAY_SPEED',
    'REPLAY_LOOP',
    'REPLAY_TIMESTAMPS',
    'BATCH_MAX_MESSAGES',
    'BATCH_LINGER_MS',
    'BUFFER_MAX_TICKS',
    'INGESTER_HTTP_PORT',
    'METRICS_PORT',
    'INGESTER_HTTP_HOST',
    'STARTUP_TIMEOUT_MS',
    'SHUTDOWN_TIMEOUT_MS',
    'LOG_LEVEL',
    'LOG_FORMAT',
    'BENCH_PHASES',
    'BENCH_KEEP_TOPIC',
  ],
  dashboard: ['DASHBOARD_DEV_PORT', 'TICKHUB_GATEWAY_URL'],
  /** `npm run dev` and the service launchers. */
  dev: [
    'TICKHUB_EMBEDDED',
    'TICKHUB_CACHE_DIR',
    'TICKHUB_KAFKA_PORT',
    'TICKHUB_KAFKA_CONTROLLER_PORT',
    'TICKHUB_REDIS_PORT',
    'TICKHUB_KAFKA_HEAP',
    'TICKHUB_DEBUG',
    'KAFKAJS_NO_PARTITIONER_WARNING',
  ],
};

/** What the tools around the apps need (turbo's strict mode hides everything else). */
const TOOL_VARIABLES = ['CI', 'HOME', 'PATH', 'JAVA_HOME'];

export function knownVariables() {
  return new Set([...Object.values(APP_VARIABLES).flat(), ...TOOL_VARIABLES]);
}

/** Prefixes of the apps' variables: an unknown variable with one of them is likely a typo. */
const OUR_PREFIXES =
  /^(TICKHUB_|PUBLISH_|CANDLE_|KAFKA_|REDIS_|AUTH_|SIM_|REPLAY_|INGESTER_|GATEWAY_|DASHBOARD_|MAX_|MIN_)/;

/** Variables of the environment that look like settings of ours but that no app reads. */
export function unknownVariables(env = process.env) {
  const known = knownVariables();
  return Object.keys(env)
    .filter((name) => OUR_PREFIXES.test(name) && !known.has(name))
    .sort();
}

/** turbo.json's globalPassThroughEnv, made from the list. */
export function turboPassThrough() {
  // TICKHUB_* stays a wildcard: test runs and tools may add their own without a change here.
  return [...new Set([...Object.values(APP_VARIABLES).flat(), ...TOOL_VARIABLES, 'TICKHUB_*'])].sort();
}

/** The variables each app's source reads: `(env, 'NAME'`, `env.NAME`, `process.env.NAME`. */
export function variablesReadBySource() {
  const found = {};
  for (const app of readdirSync(join(ROOT, 'apps'))) {
    const names = new Set();
    const files = [];
    const walk = (dir) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ts|mts|mjs)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) files.push(path);
      }
    };
    for (const dir of ['src']) {
      try {
        walk(join(ROOT, 'apps', app, dir));
      } catch {
        // An app without that folder.
      }
    }
    for (const extra of ['vite.config.ts', 'vite.config.mts']) {
      try {
        readFileSync(join(ROOT, 'apps', app, extra));
        files.push(join(ROOT, 'apps', app, extra));
      } catch {
        // No such config.
      }
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\(\s*env,\s*'([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]);
      for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]);
    }
    found[app] = [...names].sort();
  }
  return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = join(ROOT, 'turbo.json');
  const turbo = JSON.parse(readFileSync(path, 'utf8'));
  if (process.argv.includes('--write-turbo')) {
    turbo.globalPassThroughEnv = turboPassThrough();
    writeFileSync(path, `${JSON.stringify(turbo, null, 2)}\n`);
    console.log(`turbo.json: globalPassThroughEnv has ${turbo.globalPassThroughEnv.length} variables`);
  } else if (process.argv.includes('--check')) {
    const problems = [];
    for (const [app, names] of Object.entries(variablesReadBySource())) {
      const listed = new Set(APP_VARIABLES[app] ?? []);
      for (const name of names) {
        if (!listed.has(name))
          problems.push(`apps/${app} reads ${name}, which APP_VARIABLES.${app} does not list`);
      }
    }
    const expected = turboPassThrough();
    const actual = turbo.globalPassThroughEnv ?? [];
    if (JSON.stringify([...actual].sort()) !== JSON.stringify(expected)) {
      problems.push(
        'turbo.json globalPassThroughEnv is out of date: node test/services/variables.mjs --write-turbo',
      );
    }
    for (const problem of problems) console.error(problem);
    process.exitCode = problems.length ? 1 : 0;
  } else {
    for (const [app, names] of Object.entries(APP_VARIABLES)) console.log(`${app}: ${names.join(' ')}`);
  }
}
