import { createUniverse } from '@tickhub/market-sim';
import type { Quote, QuoteUpdate } from '@tickhub/protocol';
import { SimTickSource } from '../../src/core/sim-tick-source';

describe('SimTickSource warm-up', () => {
  it('runs the configured simulated history, in time order and ending now, before the live ticks', async () => {
    const source = new SimTickSource({
      symbols: createUniverse(10),
      seed: 1,
      ratePerSec: 0,
      warmupSeconds: 600,
      warmupRate: 20,
    });
    const ticks: Array<Quote | QuoteUpdate> = [];
    const before = Date.now();
    await source.start({ onTicks: (batch) => ticks.push(...batch) });
    await source.stop();
    const warm = ticks.slice(0, source.warmupTicks);
    expect(source.warmupTicks).toBe(600 * 20);
    expect(warm[0]!.ts).toBeGreaterThanOrEqual(before - 600_000);
    expect(warm[0]!.ts).toBeLessThan(before - 599_000);
    for (let i = 1; i < warm.length; i++) expect(warm[i]!.ts).toBeGreaterThanOrEqual(warm[i - 1]!.ts);
    expect(warm.at(-1)!.ts).toBeLessThanOrEqual(Date.now());
    // seq keeps increasing per symbol from the warm-up into the live ticks.
    const last = new Map<string, number>();
    for (const t of ticks) {
      const previous = last.get(t.symbol);
      if (previous !== undefined) expect(t.seq).toBeGreaterThanOrEqual(previous);
      last.set(t.symbol, t.seq);
    }
  });

  it('below the live rate, each warm-up tick stands for the live ticks it replaces (n and traded volume)', async () => {
    const source = new SimTickSource({
      symbols: createUniverse(10),
      seed: 3,
      ratePerSec: 1000,
      warmupSeconds: 300,
      warmupRate: 20,
    });
    const ticks: Array<Quote | QuoteUpdate> = [];
    await source.start({ onTicks: (batch) => ticks.push(...batch) });
    await source.stop();
    const warm = ticks.slice(0, source.warmupTicks);
    expect(warm.length).toBe(300 * 20);
    expect(warm.every((t) => (t as QuoteUpdate).n === 50)).toBe(true);
    // A trade adds fifty times its size to the day volume.
    const volume = new Map<string, number>();
    let trades = 0;
    for (const t of warm) {
      const before = volume.get(t.symbol);
      volume.set(t.symbol, t.volume);
      if (before === undefined || t.volume === before) continue;
      trades++;
      expect(t.volume - before).toBeCloseTo(50 * t.lastSize, 4);
    }
    expect(trades).toBeGreaterThan(100);
  });

  it('has none unless asked for', async () => {
    const source = new SimTickSource({ symbols: createUniverse(3), seed: 1, ratePerSec: 0 });
    const ticks: Array<Quote | QuoteUpdate> = [];
    await source.start({ onTicks: (batch) => ticks.push(...batch) });
    await source.stop();
    expect(source.warmupTicks).toBe(0);
    expect(ticks).toHaveLength(3);
  });
});
