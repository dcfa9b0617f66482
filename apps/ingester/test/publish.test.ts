import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeTickRecord, type QuoteUpdate, TICK_HEADER_PRODUCED_AT } from '@tickhub/protocol';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { APP_DIR, httpGet, IngesterProcess, metric, scrape, until } from './support/ingester-process';
import {
  type ConsumedRecord,
  consumeAll,
  deleteTopic,
  requireBrokers,
  topicPartitions,
  uniqueName,
} from './support/kafka';

jest.setTimeout(180_000);

const brokers = requireBrokers();

function decodeAll(
  records: ConsumedRecord[],
  withHeader = true,
): (QuoteUpdate & { partition: number; producedAt: number })[] {
  return records.map((r) => {
    const q = decodeTickRecord(r.value);
    expect(r.key).toBe(q.symbol);
    const header = r.headers[TICK_HEADER_PRODUCED_AT];
    if (!withHeader) {
      expect(header).toBeUndefined();
      return { ...q, partition: r.partition, producedAt: r.timestamp };
    }
    const text = Buffer.isBuffer(header) ? header.toString('utf8') : String(header);
    expect(text).toMatch(/^\d+$/);
    // The record timestamp (CreateTime) carries the same time.
    expect(r.timestamp).toBe(Number(text));
    return { ...q, partition: r.partition, producedAt: Number(text) };
  });
}

describe('ingester → Kafka (simulated market)', () => {
  const topic = uniqueName('test.ingest.sim');
  let ingester: IngesterProcess | undefined;

  afterAll(async () => {
    ingester?.kill();
    await deleteTopic(brokers, topic);
  });

  it('creates the topic, publishes decodable records keyed by symbol with contiguous per-symbol seq, and flushes on SIGTERM', async () => {
    const startedAt = Date.now();
    ingester = new IngesterProcess({
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC: topic,
      KAFKA_PARTITIONS: '6',
      // Two producer lanes in worker threads, each owning half of the partitions.
      KAFKA_PRODUCERS: '2',
      TICK_RATE: '4000',
      SIM_SYMBOLS: '40',
      SIM_SEED: '7',
      INGESTER_HTTP_PORT: '0',
      INGESTER_HTTP_HOST: '127.0.0.1',
    });
    const port = await ingester.httpPort();
    expect((await httpGet(port, '/health/live')).status).toBe(200);
    await ingester.waitForLog((l) => l.msg === 'ingester started', 60_000, 'start');
    await until(
      async () => metric(await scrape(port), 'ticks_produced_total') >= 8000,
      120_000,
      '8000 ticks',
    );
    expect((await httpGet(port, '/health/ready')).status).toBe(200);
    const live = await scrape(port);
    expect(metric(live, 'batches_total')).toBeGreaterThan(0);
    expect(metric(live, 'bytes_total')).toBeGreaterThan(0);
    expect(metric(live, 'kafka_connected')).toBe(1);
    expect(live.get('tickhub_ingester_send_latency_seconds_count')).toBeGreaterThan(0);

    const exit = await ingester.stop();
    expect(exit.code).toBe(0);
    const summary = ingester.logs.find((l) => l.msg === 'ingester stopped');
    expect(summary).toBeDefined();
    expect(summary!.flushed).toBe(true);
    expect(summary!.folded).toBe(0);
    expect(summary!.produced).toBe(summary!.generated);

    expect(await topicPartitions(brokers, topic)).toBe(6);
    const records = await consumeAll(brokers, topic);
    expect(records.length).toBe(summary!.produced);
    const quotes = decodeAll(records);
    const partitionOf = new Map<string, number>();
    const lastSeq = new Map<string, number>();
    for (const q of quotes) {
      // One symbol, one partition; within it, seq goes 1, 2, 3, ... in offset order.
      const p = partitionOf.get(q.symbol);
      if (p === undefined) partitionOf.set(q.symbol, q.partition);
      else expect(q.partition).toBe(p);
      const expected = (lastSeq.get(q.symbol) ?? 0) + 1;
      if (q.seq !== expected) throw new Error(`${q.symbol}: seq ${q.seq} after ${expected - 1}`);
      lastSeq.set(q.symbol, q.seq);
      expect(q.n).toBe(1);
      expect(q.producedAt).toBeGreaterThanOrEqual(startedAt);
      expect(q.producedAt).toBeLessThanOrEqual(Date.now());
      expect(q.bid).toBeLessThan(q.ask);
    }
    expect(partitionOf.size).toBe(40);
    expect(new Set(partitionOf.values()).size).toBeGreaterThan(1);
    // The partition is murmur2 of the key, as any Kafka client computes it.
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from(
      { length: 6 },
      (_, partitionId): PartitionMetadata => ({
        partitionErrorCode: 0,
        partitionId,
        leader: 1,
        replicas: [1],
        isr: [1],
      }),
    );
    for (const [symbol, partition] of partitionOf) {
      expect(partitioner({ topic, partitionMetadata, message: { key: symbol, value: null } })).toBe(
        partition,
      );
    }
  });
});

