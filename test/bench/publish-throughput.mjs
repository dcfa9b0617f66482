// Throughput of the server publish API through two gateway pods joined by Redis: REST sends per
// second (accepted and delivered), and hub.messages records per second delivered from Kafka.
// Usage: REDIS_URL=… KAFKA_BROKERS=… node test/bench/publish-throughput.mjs [--clients N] [--messages M] [--concurrency C]
// Needs a build (npx turbo run build --filter=@tickhub/gateway...). A measurement, not a test.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'apps', 'gateway', 'package.json'));
const signalR = require('@microsoft/signalr');
const { Kafka, logLevel } = require('kafkajs');
const { signPublishToken } = require(join(root, 'apps/gateway/dist/publish/publish-token.js'));

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    messages: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '32' },
  },
});
const CLIENTS = Number(values.clients);
const MESSAGES = Number(values.messages);
const CONCURRENCY = Number(values.concurrency);
const { REDIS_URL, KAFKA_BROKERS } = process.env;
if (!REDIS_URL || !KAFKA_BROKERS) throw new Error('REDIS_URL and KAFKA_BROKERS are needed');

const run = `${Date.now()}-${randomBytes(3).toString('hex')}`;
const KEY = randomBytes(32).toString('base64');
const HS256 = randomBytes(32).toString('base64');
const ticksTopic = `bench.publish.ticks.${run}`;
const hubTopic = `bench.publish.hub-messages.${run}`;
const kafka = new Kafka({
  clientId: `bench-${run}`,
  brokers: KAFKA_BROKERS.split(','),
  logLevel: logLevel.NOTHING,
});

/** Every gateway process started, stopped on the way out whatever happens. */
const started = [];

function spawnPod(id) {
  const proc = spawn(process.execPath, [join(root, 'apps/gateway/dist/main.js')], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      GATEWAY_ID: id,
      LOG_LEVEL: 'info',
      KAFKA_TOPIC: ticksTopic,
      KAFKA_GROUP_ID: `bench-${run}`,
      REDIS_KEY_PREFIX: `bench-publish-${run}:`,
      AUTH_MODE: 'hs256',
      AUTH_HS256_SECRET: HS256,
      PUBLISH_ACCESS_KEY: KEY,
      PUBLISH_KAFKA: 'true',
      PUBLISH_KAFKA_TOPIC: hubTopic,
      PUBLISH_KAFKA_PARTITIONS: '4',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.push(proc);
  return new Promise((resolvePod, reject) => {
    const timer = setTimeout(() => reject(new Error(`pod ${id} not ready within 60 s`)), 60_000);
    let port = 0;
    let joined = false;
    let buffered = '';
    proc.stdout.on('data', (chunk) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.includes('"msg":"listening"')) port = JSON.parse(line).port;
        if (line.includes('hub messages consumer joined')) joined = true;
        if (port && joined) {
          clearTimeout(timer);
          resolvePod({ proc, http: `http://127.0.0.1:${port}` });
        }
      }
    });
    proc.once('exit', (code) => reject(new Error(`pod ${id} exited with ${code}`)));
  });
}

function hs256(sub) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  const { createHmac } = require('node:crypto');
  return `${input}.${createHmac('sha256', HS256).update(input).digest('base64url')}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const admin = kafka.admin();
const connections = [];
let producer;

async function main() {
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: ticksTopic, numPartitions: 2 }], waitForLeaders: true });
  const pods = [await spawnPod('bench-a'), await spawnPod('bench-b')];
  let delivered = 0;
  for (let i = 0; i < CLIENTS; i++) {
    const pod = pods[i % 2];
    const token = hs256(`u${i}`);
    const c = new signalR.HubConnectionBuilder()
      .withUrl(`${pod.http}/chathub`, {
        accessTokenFactory: () => token,
        transport: signalR.HttpTransportType.WebSockets,
      })
      .configureLogging(signalR.LogLevel.None)
      .build();
    c.on('ReceiveMessage', () => delivered++);
    await c.start();
    connections.push(c);
  }
  const until = async (count) => {
    const deadline = Date.now() + 120_000;
    while (delivered < count && Date.now() < deadline) await sleep(5);
  };

  // REST: CONCURRENCY requests in flight, round robin over the users, half through each pod.
  let next = 0;
  let accepted = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < MESSAGES) {
        const i = next++;
        const url = `${pods[i % 2].http}/api/v1/hubs/chathub/users/u${i % CLIENTS}`;
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${signPublishToken(url, KEY, 60)}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ target: 'ReceiveMessage', arguments: ['bench', i] }),
        });
        await res.arrayBuffer();
        if (res.status === 202) accepted++;
      }
    }),
  );
  const tAccepted = performance.now();
  await until(MESSAGES);
  const tRest = performance.now();
  const restDelivered = delivered;

  // Kafka: MESSAGES records keyed by user, produced in batches of 500.
  delivered = 0;
  producer = kafka.producer();
  await producer.connect();
  const t1 = performance.now();
  for (let i = 0; i < MESSAGES; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(MESSAGES, i + 500); j++) {
      const user = `u${j % CLIENTS}`;
      batch.push({
        key: `user:${user}`,
        value: JSON.stringify({
          hub: 'chathub',
          to: { kind: 'user', id: user },
          target: 'ReceiveMessage',
          arguments: ['bench', j],
        }),
      });
    }
    await producer.send({ topic: hubTopic, messages: batch });
  }
  await until(MESSAGES);
  const tKafka = performance.now();

  const rate = (n, ms) => Math.round((n / ms) * 1000);
  console.log(
    `clients ${CLIENTS} on 2 pods (Redis backplane), ${MESSAGES} messages per path, REST concurrency ${CONCURRENCY}`,
  );
  console.log(
    `REST  accepted ${accepted} (${rate(accepted, tAccepted - t0)} sends/s), delivered ${restDelivered} (${rate(restDelivered, tRest - t0)} msg/s end to end)`,
  );
  console.log(
    `Kafka delivered ${delivered} (${rate(delivered, tKafka - t1)} msg/s end to end, produce included)`,
  );

  if (restDelivered < MESSAGES || delivered < MESSAGES) {
    console.log('some messages were not delivered within 120 s: the rates above count only those that were');
  }
}

/** Stops what main started, whether it finished or failed. */
async function cleanUp() {
  await producer?.disconnect().catch(() => undefined);
  await Promise.all(connections.map((c) => c.stop().catch(() => undefined)));
  for (const proc of started) if (proc.exitCode === null) proc.kill('SIGTERM');
  await admin.deleteTopics({ topics: [ticksTopic, hubTopic] }).catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
}

main()
  .then(
    () => 0,
    (error) => {
      console.error(error);
      return 1;
    },
  )
  .then(async (code) => {
    await cleanUp();
    process.exit(code);
  });
