import { randomBytes } from 'node:crypto';
import { createUniverse } from '@tickhub/market-sim';
import { encodeTickRecord, type Quote } from '@tickhub/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { quote } from '../../test/support/core';
import { tickSourceContract } from '../../test/support/tick-source-contract';
import { KafkaTickSource } from './kafka-tick-source';
import { SimTickSource } from './sim-tick-source';

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