describe('ingester → Kafka (CSV replay)', () => {
  const topic = uniqueName('test.ingest.replay');
  const sample = path.join(APP_DIR, 'samples', 'ticks-sample.csv');
  let ingester: IngesterProcess | undefined;

  afterAll(async () => {
    ingester?.kill();
    await deleteTopic(brokers, topic);
  });

  it('replays the sample file as fast as possible (gzip, acks=1, no header): every line becomes one record, in file order per symbol', async () => {
    ingester = new IngesterProcess({
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC: topic,
      KAFKA_PARTITIONS: '3',
      REPLAY_FILE: sample,
      REPLAY_SPEED: '0',
      REPLAY_TIMESTAMPS: 'recorded',
      // The other producer settings: gzip batches, leader-only acks (no idempotence).
      KAFKA_COMPRESSION: 'gzip',
      KAFKA_ACKS: '1',
      KAFKA_PRODUCED_AT_HEADER: 'false',
      INGESTER_HTTP_PORT: '0',
      INGESTER_HTTP_HOST: '127.0.0.1',
    });
    await ingester.waitForLog((l) => l.msg === 'replay finished', 120_000, 'replay finished');
    expect(ingester.logs.some((l) => String(l.msg).startsWith('idempotent producer disabled'))).toBe(true);
    const exit = await ingester.stop();
    expect(exit.code).toBe(0);

    const lines = readFileSync(sample, 'utf8').trim().split('\n').slice(1);
    const records = await consumeAll(brokers, topic);
    expect(records.length).toBe(lines.length);
    const quotes = decodeAll(records, false);
    const bySymbol = new Map<string, string[]>();
    for (const line of lines) {
      const symbol = line.split(',')[0]!;
      bySymbol.set(symbol, [...(bySymbol.get(symbol) ?? []), line]);
    }
    const seen = new Map<string, number>();
    for (const q of quotes) {
      const i = seen.get(q.symbol) ?? 0;
      seen.set(q.symbol, i + 1);
      expect(q.seq).toBe(i + 1);
      const [, ts, bid, ask, last, size, bidSize, askSize] = bySymbol.get(q.symbol)![i]!.split(',');
      expect(q.ts).toBe(Number(ts));
      expect(q.bid).toBe(Number(bid));
      expect(q.ask).toBe(Number(ask));
      expect(q.last).toBe(Number(last));
      expect(q.lastSize).toBe(Number(size));
      expect(q.bidSize).toBe(Number(bidSize));
      expect(q.askSize).toBe(Number(askSize));
      expect(q.low).toBeLessThanOrEqual(q.last);
      expect(q.high).toBeGreaterThanOrEqual(q.last);
    }
    expect([...seen.entries()].sort()).toEqual([...bySymbol.entries()].map(([s, l]) => [s, l.length]).sort());
  });
});
