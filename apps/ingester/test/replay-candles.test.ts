import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CandleAggregator, MemoryCandleStore } from '@tickhub/candles';
import { createLogger } from '@tickhub/log';
import type { Quote } from '@tickhub/protocol';
import { CsvReplaySource } from '../src/csv-replay';
import { writeDayCsv } from '../src/day-csv';
import type { TickSink } from '../src/source';

jest.setTimeout(120_000);

const DAY = Date.UTC(2026, 10, 2);

/**
 * Seeding history: a day of recorded ticks, replayed as fast as the sink takes them with their recorded
 * times, folds into a day of candles. The sink here is the gateway's candle aggregator itself (what
 * the partition owner runs on every record it reads from Kafka).
 */
it('replays a recorded day at full speed into a day of candles', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ingester-day-'));
  try {
    const file = path.join(dir, 'day.csv');
    const written = await writeDayCsv(file, { start: DAY, symbols: 5, ratePerSec: 3, seed: 3 });
    expect(written).toBe(3 * 86_400);

    const store = new MemoryCandleStore();
    const candles = new CandleAggregator({ store, flushMs: 50 });
    const series = new Map<string, ReturnType<CandleAggregator['series']>>();
    let ticks = 0;
    const sink: TickSink = {
      push(q: Quote) {
        let s = series.get(q.symbol);
        if (!s) {
          s = candles.series(q.symbol);
          series.set(q.symbol, s);
        }
        candles.add(s, q, 1);
        ticks++;
      },
      hasRoom: () => true,
      flush: () => undefined,
    };
    const replay = new CsvReplaySource(
      { file, speed: 0, loop: false, timestamps: 'recorded', firstSeq: 1 },
      createLogger({ app: 'ingester', level: 'error' }),
    );
    const started = Date.now();
    replay.start(sink);
    await replay.finished();
    await candles.flush();
    console.log(`replayed ${ticks} ticks of a day into candles in ${Date.now() - started} ms`);

    expect(ticks).toBe(written);
    const minutes = await store.query('AAPL', '1m', 1000);
    expect(minutes).toHaveLength(1000);
    expect(minutes.at(-1)!.t).toBe(DAY + 86_400_000 - 60_000);
    const hours = await store.query('AAPL', '1h', 1000);
    expect(hours.map((c) => c.t)).toEqual(Array.from({ length: 24 }, (_, i) => DAY + i * 3_600_000));
    // Every tick of the symbol is in its day, once.
    const perSymbol = hours.reduce((sum, c) => sum + c.n, 0);
    const fiveMinutes = await store.query('AAPL', '5m', 1000);
    expect(fiveMinutes).toHaveLength(288);
    expect(fiveMinutes.reduce((sum, c) => sum + c.n, 0)).toBe(perSymbol);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
