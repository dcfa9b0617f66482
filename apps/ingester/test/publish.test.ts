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
    const started = await ingester.waitForLog((l) => l.msg === 'ingester started', 60_000, 'start');
    // SEQ_START defaults to the clock: the start time in microseconds.
    const firstSeq = started.firstSeq as number;
    expect(firstSeq).toBeGreaterThanOrEqual(startedAt * 1000 + 1);
    expect(firstSeq).toBeLessThanOrEqual(Date.now() * 1000 + 1);
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
      // One symbol, one partition; within it, seq goes firstSeq, firstSeq + 1, ... in offset order.
      const p = partitionOf.get(q.symbol);
      if (p === undefined) partitionOf.set(q.symbol, q.partition);
      else expect(q.partition).toBe(p);
      const expected = (lastSeq.get(q.symbol) ?? firstSeq - 1) + 1;
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

describe('ingester restarted on the same topic', () => {
  const topic = uniqueName('test.ingest.restart');
  const running: IngesterProcess[] = [];

  afterAll(async () => {
    for (const i of running) i.kill();
    await deleteTopic(brokers, topic);
  });

  /** Runs an ingester until it has published `ticks`, stops it, returns its first seq. */
  async function runOnce(ticks: number): Promise<number> {
    const ingester = new IngesterProcess({
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC: topic,
      KAFKA_PARTITIONS: '3',
      TICK_RATE: '4000',
      SIM_SYMBOLS: '20',
      SIM_SEED: '3',
      INGESTER_HTTP_PORT: '0',
      INGESTER_HTTP_HOST: '127.0.0.1',
    });
    running.push(ingester);
    const port = await ingester.httpPort();
    const started = await ingester.waitForLog((l) => l.msg === 'ingester started', 60_000, 'start');
    await until(
      async () => metric(await scrape(port), 'ticks_produced_total') >= ticks,
      120_000,
      `${ticks} ticks`,
    );
    expect((await ingester.stop()).code).toBe(0);
    return started.firstSeq as number;
  }

  it('continues every symbol above its previous run, so that gateways do not drop the new ticks as stale', async () => {
    const first = await runOnce(3000);
    const second = await runOnce(3000);
    expect(second).toBeGreaterThan(first);
    const quotes = decodeAll(await consumeAll(brokers, topic));
    // Per symbol in offset order (one symbol, one partition): strictly increasing across both runs,
    // each run counting on from its own first seq.
    const last = new Map<string, number>();
    let fromSecondRun = 0;
    for (const q of quotes) {
      const before = last.get(q.symbol);
      if (before !== undefined && q.seq <= before) {
        throw new Error(`${q.symbol}: seq ${q.seq} after ${before} (the restart went back)`);
      }
      if (q.seq >= second) fromSecondRun++;
      else expect(q.seq).toBeGreaterThanOrEqual(first);
      last.set(q.symbol, q.seq);
    }
    expect(fromSecondRun).toBeGreaterThanOrEqual(3000);
    expect(quotes.length - fromSecondRun).toBeGreaterThanOrEqual(3000);
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
      SEQ_START: '5000001',
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
      expect(q.seq).toBe(5_000_001 + i);
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
