/**
 * The contract every CandleStore implementation must pass, as a jest suite. Import it from tests only
 * (`@tickhub/candles/contract`): it uses jest's globals, so production code never loads it.
 *
 * `open` returns a fresh store over an empty medium (a new MemoryCandleStore, a unique Redis key
 * prefix, ...); `reopen` a second store over the same medium (another pod, or the same pod after a
 * restart); `cleanup` releases both.
 */
import { CANDLE_RETENTION, TIMEFRAME_MS } from '@tickhub/protocol';
import type { CandleStore, CandleWrite, StoredCandle } from './store';

export interface ContractStores {
  store: CandleStore;
  reopen(): Promise<CandleStore>;
  cleanup(): Promise<void>;
}

const TEST_TIMEOUT_MS = 30_000;
const T0 = Date.UTC(2026, 0, 5, 14, 30);

function candle(t: number, s: number, price = 100): StoredCandle {
  return { t, o: price, h: price + 1, l: price - 1, c: price + 0.5, v: 10, n: 3, s };
}

function spec(title: string, fn: () => Promise<unknown>): void {
  it(title, fn, TEST_TIMEOUT_MS);
}

export function describeCandleStoreContract(name: string, open: () => Promise<ContractStores>): void {
  describe(`CandleStore contract: ${name}`, () => {
    let stores: ContractStores;
    let store: CandleStore;

    beforeEach(async () => {
      stores = await open();
      store = stores.store;
    }, TEST_TIMEOUT_MS);

    afterEach(async () => {
      await stores.cleanup();
    }, TEST_TIMEOUT_MS);

    spec('answers nothing for a symbol without candles', async () => {
      expect(await store.query('NONE', '1m', 300)).toEqual([]);
      expect(await store.latest('NONE')).toEqual({});
    });

    spec('returns the newest candles oldest first, without the seq', async () => {
      const batch: CandleWrite[] = [];
      for (let i = 0; i < 10; i++)
        batch.push({ symbol: 'AAPL', tf: '1m', ...candle(T0 + i * 60_000, i + 1) });
      // Written out of order: the store orders by start time.
      await store.write(batch.slice(5));
      await store.write(batch.slice(0, 5));
      const all = await store.query('AAPL', '1m', 300);
      expect(all.map((c) => c.t)).toEqual(batch.map((w) => w.t));
      expect(all[0]).toEqual({ t: T0, o: 100, h: 101, l: 99, c: 100.5, v: 10, n: 3 });
      const last3 = await store.query('AAPL', '1m', 3);
      expect(last3.map((c) => c.t)).toEqual([T0 + 7 * 60_000, T0 + 8 * 60_000, T0 + 9 * 60_000]);
    });

    spec('keeps symbols and timeframes apart', async () => {
      await store.write([
        { symbol: 'AAPL', tf: '1s', ...candle(T0, 1, 1) },
        { symbol: 'AAPL', tf: '1m', ...candle(T0, 1, 2) },
        { symbol: 'MSFT', tf: '1s', ...candle(T0, 1, 3) },
      ]);
      expect((await store.query('AAPL', '1s', 10)).map((c) => c.o)).toEqual([1]);
      expect((await store.query('AAPL', '1m', 10)).map((c) => c.o)).toEqual([2]);
      expect((await store.query('MSFT', '1s', 10)).map((c) => c.o)).toEqual([3]);
      expect(await store.query('MSFT', '5m', 10)).toEqual([]);
    });

    spec('replaces a candle only with one of a higher seq (idempotent, never backwards)', async () => {
      await store.write([{ symbol: 'AAPL', tf: '1s', ...candle(T0, 10), c: 101, n: 5 }]);
      // The same write again, and an older state of the same candle: nothing changes.
      await store.write([{ symbol: 'AAPL', tf: '1s', ...candle(T0, 10), c: 101, n: 5 }]);
      await store.write([{ symbol: 'AAPL', tf: '1s', ...candle(T0, 7), c: 99, n: 2 }]);
      expect(await store.query('AAPL', '1s', 10)).toEqual([
        { t: T0, o: 100, h: 101, l: 99, c: 101, v: 10, n: 5 },
      ]);
      // A newer state replaces it, once.
      await store.write([{ symbol: 'AAPL', tf: '1s', ...candle(T0, 12), c: 102, n: 6 }]);
      const after = await store.query('AAPL', '1s', 10);
      expect(after).toHaveLength(1);
      expect(after[0]).toMatchObject({ t: T0, c: 102, n: 6 });
      expect((await store.latest('AAPL'))['1s']).toEqual({ ...candle(T0, 12), c: 102, n: 6 });
    });

    spec('gives the newest candle of each timeframe with its seq', async () => {
      await store.write([
        { symbol: 'EURUSD', tf: '1s', ...candle(T0, 1) },
        { symbol: 'EURUSD', tf: '1s', ...candle(T0 + 1000, 4) },
        { symbol: 'EURUSD', tf: '1m', ...candle(T0, 4) },
        { symbol: 'EURUSD', tf: '1h', ...candle(T0 - (T0 % 3_600_000), 4) },
      ]);
      const latest = await store.latest('EURUSD');
      expect(latest).toEqual({
        '1s': candle(T0 + 1000, 4),
        '1m': candle(T0, 4),
        '1h': candle(T0 - (T0 % 3_600_000), 4),
      });
    });

    spec('keeps exactly the retention per symbol and timeframe, dropping the oldest', async () => {
      const retention = CANDLE_RETENTION['1h'];
      const batch: CandleWrite[] = [];
      for (let i = 0; i < retention + 25; i++) {
        batch.push({ symbol: 'BTCUSD', tf: '1h', ...candle(T0 + i * TIMEFRAME_MS['1h'], i + 1) });
      }
      await store.write(batch);
      const kept = await store.query('BTCUSD', '1h', 1000);
      expect(kept).toHaveLength(retention);
      expect(kept[0]!.t).toBe(T0 + 25 * TIMEFRAME_MS['1h']);
      expect(kept[retention - 1]!.t).toBe(T0 + (retention + 24) * TIMEFRAME_MS['1h']);
      // A candle older than everything kept does not come back.
      await store.write([{ symbol: 'BTCUSD', tf: '1h', ...candle(T0, 10_000) }]);
      expect((await store.query('BTCUSD', '1h', 1))[0]!.t).toBe(kept[retention - 1]!.t);
      expect((await store.query('BTCUSD', '1h', 1000))[0]!.t).toBe(T0 + 25 * TIMEFRAME_MS['1h']);
    });

    spec('keeps the full retention of 1s candles across many writes', async () => {
      const retention = CANDLE_RETENTION['1s'];
      for (let chunk = 0; chunk < 3; chunk++) {
        const batch: CandleWrite[] = [];
        for (let i = 0; i < retention; i++) {
          const k = chunk * retention + i;
          batch.push({ symbol: 'ETHUSD', tf: '1s', ...candle(T0 + k * 1000, k + 1) });
        }
        await store.write(batch);
      }
      const kept = await store.query('ETHUSD', '1s', 1000);
      expect(kept).toHaveLength(1000);
      expect(kept[999]!.t).toBe(T0 + (3 * retention - 1) * 1000);
    });

    spec('serves what another store over the same medium wrote (restart, failover)', async () => {
      await store.write([
        { symbol: 'AAPL', tf: '5m', ...candle(T0, 1) },
        { symbol: 'AAPL', tf: '5m', ...candle(T0 + 300_000, 2) },
      ]);
      const other = await stores.reopen();
      expect((await other.query('AAPL', '5m', 10)).map((c) => c.t)).toEqual([T0, T0 + 300_000]);
      expect((await other.latest('AAPL'))['5m']?.s).toBe(2);
      // The other store continues the open candle; a late write of the first one is ignored.
      await other.write([{ symbol: 'AAPL', tf: '5m', ...candle(T0 + 300_000, 5), n: 9 }]);
      await store.write([{ symbol: 'AAPL', tf: '5m', ...candle(T0 + 300_000, 3), n: 4 }]);
      expect((await store.query('AAPL', '5m', 1))[0]!.n).toBe(9);
    });
  });
}
