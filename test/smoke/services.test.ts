// Talks to the real Kafka and Redis that `npm test` provides (test/services/with-services.mjs),
// proving the services answer and that KAFKA_BROKERS / REDIS_URL reach the tests through turbo.
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests through \`npm test\` at the repository root ` +
        `(node test/services/with-services.mjs) or export ${name}`,
    );
  }
  return value;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const run = randomUUID().slice(0, 8);

describe('Kafka from KAFKA_BROKERS', () => {
  let kafka: Kafka;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  const topic = `smoke.ticks.${run}`;

  beforeAll(() => {
    const brokers = requireEnv('KAFKA_BROKERS').split(',');
    kafka = new Kafka({ clientId: `smoke-${run}`, brokers, logLevel: logLevel.WARN });
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    if (kafka) {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('delivers keyed messages to a consumer group in order per key', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();

    const symbols = ['AAPL', 'MSFT', 'EURUSD', 'BTCUSD'];
    const sent = symbols.flatMap((symbol) =>
      Array.from({ length: 25 }, (_, seq) => ({ key: symbol, value: JSON.stringify({ symbol, seq }) })),
    );

    const received = new Map<string, number[]>();
    let count = 0;
    consumer = kafka.consumer({
      groupId: `smoke-${run}`,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      // A short fetch wait lets disconnect() return promptly instead of waiting out a long poll.
      maxWaitTimeInMs: 500,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const { symbol, seq } = JSON.parse(String(message.value)) as { symbol: string; seq: number };
        expect(String(message.key)).toBe(symbol);
        received.set(symbol, [...(received.get(symbol) ?? []), seq]);
        count++;
      },
    });

    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, messages: sent });

    await waitFor(() => count >= sent.length, 90_000, `${sent.length} messages on ${topic}`);
    expect(count).toBe(sent.length);
    for (const symbol of symbols) {
      expect(received.get(symbol)).toEqual(Array.from({ length: 25 }, (_, seq) => seq));
    }
  });
});

describe('Redis from REDIS_URL', () => {
  const clients: Redis[] = [];
  const prefix = `tickhub:smoke:${run}:`;
  const connect = (): Redis => {
    const client = new Redis(requireEnv('REDIS_URL'), { maxRetriesPerRequest: 2 });
    clients.push(client);
    return client;
  };

  afterAll(async () => {
    if (clients[0]) await clients[0].del(`${prefix}quote`);
    await Promise.all(clients.map((c) => c.quit()));
  });

  it('stores and reads back a value', async () => {
    const redis = connect();
    expect(await redis.set(`${prefix}quote`, '{"bid":1.1,"ask":1.2}', 'PX', 60_000)).toBe('OK');
    expect(await redis.get(`${prefix}quote`)).toBe('{"bid":1.1,"ask":1.2}');
    expect(await redis.get(`${prefix}missing`)).toBeNull();
  });

  it('delivers a PUBLISH to a SUBSCRIBEr of the channel only', async () => {
    const subscriber = connect();
    const publisher = connect();
    const channel = `${prefix}md.AAPL`;
    const other = `${prefix}md.MSFT`;
    const messages: Array<[string, string]> = [];
    subscriber.on('message', (ch: string, message: string) => messages.push([ch, message]));
    await subscriber.subscribe(channel);

    expect(await publisher.publish(other, 'not for us')).toBe(0);
    expect(await publisher.publish(channel, 'tick-1')).toBe(1);
    expect(await publisher.publish(channel, 'tick-2')).toBe(1);
    await waitFor(() => messages.length >= 2, 10_000, 'two backplane messages');
    expect(messages).toEqual([
      [channel, 'tick-1'],
      [channel, 'tick-2'],
    ]);
  });
});
