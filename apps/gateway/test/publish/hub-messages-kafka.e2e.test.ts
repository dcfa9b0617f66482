import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { HS256_SECRET, hs256Token } from '../support/auth';
import { metric, waitFor } from '../support/gateway';
import { HubListener } from '../support/hub-listener';

jest.setTimeout(180_000);

const brokers = process.env.KAFKA_BROKERS;
const REDIS_URL = process.env.REDIS_URL;
const run = `${Date.now()}-${randomBytes(3).toString('hex')}`;
const tickTopic = `test.publish.ticks.${run}`;
const hubTopic = `test.publish.hub-messages.${run}`;
let kafka: Kafka;
let producer: Producer;
const pods: GatewayProcess[] = [];
const listeners: HubListener[] = [];
const ACCESS_KEY = randomBytes(32).toString('base64');
const CLI = join(__dirname, '..', '..', 'dist', 'publish', 'cli.js');

beforeAll(async () => {
  if (!brokers) throw new Error('KAFKA_BROKERS is not set: this suite needs the broker');
  if (!REDIS_URL) throw new Error('REDIS_URL is not set: this suite needs a real Redis');
  kafka = new Kafka({
    clientId: `publish-e2e-${run}`,
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: tickTopic, numPartitions: 2, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const env = {
    KAFKA_BROKERS: brokers,
    KAFKA_TOPIC: tickTopic,
    KAFKA_GROUP_ID: `publish-e2e-${run}`,
    REDIS_URL,
    REDIS_KEY_PREFIX: `tickhub-publish-kafka-${run}:`,
    AUTH_MODE: 'hs256',
    AUTH_HS256_SECRET: HS256_SECRET,
    PUBLISH_KAFKA: 'true',
    PUBLISH_KAFKA_TOPIC: hubTopic,
    PUBLISH_KAFKA_PARTITIONS: '4',
    PUBLISH_ACCESS_KEY: ACCESS_KEY,
  };
  pods.push(
    ...(await Promise.all([
      startGateway({ ...env, GATEWAY_ID: 'hm-a' }),
      startGateway({ ...env, GATEWAY_ID: 'hm-b' }),
    ])),
  );
  // Records produced before a pod owns their partition would be skipped (the group starts at the end).
  await waitFor(
    () => pods.every((pod) => pod.logs.some((l) => l.includes('hub messages consumer joined'))),
    60_000,
    'both pods to join the hub messages group',
  );
  await waitForStableAssignment();
  producer = kafka.producer();
  await producer.connect();
  await warmUp();
});

/**
 * A new group starts each partition at its end once it fetches, which may be a moment after the group
 * is stable: a marker on every partition, sent again until each arrives, proves every partition is
 * being read, so no test record falls before a consumer's starting offset.
 */
async function warmUp(): Promise<void> {
  const [a] = pods as [GatewayProcess];
  const watcher = await listen(a, 'warm-up');
  const pending = new Set([0, 1, 2, 3]);
  for (let round = 0; pending.size > 0; round++) {
    if (round > 100) throw new Error(`partitions ${[...pending]} never delivered`);
    await producer.send({
      topic: hubTopic,
      messages: [...pending].map((partition) => ({
        partition,
        value: JSON.stringify({
          hub: 'chathub',
          to: { kind: 'user', id: 'warm-up' },
          target: 'Marker',
          arguments: [partition],
        }),
      })),
    });
    await new Promise((r) => setTimeout(r, 300));
    for (const args of watcher.of('Marker')) pending.delete(args[0] as number);
  }
}

afterAll(async () => {
  await Promise.all(listeners.map((l) => l.stop()));
  await Promise.all(pods.map((p) => p.stop()));
  await producer?.disconnect();
  if (kafka) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [tickTopic, hubTopic] }).catch(() => undefined);
    await admin.disconnect();
  }
});

