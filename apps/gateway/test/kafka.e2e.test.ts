import { randomBytes } from 'node:crypto';
import { encodeTickRecord, type Quote } from '@tickhub/protocol';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { quote } from './support/core';
import { Client, metric, waitFor } from './support/gateway';

jest.setTimeout(120_000);

const brokers = process.env.KAFKA_BROKERS;
const run = `${Date.now()}-${randomBytes(3).toString('hex')}`;
const topic = `test.gateway.e2e.${run}`;
let kafka: Kafka;
let producer: Producer;
let gw: GatewayProcess | undefined;

beforeAll(async () => {
  if (!brokers) throw new Error('KAFKA_BROKERS is not set: the Kafka end-to-end test needs the broker');
  kafka = new Kafka({
    clientId: `gateway-e2e-${run}`,
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  producer = kafka.producer();
  await producer.connect();
});

afterAll(async () => {
  await gw?.stop();
  await producer?.disconnect();
  if (kafka) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});

describe('Kafka mode', () => {
  it('delivers tick records produced to the topic: snapshot, then throttled updates in seq order', async () => {
    gw = await startGateway({
      KAFKA_BROKERS: brokers!,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: `gateway-e2e-${run}`,
    });
    const ready = (await (await fetch(`${gw.http}/health/ready`)).json()) as { tickSource: { kind: string } };
    expect(ready.tickSource.kind).toBe('kafka');
    expect(gw.logs.some((l) => l.includes('"mode":"kafka"'))).toBe(true);

    const c = await Client.open(gw.ws);
    c.send({ type: 'subscribe', id: 'k', symbols: ['AAPL', 'MSFT'], maxHz: 5 });
    // Nothing was produced yet: subscribed, but no snapshot.
    expect(await c.next((m) => m.type === 'subscribed')).toMatchObject({ symbols: ['AAPL', 'MSFT'] });

    let seq = 0;
    const produced: Quote[] = [];
    const produce = async (count: number) => {
      const batch: Quote[] = [];
      for (let i = 0; i < count; i++) {
        seq++;
        batch.push(quote('AAPL', seq, { volume: seq * 100 }));
        batch.push(quote('MSFT', seq));
      }
      produced.push(...batch);
      await producer.send({
        topic,
        messages: batch.map((q) => ({ key: q.symbol, value: encodeTickRecord(q) })),
      });
    };
    // The group may still be settling on its first offsets: produce until updates flow.
    const deadline = Date.now() + 60_000;
    while (c.updates().filter((x) => x.u.symbol === 'AAPL').length < 2) {
      if (Date.now() > deadline) throw new Error(`no updates from Kafka:\n${gw.logs.slice(-20).join('\n')}`);
      await produce(5);
      await new Promise((r) => setTimeout(r, 100));
    }
    // A burst, then silence: the final state must arrive, with n counting the folded ticks.
    await produce(200);
    const last = seq;
    await waitFor(
      () => c.updates().some((x) => x.u.symbol === 'AAPL' && x.u.seq === last),
      30_000,
      'the last AAPL state',
    );
    const aapl = c.updates().filter((x) => x.u.symbol === 'AAPL');
    for (let i = 1; i < aapl.length; i++) expect(aapl[i]!.u.seq).toBeGreaterThan(aapl[i - 1]!.u.seq);
    expect(aapl.at(-1)!.u.volume).toBe(last * 100);
    expect(aapl.some((x) => x.u.n > 1)).toBe(true);

    // A new subscriber gets the latest state as a snapshot.
    const late = await Client.open(gw.ws);
    late.send({ type: 'subscribe', symbols: ['AAPL'] });
    const snap = await late.next((m) => m.type === 'snapshot');
    expect(snap).toMatchObject({ symbol: 'AAPL', seq: last });
    expect(await metric(gw.http, 'tickhub_gateway_source_ticks_total')).toBeGreaterThanOrEqual(
      produced.length - 20,
    );
    // Everything produced was consumed: no lag left on the owned partitions.
    const lagDeadline = Date.now() + 15_000;
    while ((await metric(gw.http, 'tickhub_gateway_kafka_lag')) !== 0) {
      if (Date.now() > lagDeadline) throw new Error('kafka lag never reached 0');
      await new Promise((r) => setTimeout(r, 200));
    }
    // A lone pod is also the standby owner of every partition: its standby group leaves them paused to
    // the primary, which reads them, instead of fetching and decoding every tick a second time.
    const pausedDeadline = Date.now() + 15_000;
    while ((await metric(gw.http, 'tickhub_gateway_standby_partitions_paused')) !== 3) {
      if (Date.now() > pausedDeadline) throw new Error('the standby group never paused the 3 partitions');
      await new Promise((r) => setTimeout(r, 200));
    }
    c.close();
    late.close();
  });
});
