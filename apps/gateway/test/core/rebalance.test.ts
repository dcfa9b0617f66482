import { randomBytes } from 'node:crypto';
import { MemoryBackplane, MemoryBus } from '@tickhub/backplane';
import { DEFAULT_LIMITS, encodeTickRecord, type Quote } from '@tickhub/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { realClock } from '../../src/core/clock';
import { EdgeStage, type SessionSink } from '../../src/core/edge-stage';
import { frameTicks, jsonUpdateEncoding } from '../../src/core/encodings';
import { KafkaTickSource } from '../../src/core/kafka-tick-source';
import { SourceStage } from '../../src/core/source-stage';
import { quote } from '../support/core';
import { waitFor } from '../support/tick-source-contract';

jest.setTimeout(150_000);

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'EURUSD', 'BTCUSD', 'GOOGL', 'META'];

/** Two pods of one consumer group: partitions move between them while ticks flow. */
describe('source stage across Kafka partition moves (real broker)', () => {
  it('never sends seq backwards to clients and the final state arrives after partitions move', async () => {
    const brokers = process.env.KAFKA_BROKERS;
    if (!brokers) throw new Error('KAFKA_BROKERS is not set: this test needs the Kafka broker');
    const run = `${Date.now()}-${randomBytes(3).toString('hex')}`;
    const topic = `test.gateway.rebalance.${run}`;
    const kafka = new Kafka({
      clientId: `rebalance-${run}`,
      brokers: brokers.split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 4, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const producer = kafka.producer();
    await producer.connect();

    const bus = new MemoryBus();
    const pod = (id: string) => {
      const backplane = new MemoryBackplane({ podId: id, bus });
      const source = new KafkaTickSource({
        brokers: brokers.split(','),
        topic,
        groupId: `rebalance-${run}`,
        clientId: `${id}-${run}`,
        fromBeginning: true,
      });
      const stage = new SourceStage({ backplane, clock: realClock, maxHz: 50 });
      return { backplane, source, stage };
    };
    const a = pod('pod-a');
    const b = pod('pod-b');
    const edgeBackplane = new MemoryBackplane({ podId: 'pod-edge', bus });
    await Promise.all([a.backplane.connect(), b.backplane.connect(), edgeBackplane.connect()]);
    const edge = new EdgeStage({ backplane: edgeBackplane, clock: realClock, isKnownSymbol: () => true });
    const seen: Array<{ symbol: string; seq: number }> = [];
    const sink: SessionSink = {
      encoding: jsonUpdateEncoding,
      writeSnapshot: (q) => seen.push({ symbol: q.symbol, seq: q.seq }),
      writeTicks: (list) => {
        const frame = JSON.parse(frameTicks(jsonUpdateEncoding, list).toString()) as { updates: Quote[] };
        for (const u of frame.updates) seen.push({ symbol: u.symbol, seq: u.seq });
      },
      bufferedBytes: () => 0,
      close: () => undefined,
    };
    edge.openSession(sink, { limits: DEFAULT_LIMITS }).subscribe(SYMBOLS, 50);

    let seq = 0;
    let producing = true;
    const producing$ = (async () => {
      while (producing) {
        seq++;
        const batch = SYMBOLS.map((s) => quote(s, seq));
        await producer.send({
          topic,
          messages: batch.map((q) => ({ key: q.symbol, value: encodeTickRecord(q) })),
        });
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const lastSeen = (symbol: string) => seen.filter((e) => e.symbol === symbol).at(-1)?.seq ?? 0;
    const allBeyond = (s: number) => SYMBOLS.every((symbol) => lastSeen(symbol) > s);

    try {
      await a.source.start(a.stage);
      await waitFor(() => allBeyond(0), 60_000, 'updates through pod A');
      await b.source.start(b.stage);
      await waitFor(
        () => b.source.partitions().length > 0 && a.source.partitions().length < 4,
        60_000,
        'a rebalance',
      );
      const afterJoin = seq;
      await waitFor(() => allBeyond(afterJoin), 60_000, 'updates after pod B joined');
      await a.source.stop();
      await waitFor(() => b.source.partitions().length === 4, 60_000, 'pod B to own every partition');
      const afterLeave = seq;
      await waitFor(() => allBeyond(afterLeave), 60_000, 'updates after pod A left');
      producing = false;
      await producing$;
      await waitFor(
        () => SYMBOLS.every((s) => lastSeen(s) === seq),
        30_000,
        'the final state of every symbol',
      );

      for (const symbol of SYMBOLS) {
        const seqs = seen.filter((e) => e.symbol === symbol).map((e) => e.seq);
        for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
      }
      expect(a.stage.counters.published).toBeGreaterThan(0);
      expect(b.stage.counters.published).toBeGreaterThan(0);
    } finally {
      producing = false;
      await producing$.catch(() => undefined);
      await a.source.stop().catch(() => undefined);
      await b.source.stop().catch(() => undefined);
      a.stage.stop();
      b.stage.stop();
      edge.stop();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});
