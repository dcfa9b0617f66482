import { MemoryBackplane } from '@tickhub/backplane';
import { CandleAggregator, MemoryCandleStore } from '@tickhub/candles';
import { ManualClock } from '../../src/core/clock';
import { SourceStage } from '../../src/core/source-stage';
import { quote, settle } from '../support/core';

const T0 = Date.UTC(2026, 0, 5, 14);

async function setup() {
  const clock = new ManualClock();
  const backplane = new MemoryBackplane({ podId: 'source-candles' });
  await backplane.connect();
  const store = new MemoryCandleStore();
  const candles = new CandleAggregator({ store, flushMs: 60_000 });
  const stage = new SourceStage({ backplane, clock, maxHz: 1, candles, isKnownSymbol: (s) => s !== 'JUNK' });
  return { clock, stage, store, candles };
}

describe('SourceStage feeding candles', () => {
  it('counts every tick, also those conflated away before publishing, and each only once', async () => {
    const { stage, store, candles } = await setup();
    // At 1 Hz, nine of these ten ticks are conflated into one update; all ten are in the candle.
    const ticks = Array.from({ length: 10 }, (_, i) =>
      quote('AAPL', i + 1, { ts: T0 + i * 10, last: 100 + i }),
    );
    stage.onTicks(ticks);
    await settle();
    // Redelivered ticks and a symbol outside the universe change nothing.
    stage.onTicks([...ticks.slice(5), quote('JUNK', 1, { ts: T0 })]);
    await candles.flush();
    expect(await store.query('AAPL', '1s', 10)).toEqual([
      { t: T0, o: 100, h: 109, l: 100, c: 109, v: 100, n: 10 },
    ]);
    expect(await store.query('JUNK', '1s', 10)).toEqual([]);
    expect(stage.counters.conflated).toBeGreaterThan(0);
  });

  it('folds the n of a tick the producer already conflated', async () => {
    const { stage, store, candles } = await setup();
    stage.onTicks([{ ...quote('MSFT', 1, { ts: T0 }), n: 4 }, quote('MSFT', 2, { ts: T0 + 1 })]);
    await settle();
    await candles.flush();
    expect((await store.query('MSFT', '1m', 1))[0]!.n).toBe(5);
  });

  it('after an ownership change continues the stored candles without counting a redelivered tick twice', async () => {
    const { stage, store, candles } = await setup();
    const ticks = Array.from({ length: 6 }, (_, i) =>
      quote('EURUSD', i + 1, { ts: T0 + i * 100, last: 1 + i / 10 }),
    );
    stage.onTicks(ticks.slice(0, 4));
    await settle();
    await candles.flush();
    stage.onOwnershipChange();
    stage.onTicks(ticks.slice(2));
    await settle();
    await candles.flush();
    const [candle] = await store.query('EURUSD', '1s', 10);
    expect(candle).toMatchObject({ t: T0, o: 1, c: 1.5, n: 6 });
  });
});
