import { randomBytes } from 'node:crypto';
import { createUniverse } from '@tickhub/market-sim';
import { encodeTickRecord, type Quote } from '@tickhub/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { FETCH_STALE_MS, KafkaTickSource } from '../../src/core/kafka-tick-source';
import { SimTickSource } from '../../src/core/sim-tick-source';
import { quote } from '../support/core';
import { tickSourceContract, waitFor } from '../support/tick-source-contract';

tickSourceContract('SimTickSource', async () => ({
  source: new SimTickSource({ symbols: createUniverse(50), seed: 7, ratePerSec: 2000 }),
  feed: async () => undefined,
  expected: 200,
  cleanup: async () => undefined,
}));

tickSourceContract(
  'KafkaTickSource (real broker)',
  async () => {
    const brokers = process.env.KAFKA_BROKERS;
    if (!brokers) throw new Error('KAFKA_BROKERS is not set: this test needs the Kafka broker');
    const run = `${Date.now()}-${randomBytes(3).toString('hex')}`;
    const topic = `test.gateway.ticks.${run}`;
    const kafka = new Kafka({
      clientId: `gateway-test-${run}`,
      brokers: brokers.split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const producer = kafka.producer();
    await producer.connect();
    const source = new KafkaTickSource({
      brokers: brokers.split(','),
      topic,
      groupId: `gateway-test-${run}`,
      clientId: `gateway-test-${run}`,
      fromBeginning: true,
    });
    return {
      source,
      expected: 60,
      feed: async () => {
        const quotes: Quote[] = [];
        for (let seq = 1; seq <= 12; seq++) {
          for (const s of ['AAPL', 'MSFT', 'EURUSD', 'BTCUSD', 'NVDA']) quotes.push(quote(s, seq));
        }
        await producer.send({
          topic,
          messages: [
            ...quotes.map((q) => ({ key: q.symbol, value: encodeTickRecord(q) })),
            // A record that does not decode is skipped, never delivered.
            { key: 'AAPL', value: Buffer.from('not a tick record') },
          ],
        });
      },
      cleanup: async () => {
        await producer.disconnect();
        await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
        await admin.disconnect();
      },
    };
  },
  90_000,
);

describe('KafkaTickSource health (real broker)', () => {
  it('a quiet topic is no outage: the source stays healthy with nothing to read, with or without partitions', async () => {
    const brokers = process.env.KAFKA_BROKERS;
    if (!brokers) throw new Error('KAFKA_BROKERS is not set: this test needs the Kafka broker');
    const run = `${Date.now()}-${randomBytes(3).toString('hex')}`;
    const topic = `test.gateway.quiet.${run}`;
    const admin = new Kafka({
      clientId: `quiet-${run}`,
      brokers: brokers.split(','),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const source = new KafkaTickSource({
      brokers: brokers.split(','),
      topic,
      groupId: `quiet-${run}`,
      clientId: `quiet-${run}`,
    });
    try {
      await source.start({ onTicks: () => undefined });
      // Longer than the staleness bound: only the broker's answers to empty fetches keep it healthy.
      const until = Date.now() + FETCH_STALE_MS * 2;
      const problems: string[] = [];
      while (Date.now() < until) {
        const problem = source.problem(Date.now());
        if (problem) problems.push(problem);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(problems).toEqual([]);
      expect(source.partitionStates().map((p) => p.partition)).toEqual([0, 1]);
      // With three members and two partitions one member gets none: it is healthy too, on heartbeats
      // alone (kafkajs asks the broker nothing for it).
      const more = ['b', 'c'].map(
        (name) =>
          new KafkaTickSource({
            brokers: brokers.split(','),
            topic,
            groupId: `quiet-${run}`,
            clientId: `quiet-${name}-${run}`,
          }),
      );
      try {
        for (const m of more) await m.start({ onTicks: () => undefined });
        await waitFor(
          () =>
            [source, ...more].filter((m) => m.partitions().length === 0).length === 1 &&
            [source, ...more].every((m) => m.problem(Date.now()) === undefined),
          30_000,
          'three members, one without partitions',
        );
        const empty = [source, ...more].find((m) => m.partitions().length === 0)!;
        const idleUntil = Date.now() + FETCH_STALE_MS * 2;
        while (Date.now() < idleUntil) {
          const problem = empty.problem(Date.now());
          if (problem) problems.push(problem);
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(problems).toEqual([]);
      } finally {
        for (const m of more) await m.stop();
      }
      expect(source.lag()).toBe(0);
    } finally {
      await source.stop();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
    expect(source.problem(Date.now())).toBe('consumer not started');
  }, 60_000);
});
