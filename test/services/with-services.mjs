// Runs a command with real Kafka and Redis available, e.g. the root `npm test`:
//
//   node test/services/with-services.mjs [--no-kafka] [--no-redis] -- turbo run test --concurrency=2
//
// Kafka: KAFKA_BROKERS if it answers, else a broker started by kafka.mjs.
// Redis: REDIS_URL if it answers, else redis://127.0.0.1:6379, else a redis-server started by redis.mjs.
// The command gets KAFKA_BROKERS and REDIS_URL in its environment; its exit code becomes ours.
// Services started here are stopped when the command ends, fails, or this process gets
// SIGINT/SIGTERM/SIGHUP (and by a watchdog if this process is killed outright).
import { log, ServiceError } from './lib.mjs';
import { provideKafka, provideRedis, reportFailure, Supervisor } from './supervisor.mjs';

function parseArgs(argv) {
  const sep = argv.indexOf('--');
  const options = sep === -1 ? [] : argv.slice(0, sep);
  const command = sep === -1 ? argv : argv.slice(sep + 1);
  const opts = { kafka: true, redis: true };
  for (const option of options) {
    if (option === '--no-kafka') opts.kafka = false;
    else if (option === '--no-redis') opts.redis = false;
    else throw new ServiceError(`unknown option ${option} (options: --no-kafka, --no-redis)`);
  }
  if (command.length === 0) {
    throw new ServiceError(
      'usage: node test/services/with-services.mjs [--no-kafka] [--no-redis] -- <command> [args...]',
    );
  }
  return { ...opts, command };
}

async function main() {
  const supervisor = new Supervisor();
  let code = 1;
  try {
    const opts = parseArgs(process.argv.slice(2));
    const providers = [];
    if (opts.redis) providers.push(provideRedis);
    if (opts.kafka) providers.push(provideKafka);
    const env = { KAFKAJS_NO_PARTITIONER_WARNING: '1' };
    for (const service of await supervisor.provide(providers)) {
      if (service.brokers) env.KAFKA_BROKERS = service.brokers;
      if (service.url) env.REDIS_URL = service.url;
    }
    const [command, ...args] = opts.command;
    code = await supervisor.run(command, args, env);
  } catch (err) {
    if (!supervisor.signalled) reportFailure(err);
    else log(err.message);
    code = supervisor.failureCode();
  }
  await supervisor.exit(code);
}

main();