/** Every partition of the topic has an owner in the group (the second join may have moved some). */
async function waitForStableAssignment(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let i = 0; i < 300; i++) {
      const group = await admin.describeGroups([`publish-e2e-${run}.hub-messages`]);
      const state = group.groups[0];
      if (state?.state === 'Stable' && state.members.length === 2) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the hub messages group did not settle with two members');
  } finally {
    await admin.disconnect();
  }
}

async function listen(pod: GatewayProcess, user: string): Promise<HubListener> {
  const listener = await HubListener.open(`${pod.http}/chathub`, { token: await hs256Token({ sub: user }) });
  listeners.push(listener);
  return listener;
}

const record = (key: string, value: unknown) => ({
  key,
  value: typeof value === 'string' ? value : JSON.stringify(value),
});

/** A broadcast behind `key`'s earlier records: once everyone has it, those were all routed. */
async function settle(key: string, everyone: HubListener[]): Promise<void> {
  const marker = randomBytes(6).toString('hex');
  await producer.send({
    topic: hubTopic,
    messages: [record(key, { hub: 'chathub', to: { kind: 'all' }, target: 'Marker', arguments: [marker] })],
  });
  await Promise.all(everyone.map((l) => l.waitFor('Marker', (args) => args[0] === marker)));
}

const sum = async (name: string, labels: string) =>
  (await Promise.all(pods.map((pod) => metric(pod.http, name, labels).catch(() => 0)))).reduce(
    (a, b) => a + b,
    0,
  );

describe('hub.messages', () => {
  it('routes a record once, to its user on both pods and nobody else', async () => {
    const [a, b] = pods as [GatewayProcess, GatewayProcess];
    const aliceA = await listen(a, 'alice');
    const aliceB = await listen(b, 'alice');
    const bob = await listen(b, 'bob');
    await producer.send({
      topic: hubTopic,
      messages: [
        record('alice', {
          hub: 'chathub',
          to: { kind: 'user', id: 'alice' },
          target: 'ReceiveMessage',
          arguments: ['desk', 'filled 100 AAPL'],
        }),
      ],
    });
    await settle('alice', [aliceA, aliceB, bob]);
    expect(aliceA.of('ReceiveMessage')).toEqual([['desk', 'filled 100 AAPL']]);
    expect(aliceB.of('ReceiveMessage')).toEqual([['desk', 'filled 100 AAPL']]);
    expect(bob.of('ReceiveMessage')).toEqual([]);
  });

  it('keeps the order of one key', async () => {
    const [a] = pods as [GatewayProcess];
    const carol = await listen(a, 'carol');
    const messages = Array.from({ length: 300 }, (_, i) =>
      record('carol', {
        hub: 'ChatHub',
        to: { kind: 'user', id: 'carol' },
        target: 'ReceiveMessage',
        arguments: ['seq', i],
      }),
    );
    for (let i = 0; i < messages.length; i += 50) {
      await producer.send({ topic: hubTopic, messages: messages.slice(i, i + 50) });
    }
    await carol.waitFor('ReceiveMessage', (args) => args[1] === 299);
    expect(carol.of('ReceiveMessage').map((args) => args[1])).toEqual(
      Array.from({ length: 300 }, (_, i) => i),
    );
  });

  it('counts and skips 10,000 malformed records, and the partition keeps flowing', async () => {
    const [, b] = pods as [GatewayProcess, GatewayProcess];
    const dave = await listen(b, 'dave');
    const before = await sum('tickhub_gateway_hub_messages_total', 'outcome="malformed"');
    const unknownBefore = await sum('tickhub_gateway_hub_messages_total', 'outcome="unknown_hub"');
    const bad: unknown[] = [
      'not json',
      '{"hub":',
      '[]',
      'null',
      { hub: 'chathub' },
      { hub: 'chathub', to: { kind: 'planet', id: 'x' }, target: 'T', arguments: [] },
      { hub: 'chathub', to: { kind: 'user' }, target: 'T', arguments: [] },
      { hub: 'chathub', to: { kind: 'all' }, target: '', arguments: [] },
      { hub: 'chathub', to: { kind: 'all' }, target: 'T', arguments: {} },
      { hub: 'chathub', to: { kind: 'all' }, target: 'T', arguments: [], excluded: 'x' },
    ];
    const batch = Array.from({ length: 10_000 }, (_, i) => record('dave', bad[i % bad.length]));
    for (let i = 0; i < batch.length; i += 1000) {
      await producer.send({ topic: hubTopic, messages: batch.slice(i, i + 1000) });
    }
    await producer.send({
      topic: hubTopic,
      messages: [
        { key: 'dave', value: null },
        record('dave', { hub: 'nohub', to: { kind: 'all' }, target: 'T', arguments: [] }),
        record('dave', {
          hub: 'chathub',
          to: { kind: 'user', id: 'dave' },
          target: 'ReceiveMessage',
          arguments: ['after', 'the flood'],
        }),
      ],
    });
    await dave.waitFor('ReceiveMessage', (args) => args[1] === 'the flood');
    expect(dave.of('ReceiveMessage')).toEqual([['after', 'the flood']]);
    expect((await sum('tickhub_gateway_hub_messages_total', 'outcome="malformed"')) - before).toBe(10_001);
    expect((await sum('tickhub_gateway_hub_messages_total', 'outcome="unknown_hub"')) - unknownBefore).toBe(
      1,
    );
    for (const pod of pods) expect(pod.proc.exitCode).toBeNull();
  });
});

