// `npm run dev`: runs `turbo run dev [args]` in one of two modes.
//
// - services mode: with neither KAFKA_BROKERS nor REDIS_URL set and java, Maven (or cached Kafka
//   jars) and Redis available, starts a Kafka broker and finds or starts Redis, and passes them to
//   the apps, which then use the real Kafka and the Redis backplane;
// - environment mode: KAFKA_BROKERS and/or REDIS_URL are already set: they are passed through as-is;
// - embedded mode: otherwise (or with TICKHUB_EMBEDDED=1) the apps run without external services,
//   wired by their in-memory twins.
// Services started here are stopped when turbo exits or on Ctrl-C. Every variable the apps read reaches
// them (turbo.json's globalPassThroughEnv comes from the apps' schemas, test/services/variables.mjs); one that looks like a
// setting of ours but that no app reads is warned about. TICKHUB_KAFKA_PORT (and
// TICKHUB_KAFKA_CONTROLLER_PORT) and TICKHUB_REDIS_PORT pin the ports of the services started here.
import { kafkaPrerequisites } from './kafka.mjs';
import { log, which } from './lib.mjs';
import { DEFAULT_REDIS_URL, redisAnswers } from './redis.mjs';
import { provideKafka, provideRedis, reportFailure, Supervisor } from './supervisor.mjs';
import { unknownVariables } from './variables.mjs';

/** A port from a variable, or undefined; a bad value stops `npm run dev` with the variable's name. */
function portOf(name) {
  const raw = process.env[name]?.trim();
  if (!raw) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name} must be a port number (1-65535), got ${JSON.stringify(raw)}`);
  }
  return port;
}

/** The lines of one block saying what runs where, with the settings this run uses. */
function summary(env) {
  const value = (name, fallback) => env[name] ?? process.env[name] ?? fallback;
  const gatewayPort = value('PORT', '8080');
  const gatewayHost = value('HOST', '0.0.0.0');
  const host = gatewayHost === '0.0.0.0' ? 'localhost' : gatewayHost;
  const ingesterHost = value('INGESTER_HTTP_HOST', '127.0.0.1');
  const lines = [
    `gateway     http://${host}:${gatewayPort}   (WebSocket ws://${host}:${gatewayPort}/ws, SignalR /hubs/market, /metrics)`,
    `dashboard   http://localhost:${value('DASHBOARD_DEV_PORT', '5173')}   (Vite, live reload; proxies to ${value('TICKHUB_GATEWAY_URL')})`,
    `kafka       ${value('KAFKA_BROKERS', '(none: embedded simulator)')}`,
    `redis       ${value('REDIS_URL', '(none: in-memory backplane)')}`,
  ];
  if (value('KAFKA_BROKERS')) {
    lines.push(
      `ingester    http://${ingesterHost}:${value('INGESTER_HTTP_PORT', value('METRICS_PORT', '9464'))}/metrics`,
    );
  }
  return lines.map((line) => `dev:   ${line}`);
}

async function chooseMode() {
  if (process.env.TICKHUB_EMBEDDED === '1') return { mode: 'embedded', why: 'TICKHUB_EMBEDDED=1' };
  const set = ['KAFKA_BROKERS', 'REDIS_URL'].filter((name) => process.env[name]);
  if (set.length) return { mode: 'environment', why: `${set.join(' and ')} set in the environment` };
  const missing = kafkaPrerequisites();
  if (!which('redis-server') && !(await redisAnswers(DEFAULT_REDIS_URL, 1000))) {
    missing.push(`redis-server (on PATH, or a Redis answering at ${DEFAULT_REDIS_URL})`);
  }
  if (missing.length) return { mode: 'embedded', why: `missing ${missing.join(', ')}` };
  return { mode: 'services', why: 'java, Kafka jars and Redis available' };
}

async function main() {
  const supervisor = new Supervisor();
  const turboArgs = ['run', 'dev', ...process.argv.slice(2)];
  let code = 1;
  try {
    for (const name of unknownVariables()) {
      log(`dev: warning: ${name} is set but no app reads it (a typo? npm run config lists them)`);
    }
    const kafkaPort = portOf('TICKHUB_KAFKA_PORT');
    const controllerPort = portOf('TICKHUB_KAFKA_CONTROLLER_PORT');
    const redisPort = portOf('TICKHUB_REDIS_PORT');
    let { mode, why } = await chooseMode();
    const env = { KAFKAJS_NO_PARTITIONER_WARNING: '1' };
    // The dashboard's dev server follows the gateway wherever PORT puts it.
    if (!process.env.TICKHUB_GATEWAY_URL)
      env.TICKHUB_GATEWAY_URL = `http://localhost:${process.env.PORT || 8080}`;
    if (mode === 'services') {
      try {
        const providers = [
          (o) => provideRedis({ ...o, port: redisPort }),
          (o) => provideKafka({ ...o, port: kafkaPort, controllerPort }),
        ];
        for (const service of await supervisor.provide(providers)) {
          if (service.brokers) env.KAFKA_BROKERS = service.brokers;
          if (service.url) env.REDIS_URL = service.url;
        }
      } catch (err) {
        if (supervisor.signalled) throw err;
        reportFailure(err);
        mode = 'embedded';
        why = 'starting the services failed (see above)';
      }
    }
    if (mode === 'embedded') {
      // Make sure the apps do not pick up half a configuration.
      env.KAFKA_BROKERS = undefined;
      env.REDIS_URL = undefined;
    }
    const detail =
      mode === 'embedded'
        ? 'apps run without Kafka and Redis (in-memory tick source and backplane)'
        : `KAFKA_BROKERS=${env.KAFKA_BROKERS ?? process.env.KAFKA_BROKERS ?? '(unset)'} REDIS_URL=${env.REDIS_URL ?? process.env.REDIS_URL ?? '(unset)'}`;
    log(`dev: ${mode} mode (${why}): ${detail}`);
    for (const line of summary(env)) log(line);
    code = await supervisor.run('turbo', turboArgs, env);
  } catch (err) {
    if (!supervisor.signalled) reportFailure(err);
    code = supervisor.failureCode();
  }
  await supervisor.exit(code);
}

main();
