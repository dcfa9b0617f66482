import { LiveBars } from '../src/bars';

const candle = (t: number, o: number, h: number, l: number, c: number, v: number) => ({
  t,
  o,
  h,
  l,
  c,
  v,
  n: 1,
});

describe('live bars', () => {
  it('starts from the served history and extends it: same bar, then the next', () => {
    const bars = new LiveBars(60);
    bars.load([candle(60_000, 10, 12, 9, 11, 100), candle(120_000, 11, 11.5, 10.5, 11, 40)]);
    // The first update sets the volume baseline (the history counted up to now).
    expect(bars.add(150_000, 11.8, 5000)).toMatchObject({ time: 120, high: 11.8, close: 11.8, volume: 40 });
    expect(bars.add(170_000, 10.2, 5010)).toMatchObject({ time: 120, low: 10.2, close: 10.2, volume: 50 });
    expect(bars.add(185_000, 10.4, 5013)).toEqual({
      time: 180,
      open: 10.4,
      high: 10.4,
      low: 10.4,
      close: 10.4,
      volume: 3,
    });
    expect(bars.bars.map((b) => b.time)).toEqual([60, 120, 180]);
  });

  it('leaves out an update before the newest bar and a non-finite price', () => {
    const bars = new LiveBars(1);
    bars.load([candle(5_000, 1, 1, 1, 1, 1)]);
    expect(bars.add(4_000, 2, 10)).toBeUndefined();
    expect(bars.add(6_000, Number.NaN, 10)).toBeUndefined();
    expect(bars.bars).toHaveLength(1);
  });

  it('treats a volume reset (new day) as no trade rather than a negative bar', () => {
    const bars = new LiveBars(1);
    bars.add(1_000, 1, 500);
    bars.add(2_000, 1, 20);
    expect(bars.bars[1]?.volume).toBe(0);
  });

  it('keeps at most its limit of bars', () => {
    const bars = new LiveBars(1, 3);
    bars.load([1, 2, 3, 4].map((i) => candle(i * 1000, i, i, i, i, 1)));
    expect(bars.bars.map((b) => b.time)).toEqual([2, 3, 4]);
    bars.add(5_000, 5, 1);
    expect(bars.bars.map((b) => b.time)).toEqual([3, 4, 5]);
  });
});
