import { randomBytes } from 'node:crypto';
import { createUniverse } from '@tickhub/market-sim';
import { encodeTickRecord, type Quote } from '@tickhub/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { FETCH_STALE_MS, KafkaTickSource } from '../../src/core/kafka-tick-source';
import { SimTickSource } from '../../src/core/sim-tick-source';
import { quote } from '../support/core';
import { createTestTopic } from '../support/kafka';
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
    const { brokers, topic, run, producer, remove } = await createTestTopic('ticks', 3);
    const source = new KafkaTickSource({
      brokers,
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
      cleanup: remove,
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

describe('KafkaTickSource standby on the primary’s pod (real broker)', () => {
  it('pauses what its primary reads, and takes it over from the primary’s position when the primary stops', async () => {
    const { brokers, topic, run, producer, remove } = await createTestTopic('standby', 3);
    const symbols = ['AAPL', 'MSFT', 'EURUSD', 'BTCUSD', 'NVDA', 'TSLA'];
    let seq = 0;
    const produce = async (rounds: number) => {
      const quotes: Quote[] = [];
      for (let i = 0; i < rounds; i++) {
        seq++;
        for (const s of symbols) quotes.push(quote(s, seq));
      }
      await producer.send({
        topic,
        messages: quotes.map((q) => ({ key: q.symbol, value: encodeTickRecord(q) })),
      });
    };
    const options = { brokers, topic, fromBeginning: true };
    const primary = new KafkaTickSource({
      ...options,
      groupId: `primary-${run}`,
      clientId: `primary-${run}`,
    });
    const standby = new KafkaTickSource({
      ...options,
      groupId: `standby-${run}`,
      clientId: `standby-${run}`,
      samePodPrimary: primary,
    });
    const byPrimary: number[] = [];
    const byStandby: number[] = [];
    try {
      await primary.start({ onTicks: (ticks) => byPrimary.push(...ticks.map((t) => t.seq)) });
      await produce(50);
      await waitFor(
        () => byPrimary.length === 50 * symbols.length,
        30_000,
        'the primary reading the first ticks',
      );
      await standby.start({ onTicks: (ticks) => byStandby.push(...ticks.map((t) => t.seq)) });
      await waitFor(
        () => standby.pausedPartitions().length === 3,
        30_000,
        'the standby pausing all 3 partitions',
      );
      await produce(50);
      await waitFor(
        () => byPrimary.length === 100 * symbols.length,
        30_000,
        'the primary reading the next ticks',
      );
      // Give the standby time to fetch, were it fetching: it reads nothing while the primary does (a
      // record or two fetched before the pause took effect are skipped undecoded).
      await new Promise((r) => setTimeout(r, 1500));
      expect(byStandby).toEqual([]);
      expect(standby.problem(Date.now())).toBeUndefined();

      // The primary leaves (a drain): the standby resumes every partition from where the primary got to,
      // so it reads the new ticks and none of the hundred rounds the primary already read.
      const readByPrimary = byPrimary.length;
      await primary.stop();
      expect(standby.pausedPartitions()).toEqual([]);
      await produce(20);
      await waitFor(
        () => byStandby.length === 20 * symbols.length,
        30_000,
        'the standby reading the new ticks',
      );
      expect(Math.min(...byStandby)).toBe(101);
      expect(byPrimary.length).toBe(readByPrimary);
    } finally {
      await primary.stop();
      await standby.stop();
      await remove();
    }
  }, 120_000);
});
