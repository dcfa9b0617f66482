// `npm run dev`: runs `turbo run dev [args]` in one of two modes.
//
// - services mode: with neither KAFKA_BROKERS nor REDIS_URL set and java, Maven (or cached Kafka
//   jars) and Redis available, starts a Kafka broker and finds or starts Redis, and passes them to
//   the apps, which then use the real Kafka and the Redis backplane;
// - environment mode: KAFKA_BROKERS and/or REDIS_URL are already set: they are passed through as-is;
// - embedded mode: otherwise (or with TICKHUB_EMBEDDED=1) the apps run without external services,
//   wired by their in-memory twins.
// Services started here are stopped when turbo exits or on Ctrl-C.
import { kafkaPrerequisites } from './kafka.mjs';
import { log, which } from './lib.mjs';
import { DEFAULT_REDIS_URL, redisAnswers } from './redis.mjs';
import { provideKafka, provideRedis, reportFailure, Supervisor } from './supervisor.mjs';

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
    let { mode, why } = await chooseMode();
    const env = { KAFKAJS_NO_PARTITIONER_WARNING: '1' };
    if (mode === 'services') {
      try {
        for (const service of await supervisor.provide([provideRedis, provideKafka])) {
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
    code = await supervisor.run('turbo', turboArgs, env);
  } catch (err) {
    if (!supervisor.signalled) reportFailure(err);
    code = supervisor.failureCode();
  }
  await supervisor.exit(code);
}

main();