describe('npm run publish', () => {
  it('sends one message through the REST API or through Kafka', async () => {
    const [a, b] = pods as [GatewayProcess, GatewayProcess];
    const erin = await listen(b, 'erin');
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, [CLI, ...args], {
        env: {
          ...process.env,
          KAFKA_BROKERS: brokers,
          PUBLISH_KAFKA_TOPIC: hubTopic,
          PUBLISH_ACCESS_KEY: '',
        },
      });
    const rest = await cli(
      '--user',
      'erin',
      '--target',
      'ReceiveMessage',
      '--args',
      '["cli","over rest"]',
      '--connection-string',
      `Endpoint=${a.http};AccessKey=${ACCESS_KEY};Version=1.0;`,
    );
    expect(rest.stdout).toContain('202 accepted');
    const viaKafka = await cli('--user', 'erin', '--args', '["cli","over kafka"]', '--via', 'kafka');
    expect(viaKafka.stdout).toContain(`produced to ${hubTopic}`);
    await erin.waitFor('ReceiveMessage', (args) => args[1] === 'over kafka');
    await erin.waitFor('ReceiveMessage', (args) => args[1] === 'over rest');
    const refused = cli(
      '--user',
      'erin',
      '--url',
      a.http,
      '--connection-string',
      `Endpoint=${a.http};AccessKey=${'x'.repeat(44)};Version=1.0;`,
    );
    await expect(refused).rejects.toMatchObject({ stderr: expect.stringContaining('401') });
  });

  it('runs the toy blotter: fills for its users as ReceiveEvent on the market hub, in order', async () => {
    const [a] = pods as [GatewayProcess];
    const token = await hs256Token({ sub: 'ivy' });
    const ivy = await HubListener.open(`${a.http}/hubs/market`, { token, targets: ['ReceiveEvent'] });
    listeners.push(ivy);
    await promisify(execFile)(
      process.execPath,
      [CLI, '--blotter', 'ivy', '--count', '3', '--interval-ms', '1', '--via', 'kafka'],
      { env: { ...process.env, KAFKA_BROKERS: brokers, PUBLISH_KAFKA_TOPIC: hubTopic } },
    );
    await ivy.waitFor('ReceiveEvent', (args) => (args[0] as { orderId: string }).orderId === 'o-3');
    expect(
      ivy.of('ReceiveEvent').map((args) => (args[0] as { type: string; orderId: string }).orderId),
    ).toEqual(['o-1', 'o-2', 'o-3']);
  });
});
