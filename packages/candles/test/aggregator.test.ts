import { type Candle, TIMEFRAMES, type Timeframe } from '@tickhub/protocol';
import fc from 'fast-check';
import { CandleAggregator, type CandleStore, type CandleWrite, MemoryCandleStore } from '../src';

const T0 = Date.UTC(2026, 0, 5, 14); // a whole hour

interface Tick {
  seq: number;
  ts: number;
  last: number;
  lastSize: number;
  volume: number;
}

function feed(agg: CandleAggregator, symbol: string, ticks: readonly Tick[]): void {
  const series = agg.series(symbol);
  for (const t of ticks) agg.add(series, t, 1);
}

/** Lets the series finish reading the store (a resolved promise for the memory twin). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function all(store: CandleStore, symbol: string): Promise<Record<Timeframe, Candle[]>> {
  const out = {} as Record<Timeframe, Candle[]>;
  for (const tf of TIMEFRAMES) out[tf] = await store.query(symbol, tf, 1000);
  return out;
}

function aggregator(store: CandleStore): CandleAggregator {
  return new CandleAggregator({ store, flushMs: 10_000 });
}

describe('CandleAggregator', () => {
  it('folds ticks into o/h/l/c from last, v from traded size and n per timeframe', async () => {
    const store = new MemoryCandleStore();
    const agg = aggregator(store);
    feed(agg, 'AAPL', []);
    await settle();
    feed(agg, 'AAPL', [
      { seq: 1, ts: T0 + 100, last: 10, lastSize: 5, volume: 5 },
      { seq: 2, ts: T0 + 400, last: 12, lastSize: 3, volume: 8 },
      // A quote-only tick: the volume did not move, the last trade's size is repeated.
      { seq: 3, ts: T0 + 900, last: 12, lastSize: 3, volume: 8 },
      { seq: 4, ts: T0 + 1_200, last: 9, lastSize: 2, volume: 10 },
      { seq: 5, ts: T0 + 61_000, last: 11, lastSize: 1, volume: 11 },
    ]);
    await agg.flush();
    const c = await all(store, 'AAPL');
    expect(c['1s']).toEqual([
      { t: T0, o: 10, h: 12, l: 10, c: 12, v: 8, n: 3 },
      { t: T0 + 1_000, o: 9, h: 9, l: 9, c: 9, v: 2, n: 1 },
      { t: T0 + 61_000, o: 11, h: 11, l: 11, c: 11, v: 1, n: 1 },
    ]);
    expect(c['1m']).toEqual([
      { t: T0, o: 10, h: 12, l: 9, c: 9, v: 10, n: 4 },
      { t: T0 + 60_000, o: 11, h: 11, l: 11, c: 11, v: 1, n: 1 },
    ]);
    expect(c['5m']).toEqual([{ t: T0, o: 10, h: 12, l: 9, c: 11, v: 11, n: 5 }]);
    expect(c['1h']).toEqual(c['5m']);
  });

  it('counts a tick once however often it arrives, and folds a late timestamp into the open candle', async () => {
    const store = new MemoryCandleStore();
    const agg = aggregator(store);
    feed(agg, 'EURUSD', []);
    await settle();
    const ticks: Tick[] = [
      { seq: 10, ts: T0 + 5_000, last: 1.1, lastSize: 1, volume: 1 },
      { seq: 11, ts: T0 + 5_500, last: 1.2, lastSize: 1, volume: 2 },
    ];
    feed(agg, 'EURUSD', ticks);
    feed(agg, 'EURUSD', ticks);
    // A clock that stepped back: no candle is reopened or created before the open one.
    feed(agg, 'EURUSD', [{ seq: 12, ts: T0 + 2_000, last: 1.0, lastSize: 1, volume: 3 }]);
    await agg.flush();
    expect(await store.query('EURUSD', '1s', 10)).toEqual([
      { t: T0 + 5_000, o: 1.1, h: 1.2, l: 1.0, c: 1.0, v: 3, n: 3 },
    ]);
    expect(agg.stats.stale).toBe(2);
  });

  it('writes the candles a replay closes between two flushes, all of them', async () => {
    const store = new MemoryCandleStore();
    const agg = aggregator(store);
    feed(agg, 'BTCUSD', []);
    await settle();
    const ticks: Tick[] = [];
    for (let i = 0; i < 2 * 3600; i++) {
      ticks.push({ seq: i + 1, ts: T0 + i * 500, last: 100 + (i % 7), lastSize: 1, volume: i + 1 });
    }
    feed(agg, 'BTCUSD', ticks);
    await agg.flush();
    const c = await all(store, 'BTCUSD');
    expect(c['1s']).toHaveLength(1000);
    expect(c['1m']).toHaveLength(60);
    expect(c['1m'].every((k) => k.n === 120 && k.v === 120)).toBe(true);
    expect(c['1h']).toEqual([
      { t: T0, o: 100, h: 106, l: 100, c: 100 + ((2 * 3600 - 1) % 7), v: 7200, n: 7200 },
    ]);
  });

  it('continues from the store on takeover: the same candles as one owner, none counted twice', async () => {
    const tickArb = fc.array(
      fc.record({
        dt: fc.integer({ min: 0, max: 40_000 }),
        price: fc.integer({ min: 1, max: 1000 }),
        size: fc.integer({ min: 0, max: 5 }),
      }),
      { minLength: 1, maxLength: 120 },
    );
    await fc.assert(
      fc.asyncProperty(tickArb, fc.nat(), fc.nat(), async (raw, cutSeed, backSeed) => {
        const ticks: Tick[] = [];
        let ts = T0;
        let volume = 0;
        raw.forEach((r, i) => {
          ts += r.dt;
          volume += r.size;
          ticks.push({ seq: i + 1, ts, last: r.price, lastSize: r.size, volume });
        });
        const reference = new MemoryCandleStore();
        const one = aggregator(reference);
        feed(one, 'X', []);
        await settle();
        feed(one, 'X', ticks);
        await one.flush();

        // The first owner writes part of the ticks; the next one gets some of them again (redelivery).
        const shared = new MemoryCandleStore();
        const cut = cutSeed % (ticks.length + 1);
        const resumeAt = cut - (backSeed % (cut + 1));
        const first = aggregator(shared);
        feed(first, 'X', []);
        await settle();
        feed(first, 'X', ticks.slice(0, cut));
        await first.flush();
        const second = aggregator(shared);
        feed(second, 'X', ticks.slice(resumeAt, resumeAt + 3));
        await settle();
        feed(second, 'X', ticks.slice(resumeAt + 3));
        await second.flush();
        const got = await all(shared, 'X');
        const want = await all(reference, 'X');
        // v of the first tick after a takeover is its own size (the previous day volume is unknown there).
        for (const tf of TIMEFRAMES) {
          expect(got[tf].map(({ v: _v, ...c }) => c)).toEqual(want[tf].map(({ v: _v, ...c }) => c));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('continues a store left half written (1s behind 1m): no tick counted twice, the 1s candle goes on', async () => {
    const store = new MemoryCandleStore();
    const candle = { symbol: 'IBM', t: T0, o: 10, h: 11, l: 10, c: 11, v: 2 };
    // The 1m candle holds ticks 1–3, the 1s candle (its write failed half way) only ticks 1–2.
    await store.write([
      { ...candle, tf: '1s', n: 2, s: 2 },
      { ...candle, tf: '1m', n: 3, s: 3, c: 9, l: 9 },
      { ...candle, tf: '5m', n: 3, s: 3, c: 9, l: 9 },
      { ...candle, tf: '1h', n: 3, s: 3, c: 9, l: 9 },
    ]);
    const agg = aggregator(store);
    feed(agg, 'IBM', []);
    await settle();
    feed(agg, 'IBM', [
      { seq: 3, ts: T0 + 500, last: 9, lastSize: 1, volume: 3 }, // redelivered: in 1m already
      { seq: 4, ts: T0 + 700, last: 12, lastSize: 1, volume: 4 },
    ]);
    await agg.flush();
    expect(agg.stats.stale).toBe(1);
    const latest = await store.latest('IBM');
    expect(latest['1s']).toMatchObject({ t: T0, o: 10, h: 12, l: 10, c: 12, n: 3, s: 4 });
    expect(latest['1m']).toMatchObject({ t: T0, o: 10, h: 12, l: 9, c: 12, n: 4, s: 4 });
    // The next second closes the continued 1s candle into the longer ones once, not again.
    feed(agg, 'IBM', [{ seq: 5, ts: T0 + 1_100, last: 8, lastSize: 1, volume: 5 }]);
    await agg.flush();
    const after = await store.latest('IBM');
    expect(after['1s']).toMatchObject({ t: T0 + 1_000, o: 8, n: 1, s: 5 });
    expect(after['1m']).toMatchObject({ t: T0, o: 10, h: 12, l: 8, c: 8, n: 5, s: 5 });
  });

  it('writes again what the store refused, and never loses a candle to one failure', async () => {
    const memory = new MemoryCandleStore();
    let failures = 1;
    const flaky: CandleStore = {
      write: (batch: readonly CandleWrite[]) =>
        failures-- > 0 ? Promise.reject(new Error('store away')) : memory.write(batch),
      query: (s, tf, limit) => memory.query(s, tf, limit),
      latest: (s) => memory.latest(s),
    };
    const errors: string[] = [];
    const agg = new CandleAggregator({
      store: flaky,
      flushMs: 10_000,
      onError: (_e, what) => errors.push(what),
    });
    feed(agg, 'MSFT', []);
    await settle();
    feed(agg, 'MSFT', [
      { seq: 1, ts: T0, last: 5, lastSize: 1, volume: 1 },
      { seq: 2, ts: T0 + 1_000, last: 6, lastSize: 1, volume: 2 },
    ]);
    await agg.flush();
    expect(errors).toEqual(['write']);
    expect(await memory.query('MSFT', '1s', 10)).toEqual([]);
    await agg.flush();
    expect((await memory.query('MSFT', '1s', 10)).map((c) => c.o)).toEqual([5, 6]);
    expect(agg.pending()).toBe(0);
  });

  it('flushes by itself after flushMs, in one write for many symbols', async () => {
    const store = new MemoryCandleStore();
    const writes: number[] = [];
    const counting: CandleStore = {
      write: (batch) => {
        writes.push(batch.length);
        return store.write(batch);
      },
      query: (s, tf, limit) => store.query(s, tf, limit),
      latest: (s) => store.latest(s),
    };
    const agg = new CandleAggregator({ store: counting, flushMs: 20 });
    for (const symbol of ['A', 'B', 'C']) feed(agg, symbol, []);
    await settle();
    for (const symbol of ['A', 'B', 'C']) {
      feed(agg, symbol, [
        { seq: 1, ts: T0, last: 1, lastSize: 1, volume: 1 },
        { seq: 2, ts: T0 + 10, last: 2, lastSize: 1, volume: 2 },
      ]);
    }
    for (let i = 0; i < 100 && writes.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(writes).toEqual([3 * TIMEFRAMES.length]);
    await agg.stop();
  });
});

describe('CandleAggregator.settled (what a Kafka offset commit waits for)', () => {
  /** The memory twin, with its reads held until `release()` and its writes failing while `failing`. */
  class HeldStore extends MemoryCandleStore {
    failing = false;
    private held: Array<{ symbol: string; resolve: () => void }> = [];
    override async latest(symbol: string) {
      await new Promise<void>((resolve) => this.held.push({ symbol, resolve }));
      return super.latest(symbol);
    }
    override async write(batch: readonly CandleWrite[]): Promise<void> {
      if (this.failing) throw new Error('store away');
      return super.write(batch);
    }
    /** Lets the reads of `symbol` (every symbol by default) answer. */
    release(symbol?: string): void {
      for (const h of this.held.filter((h) => symbol === undefined || h.symbol === symbol)) h.resolve();
      this.held = this.held.filter((h) => symbol !== undefined && h.symbol !== symbol);
    }
  }

  const tick = (seq: number, ms = 100): Tick => ({
    seq,
    ts: T0 + ms,
    last: 10 + seq,
    lastSize: 1,
    volume: seq,
  });
  const state = (p: Promise<boolean>) => {
    const seen = { done: false, stored: undefined as boolean | undefined };
    void p.then((stored) => {
      seen.done = true;
      seen.stored = stored;
    });
    return seen;
  };

  it('answers at once when nothing is waiting to be written', async () => {
    const agg = new CandleAggregator({ store: new MemoryCandleStore(), flushMs: 60_000 });
    expect(await agg.settled()).toBe(true);
  });

  it('waits for the next flush, without causing one, and then the candles are stored', async () => {
    const store = new MemoryCandleStore();
    const agg = new CandleAggregator({ store, flushMs: 200 });
    feed(agg, 'AAPL', []);
    await settle();
    feed(agg, 'AAPL', [tick(1), tick(2)]);
    const waiting = state(agg.settled());
    await new Promise((r) => setTimeout(r, 50));
    expect(waiting.done).toBe(false);
    expect(agg.stats.writes).toBe(0);
    await waitUntil(() => waiting.done);
    expect(waiting.stored).toBe(true);
    expect(agg.stats.writes).toBe(1);
    expect((await store.query('AAPL', '1s', 10))[0]).toMatchObject({ n: 2, c: 12 });
    await agg.stop();
  });

  it('holds while a series still reads the store, its ticks buffered, and answers with the write after', async () => {
    const store = new HeldStore();
    const agg = new CandleAggregator({ store, flushMs: 20 });
    feed(agg, 'MSFT', [tick(1), tick(2), tick(3)]);
    const waiting = state(agg.settled());
    // Flushes come and go (another symbol's candles), the buffered ticks are not in them.
    const other = agg.series('EURUSD');
    store.release('EURUSD');
    await settle();
    agg.add(other, tick(1), 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(agg.stats.writes).toBeGreaterThanOrEqual(1);
    expect(waiting.done).toBe(false);
    expect(await store.query('MSFT', '1s', 10)).toEqual([]);
    store.release();
    await waitUntil(() => waiting.done);
    expect(waiting.stored).toBe(true);
    expect((await store.query('MSFT', '1s', 10))[0]).toMatchObject({ n: 3 });
    await agg.stop();
  });

  it('answers false when the write failed, and true once a later write stored the candles', async () => {
    const store = new HeldStore();
    const agg = new CandleAggregator({ store, flushMs: 20 });
    const series = agg.series('AAPL');
    store.release();
    await settle();
    store.failing = true;
    agg.add(series, tick(1), 1);
    expect(await agg.settled()).toBe(false);
    store.failing = false;
    expect(await agg.settled()).toBe(true);
    expect((await store.query('AAPL', '1s', 10))[0]).toMatchObject({ n: 1 });
    await agg.stop();
  });

  it('is released by stop(), which writes what is pending', async () => {
    const store = new MemoryCandleStore();
    const agg = new CandleAggregator({ store, flushMs: 60_000 });
    feed(agg, 'AAPL', []);
    await settle();
    feed(agg, 'AAPL', [tick(1)]);
    const waiting = agg.settled();
    await agg.stop();
    expect(await waiting).toBe(true);
    expect(await agg.settled()).toBe(true);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
