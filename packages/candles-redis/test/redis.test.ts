import { CandleAggregator } from '@tickhub/candles';
import { describeCandleStoreContract } from '@tickhub/candles/contract';
import { Redis } from 'ioredis';
import { RedisCandleStore } from '../src';

function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url)
    throw new Error(
      'REDIS_URL is not set: these tests need a real Redis (e.g. REDIS_URL=redis://127.0.0.1:6379)',
    );
  return url;
}

const REDIS_URL = redisUrl();
const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let sequence = 0;
const prefix = () => `tickhub-test:candles:${runId}:${++sequence}:`;

async function deleteKeys(keyPrefix: string): Promise<void> {
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const keys = await admin.keys(`${keyPrefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  } finally {
    admin.disconnect();
  }
}

async function open(keyPrefix: string): Promise<RedisCandleStore> {
  const store = new RedisCandleStore({ url: REDIS_URL, keyPrefix });
  await store.connect();
  return store;
}

describeCandleStoreContract('RedisCandleStore', async () => {
  const keyPrefix = prefix();
  const opened = [await open(keyPrefix)];
  return {
    store: opened[0]!,
    reopen: async () => {
      const store = await open(keyPrefix);
      opened.push(store);
      return store;
    },
    cleanup: async () => {
      await Promise.all(opened.map((s) => s.close()));
      await deleteKeys(keyPrefix);
    },
  };
});

describe('RedisCandleStore on Redis', () => {
  it('writes a flush of many candles in few round trips, bounded per key by the retention', async () => {
    const keyPrefix = prefix();
    const store = await open(keyPrefix);
    const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const agg = new CandleAggregator({ store, flushMs: 60_000 });
      const series = agg.series('AAPL');
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const t0 = Date.UTC(2026, 0, 5, 9);
      for (let i = 0; i < 5_000; i++)
        agg.add(
          series,
          { seq: i + 1, ts: t0 + i * 1000, last: 100 + (i % 10), lastSize: 1, volume: i + 1 },
          1,
        );
      // Commands this store's own connection sends (the server's counters are shared with other test runs).
      const sent = jest.spyOn((store as unknown as { redis: Redis }).redis, 'sendCommand');
      await agg.flush();
      expect(agg.stats.writes).toBe(1);
      expect(await admin.zcard(store.key('AAPL', '1s'))).toBe(3_600);
      expect(await admin.zcard(store.key('AAPL', '1m'))).toBe(Math.ceil(5_000 / 60));
      sent.mockClear();
      expect((await store.query('AAPL', '1s', 1000)).at(-1)).toMatchObject({ t: t0 + 4_999_000, n: 1 });
      expect(sent.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(sent.mock.calls.length).toBeLessThanOrEqual(3);
      sent.mockRestore();
      await agg.stop();
    } finally {
      admin.disconnect();
      await store.close();
      await deleteKeys(keyPrefix);
    }
  }, 60_000);

  it('rejects writes while Redis is away instead of queueing them', async () => {
    const store = new RedisCandleStore({
      url: 'redis://127.0.0.1:1',
      keyPrefix: prefix(),
      connectTimeoutMs: 300,
    });
    await expect(store.connect()).rejects.toThrow();
    await expect(
      store.write([{ symbol: 'A', tf: '1s', t: 0, o: 1, h: 1, l: 1, c: 1, v: 1, n: 1, s: 1 }]),
    ).rejects.toThrow();
    await store.close();
  });
});

describe('CandleAggregator over Redis: a takeover', () => {
  it('continues the open candles another pod wrote, counting a redelivered tick once', async () => {
    const keyPrefix = prefix();
    const [storeA, storeB] = [await open(keyPrefix), await open(keyPrefix)];
    try {
      const t0 = Date.UTC(2026, 0, 5, 9);
      const ticks = Array.from({ length: 40 }, (_, i) => ({
        seq: 1000 + i,
        ts: t0 + i * 400,
        last: 50 + (i % 9),
      }));
      const feed = (agg: CandleAggregator, list: typeof ticks) => {
        const series = agg.series('MSFT');
        for (const t of list) agg.add(series, { ...t, lastSize: 1, volume: t.seq }, 1);
      };
      const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
      // Pod A owns MSFT for the first 25 ticks, then the partition moves to pod B, which gets the
      // last five of them again (redelivered from the last committed offset).
      const a = new CandleAggregator({ store: storeA, flushMs: 60_000 });
      feed(a, []);
      await settle();
      feed(a, ticks.slice(0, 25));
      await a.flush();
      const b = new CandleAggregator({ store: storeB, flushMs: 60_000 });
      feed(b, ticks.slice(20, 22));
      await settle();
      feed(b, ticks.slice(22));
      await b.flush();

      const minute = await storeB.query('MSFT', '1m', 10);
      expect(minute).toHaveLength(1);
      expect(minute[0]).toMatchObject({ t: t0, o: 50, c: ticks[39]!.last, n: 40 });
      const seconds = await storeA.query('MSFT', '1s', 100);
      expect(seconds.reduce((sum, c) => sum + c.n, 0)).toBe(40);
      expect(seconds.map((c) => c.t)).toEqual(Array.from({ length: 16 }, (_, i) => t0 + i * 1000));
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      await Promise.all([storeA.close(), storeB.close()]);
      await deleteKeys(keyPrefix);
    }
  });
});
