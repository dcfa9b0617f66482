// What reading the tick topic costs with kafkajs and nothing else: the floor under any gateway pod's
// no-client CPU on Kafka, next to which the gateway's own figure (run.mjs, `tickhub-kafka`, "server CPU
// (no clients)") can be read. The ingester publishes the simulated market at --rate ticks/s on a topic
// of its own; a consumer in this process (kafkajs, eachBatch counting records, no commit, no decode of
// the tick) reads it with the gateway's fetch settings, and its CPU comes from /proc/self/stat.
// A measurement, not a test: nothing is asserted. Needs KAFKA_BROKERS and a built ingester.
//   node test/bench/kafkajs-floor.mjs [--rate 10000] [--partitions 3] [--settle 12] [--seconds 15]
//     [--min-bytes 1] [--max-wait-ms 10] [--rounds 2]
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLog, createProcesses, newRunId, procCpuSeconds, sleep, stopChild } from './harness.mjs';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const rate = arg('rate', 10_000);
const partitions = arg('partitions', 3);
const settle = arg('settle', 12);
const seconds = arg('seconds', 15);
const minBytes = arg('min-bytes', 1);
const maxWaitTimeInMs = arg('max-wait-ms', 10);
const rounds = arg('rounds', 2);

if (!process.env.KAFKA_BROKERS) {
  console.error(
    'KAFKA_BROKERS is not set: start a broker (node test/services/kafka.mjs start) and pass its address',
  );
  process.exit(2);
}
const brokers = process.env.KAFKA_BROKERS.split(',');
const runId = newRunId();
const log = createLog('kafkajs-floor');
const { startNode } = createProcesses({ logDir: () => join(root, 'bench-results', runId) });
const topic = `bench.floor.${runId}`;

log(`ingester at ${rate} ticks/s on ${topic} (${partitions} partitions)`);
const ingester = startNode(
  join(root, 'apps', 'ingester', 'dist', 'main.js'),
  {
    KAFKA_TOPIC: topic,
    KAFKA_PARTITIONS: String(partitions),
    KAFKA_CLIENT_ID: `bench-floor-${runId}`,
    TICK_RATE: String(rate),
    SIM_SEED: '42',
    SIM_SYMBOLS: '200',
    INGESTER_HTTP_PORT: '0',
    INGESTER_HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
  },
  /"port":(\d+)/,
  60_000,
  'ingester',
);
await ingester.ready;

const kafka = new Kafka({ brokers, clientId: `bench-floor-${runId}`, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
// The ingester listens before its topic is made: wait until every partition has a leader.
for (let i = 0; ; i++) {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
  const ready = meta?.topics[0]?.partitions.filter((p) => p.leader >= 0).length ?? 0;
  if (ready === partitions) break;
  if (i === 120) throw new Error(`topic ${topic} has no ${partitions} partitions after 60 s`);
  await sleep(500);
}
const results = [];
for (let round = 1; round <= rounds; round++) {
  const consumer = kafka.consumer({ groupId: `bench-floor-${runId}-${round}`, minBytes, maxWaitTimeInMs });
  let records = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      records += batch.messages.length;
    },
  });
  await sleep(settle * 1000);
  const cpu0 = procCpuSeconds(process.pid);
  const records0 = records;
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const wall = (Date.now() - t0) / 1000;
  const percent = (100 * (procCpuSeconds(process.pid) - cpu0)) / wall;
  const perSec = (records - records0) / wall;
  await consumer.disconnect();
  results.push(percent);
  log(
    `round ${round}/${rounds}: ${percent.toFixed(1)}% of a core for ${Math.round(perSec)} records/s (minBytes ${minBytes}, maxWait ${maxWaitTimeInMs} ms)`,
  );
}
await stopChild(ingester.child);
await admin.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => undefined);
await admin.disconnect();
console.log(JSON.stringify({ rate, partitions, minBytes, maxWaitTimeInMs, seconds, cpuPercent: results }));
process.exit(0);
