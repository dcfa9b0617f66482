import { aggregate, BarHistory, latestAggregate } from '../src/bars';

describe('bar history', () => {
  it('builds one-second OHLC bars with traded volume from cumulative volume', () => {
    const h = new BarHistory();
    h.add(10_000, 100, 1000);
    h.add(10_400, 101, 1010);
    h.add(10_900, 99, 1030);
    h.add(11_100, 100.5, 1031);
    expect(h.bars).toEqual([
      { time: 10, open: 100, high: 101, low: 99, close: 99, volume: 30 },
      { time: 11, open: 100.5, high: 100.5, low: 100.5, close: 100.5, volume: 1 },
    ]);
  });

  it('folds a late update into the latest bar and ignores non-finite prices', () => {
    const h = new BarHistory();
    h.add(5_000, 10, 0);
    h.add(4_000, 12, 0);
    h.add(6_000, Number.NaN, 0);
    expect(h.bars).toEqual([{ time: 5, open: 10, high: 12, low: 10, close: 12, volume: 0 }]);
  });

  it('treats a volume reset (new day) as no trade rather than a negative bar', () => {
    const h = new BarHistory();
    h.add(1_000, 1, 500);
    h.add(2_000, 1, 20);
    expect(h.bars[1]?.volume).toBe(0);
  });

  it('stays within its limit', () => {
    const h = new BarHistory(3);
    for (let t = 0; t < 10; t++) h.add(t * 1000, t, t);
    expect(h.bars.map((b) => b.time)).toEqual([7, 8, 9]);
  });
});

describe('aggregation', () => {
  const h = new BarHistory();
  for (const [t, p] of [
    [0, 10],
    [1, 12],
    [4, 8],
    [5, 9],
    [7, 11],
  ] as const) {
    h.add(t * 1000, p, t * 10);
  }

  it('merges one-second bars into aligned wider bars', () => {
    expect(aggregate(h.bars, 5)).toEqual([
      { time: 0, open: 10, high: 12, low: 8, close: 8, volume: 40 },
      { time: 5, open: 9, high: 11, low: 9, close: 11, volume: 30 },
    ]);
    expect(aggregate(h.bars, 1)).toEqual(h.bars);
  });

  it('builds the latest wide bar from the tail alone', () => {
    expect(latestAggregate(h.bars, 5)).toEqual({ time: 5, open: 9, high: 11, low: 9, close: 11, volume: 30 });
    expect(latestAggregate([], 5)).toBeUndefined();
  });
});
