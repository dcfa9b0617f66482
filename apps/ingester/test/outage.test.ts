import { decodeTickRecord } from '@tickhub/protocol';
import { httpGet, IngesterProcess, metric, scrape, until } from './support/ingester-process';
import { consumeAll, uniqueName } from './support/kafka';
import { RestartableKafka } from './support/restartable-kafka';

jest.setTimeout(420_000);

const BUFFER_MAX_TICKS = 2000;
const SYMBOLS = 60;

describe('broker outage', () => {
  let broker: RestartableKafka | undefined;
  let ingester: IngesterProcess | undefined;

  beforeAll(async () => {
    broker = await RestartableKafka.create();
    await broker.start();
  });

  afterAll(async () => {
    ingester?.kill();
    await broker?.destroy();
  });

  it('survives the broker going away, stays bounded by folding per symbol, resumes, and accounts for every tick', async () => {
    const kafka = broker!;
    const topic = uniqueName('test.ingest.outage');
    ingester = new IngesterProcess({
      KAFKA_BROKERS: kafka.brokers,
      KAFKA_TOPIC: topic,
      KAFKA_PARTITIONS: '4',
      KAFKA_PRODUCERS: '2',
      TICK_RATE: '20000',
      SIM_SYMBOLS: String(SYMBOLS),
      BUFFER_MAX_TICKS: String(BUFFER_MAX_TICKS),
      BATCH_MAX_MESSAGES: '1000',
      SHUTDOWN_TIMEOUT_MS: '60000',
      INGESTER_HTTP_PORT: '0',
      INGESTER_HTTP_HOST: '127.0.0.1',
    });
    const port = await ingester.httpPort();
    await until(
      async () => metric(await scrape(port), 'ticks_produced_total') >= 20_000,
      120_000,
      'first ticks',
    );
    const before = await scrape(port);
    const heapBefore = metric(before, 'nodejs_heap_size_used_bytes');

    await kafka.stop();
    let maxBuffer = 0;
    let maxHeap = 0;
    const watch = async () => {
      const m = await scrape(port);
      maxBuffer = Math.max(maxBuffer, metric(m, 'buffer_ticks'));
      maxHeap = Math.max(maxHeap, metric(m, 'nodejs_heap_size_used_bytes'));
      return m;
    };
    // Keep the broker away until well over 100k ticks have been folded.
    await until(
      async () => metric(await watch(), 'ticks_folded_total') >= 100_000,
      180_000,
      '100k folded ticks',
    );
    const during = await watch();
    expect(metric(during, 'kafka_connected')).toBe(0);
    const notReady = await httpGet(port, '/health/ready');
    expect(notReady.status).toBe(503);
    // The body names the dependency, since when it is down and why.
    const body = JSON.parse(notReady.body) as {
      dependencies: { kafka: { up: boolean; since: string; reason: string } };
    };
    expect(body.dependencies.kafka.up).toBe(false);
    expect(Date.parse(body.dependencies.kafka.since)).toBeLessThanOrEqual(Date.now());
    expect(body.dependencies.kafka.reason).toEqual(expect.any(String));
    expect((await httpGet(port, '/health/live')).status).toBe(200);
    expect(metric(during, 'errors_total{kind="send"}')).toBeGreaterThan(0);
    // The ordered ring plus one pending record per symbol, whatever the outage length.
    expect(maxBuffer).toBeLessThanOrEqual(BUFFER_MAX_TICKS + SYMBOLS);
    // Folding holds one pending record per symbol. How much of the ring is full when sampled depends
    // on how many slices the producer lanes took before they noticed the broker was gone.
    expect(maxBuffer).toBeGreaterThanOrEqual(SYMBOLS);
    // Over 100k ticks arrived during the outage; keeping them would take far more than this.
    expect(maxHeap - heapBefore).toBeLessThan(48 * 1024 * 1024);
    const producedDuring = metric(during, 'ticks_produced_total');

    await kafka.start();
    await ingester.waitForLog(
      (l) => l.msg === 'Kafka connection restored, publishing resumes',
      120_000,
      'reconnect',
    );
    await until(
      async () => metric(await scrape(port), 'ticks_produced_total') >= producedDuring + 20_000,
      120_000,
      'publishing to resume',
    );
    const readyAgain = await httpGet(port, '/health/ready');
    expect(readyAgain.status).toBe(200);
    expect(JSON.parse(readyAgain.body)).toMatchObject({ dependencies: { kafka: { up: true } } });

    const exit = await ingester.stop(90_000);
    expect(exit.code).toBe(0);
    const summary = ingester.logs.find((l) => l.msg === 'ingester stopped')!;
    expect(summary.flushed).toBe(true);
    const generated = summary.generated as number;
    const folded = summary.folded as number;
    expect(folded).toBeGreaterThanOrEqual(100_000);

    const records = await consumeAll(kafka.brokers, topic, 240_000);
    const seen = new Map<string, Map<number, string>>();
    let distinct = 0;
    let duplicates = 0;
    let gaps = 0;
    let represented = 0;
    const last = new Map<string, number>();
    // Every symbol counts from the run's first seq (the start time in µs by default).
    const started = await ingester.waitForLog((l) => l.msg === 'ingester started', 1000, 'start');
    const firstSeq = started.firstSeq as number;
    for (const r of records) {
      const q = decodeTickRecord(r.value);
      expect(r.key).toBe(q.symbol);
      const bySeq = seen.get(q.symbol) ?? new Map<number, string>();
      seen.set(q.symbol, bySeq);
      const hex = r.value.toString('hex');
      const earlier = bySeq.get(q.seq);
      if (earlier !== undefined) {
        // A batch re-sent after an ambiguous failure: same record again, never a different one.
        expect(hex).toBe(earlier);
        duplicates++;
        continue;
      }
      const prev = last.get(q.symbol) ?? firstSeq - 1;
      if (q.seq <= prev)
        throw new Error(`${q.symbol}: seq ${q.seq} after ${prev} in partition ${r.partition}`);
      gaps += q.seq - prev - 1;
      // A folded record says how many source ticks it stands for: exactly the ones its gap skipped.
      if (q.n !== q.seq - prev) throw new Error(`${q.symbol}: seq ${q.seq} after ${prev} carries n=${q.n}`);
      represented += q.n;
      bySeq.set(q.seq, hex);
      last.set(q.symbol, q.seq);
      distinct++;
    }
    expect(gaps).toBe(folded);
    expect(distinct + folded).toBe(generated);
    expect(represented).toBe(generated);
    expect(duplicates).toBeLessThanOrEqual(summary.produced as number);
  });
});
