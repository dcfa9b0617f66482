import type { Quote, SymbolInfo } from '@tickhub/protocol';
import { Market } from '../src';

const T0 = Date.UTC(2026, 10, 25, 14, 30);

function run(market: Market, count: number, stepMs = 1): Quote[] {
  const out: Quote[] = [];
  for (let i = 0; i < count; i++) out.push(market.nextTick(T0 + Math.floor(i / 10) * stepMs));
  return out;
}

describe('Market', () => {
  it('simulates the default universe of at least 500 symbols', () => {
    const market = new Market();
    expect(market.symbols.length).toBeGreaterThanOrEqual(500);
    expect(new Set(market.symbols.map((s) => s.symbol)).size).toBe(market.symbols.length);
  });

  it('is deterministic for a seed', () => {
    const a = run(new Market({ seed: 7, startTime: T0 }), 20_000);
    const b = run(new Market({ seed: 7, startTime: T0 }), 20_000);
    expect(a).toEqual(b);
  });

  it('fill gives the same ticks as nextTick', () => {
    const a = new Market({ seed: 3 });
    const b = new Market({ seed: 3 });
    const out: Quote[] = [{} as Quote, {} as Quote, {} as Quote, {} as Quote, {} as Quote, {} as Quote];
    for (let k = 0; k < 100; k++) {
      const now = T0 + k * 5;
      b.fill(now, 37, out);
      expect(out.length).toBe(37);
      const expected = Array.from({ length: 37 }, () => a.nextTick(now));
      expect(out).toEqual(expected);
    }
    b.fill(T0 + 1000, 0, out);
    expect(out.length).toBe(0);
  });

  it('gives different seeds different sequences', () => {
    const a = run(new Market({ seed: 1 }), 1000);
    const b = run(new Market({ seed: 2 }), 1000);
    expect(a.map((q) => q.symbol)).not.toEqual(b.map((q) => q.symbol));
  });

  it('numbers each symbol’s ticks 1, 2, 3, … and stamps them with now', () => {
    const market = new Market({ seed: 11 });
    const seqs = new Map<string, number>();
    for (let i = 0; i < 50_000; i++) {
      const now = T0 + i;
      const q = market.nextTick(now);
      if (q.ts !== now) throw new Error(`ts ${q.ts}, expected ${now}`);
      const expected = (seqs.get(q.symbol) ?? 0) + 1;
      if (q.seq !== expected) throw new Error(`${q.symbol}: seq ${q.seq}, expected ${expected}`);
      seqs.set(q.symbol, expected);
    }
    for (const [symbol, seq] of seqs) expect(market.quote(symbol)?.seq).toBe(seq);
  });

  it('returns a new object for every tick', () => {
    const market = new Market({ symbols: 1 });
    const a = market.nextTick(T0);
    const b = market.nextTick(T0 + 1);
    expect(a).not.toBe(b);
    expect(a.seq).toBe(1);
    expect(b.seq).toBe(2);
  });

  it('keeps quotes consistent: positive prices, bid < ask, low ≤ last ≤ high, volume grows by trades', () => {
    const market = new Market({ seed: 5, symbols: 600 });
    const previous = new Map<string, Quote>();
    const problems: string[] = [];
    let trades = 0;
    let quoteOnly = 0;
    // Ten simulated minutes, so prices move and volatile regimes come and go. Plain checks in the loop:
    // expect() per tick would dominate the run time.
    for (let i = 0; i < 200_000 && problems.length < 5; i++) {
      const now = T0 + i * 3;
      const q = market.nextTick(now);
      const consistent =
        q.bid > 0 &&
        q.ask > q.bid &&
        q.bidSize > 0 &&
        q.askSize > 0 &&
        q.low > 0 &&
        q.low <= q.last &&
        q.last <= q.high &&
        q.low <= q.open &&
        q.open <= q.high &&
        q.volume >= 0 &&
        q.lastSize >= 0;
      if (!consistent) problems.push(`inconsistent ${JSON.stringify(q)}`);
      const p = previous.get(q.symbol);
      if (p !== undefined) {
        if (q.volume > p.volume) {
          trades++;
          if (Math.abs(q.volume - p.volume - q.lastSize) > 1e-6 * q.volume)
            problems.push(`volume ${JSON.stringify([p, q])}`);
          if (q.last !== q.bid && q.last !== q.ask) problems.push(`trade off the book ${JSON.stringify(q)}`);
        } else {
          quoteOnly++;
          if (q.volume !== p.volume || q.last !== p.last)
            problems.push(`quote-only tick changed trade ${JSON.stringify(q)}`);
        }
        if (q.open !== p.open || q.high < p.high || q.low > p.low)
          problems.push(`day range ${JSON.stringify([p, q])}`);
      }
      previous.set(q.symbol, q);
    }
    expect(problems).toEqual([]);
    expect(trades).toBeGreaterThan(10_000);
    expect(quoteOnly).toBeGreaterThan(10_000);
  });

  it('rounds prices to the symbol’s decimals', () => {
    const market = new Market({ seed: 9 });
    const decimals = new Map(market.symbols.map((s) => [s.symbol, s.priceDecimals]));
    const problems: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const q = market.nextTick(T0 + i * 10);
      const d = decimals.get(q.symbol)!;
      for (const price of [q.bid, q.ask, q.last, q.high, q.low, q.open]) {
        if (Number(price.toFixed(d)) !== price)
          problems.push(`${q.symbol} ${price} has more than ${d} decimals`);
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
  });

  it('moves prices over time like a random walk with volatility of the right order', () => {
    const market = new Market({ seed: 21, symbols: 1 });
    const start = market.quote('AAPL')!;
    const mids: number[] = [];
    // One tick per second for a simulated trading day.
    for (let i = 1; i <= 23_400; i++) {
      const q = market.nextTick(T0 + i * 1000);
      mids.push((q.bid + q.ask) / 2);
    }
    const returns = mids.slice(1).map((m, i) => Math.log(m / mids[i]!));
    const sd = Math.sqrt(returns.reduce((s, r) => s + r * r, 0) / returns.length);
    const annualised = sd * Math.sqrt(252 * 23_400);
    // Equity volatility is 15–60 % a year; spread noise and volatile regimes add a little.
    expect(annualised).toBeGreaterThan(0.1);
    expect(annualised).toBeLessThan(2);
    expect(new Set(mids).size).toBeGreaterThan(100);
    expect(Math.abs(Math.log(mids.at(-1)! / ((start.bid + start.ask) / 2)))).toBeLessThan(0.3);
  });

  it('switches into volatile regimes now and then (volatility clusters)', () => {
    const market = new Market({ seed: 8, symbols: 1 });
    const window = 600; // one minute at ten ticks per second
    const vols: number[] = [];
    let sum = 0;
    let prevMid = (market.quote('AAPL')!.bid + market.quote('AAPL')!.ask) / 2;
    for (let i = 1; i <= 120 * window; i++) {
      const q = market.nextTick(T0 + i * 100);
      const mid = (q.bid + q.ask) / 2;
      const r = Math.log(mid / prevMid);
      prevMid = mid;
      sum += r * r;
      if (i % window === 0) {
        vols.push(Math.sqrt(sum / window));
        sum = 0;
      }
    }
    const sorted = [...vols].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    // Calm minutes dominate; a regime minute shows several times the usual volatility.
    expect(sorted.at(-1)! / median).toBeGreaterThan(2);
  });

  it('enters volatile regimes per second of time, not per tick: a fast symbol is calm as often as a slow one', () => {
    // A regime widens the spread 2.5–5×: the share of ticks quoted that wide is the time spent in one.
    const shareInRegime = (ticksPerSecond: number) => {
      const market = new Market({ seed: 8, symbols: 1 });
      const spreads: number[] = [];
      for (let i = 1; i <= ticksPerSecond * 3600; i++) {
        const q = market.nextTick(T0 + (i * 1000) / ticksPerSecond);
        spreads.push((q.ask - q.bid) / ((q.ask + q.bid) / 2));
      }
      const calm = spreads.reduce((a, b) => Math.min(a, b));
      return spreads.filter((x) => x > 2.2 * calm).length / spreads.length;
    };
    const fast = shareInRegime(100);
    const slow = shareInRegime(2);
    // Per tick, a symbol at 100 ticks a second would spend nearly all its time in regimes.
    expect(fast).toBeLessThan(0.4);
    expect(slow).toBeLessThan(0.4);
    expect(Math.abs(fast - slow)).toBeLessThan(0.2);
  });

  it('a tick of weight k adds k times its trade size to the day volume and moves prices the same', () => {
    const plain = new Market({ seed: 5, symbols: 20 });
    const weighted = new Market({ seed: 5, symbols: 20 });
    const a: Quote[] = [];
    const b: Quote[] = [];
    for (let t = 0; t < 50; t++) {
      plain.fill(T0 + t * 1000, 40, a);
      weighted.fill(T0 + t * 1000, 40, b, 5);
      for (let i = 0; i < a.length; i++) {
        expect(b[i]).toEqual({ ...a[i]!, volume: b[i]!.volume });
        expect(b[i]!.volume).toBeCloseTo(a[i]!.volume * 5, 6);
      }
    }
    expect(() => weighted.fill(T0 + 60_000, 1, b, 0.5)).toThrow(RangeError);
  });

  it('sizes the book realistically per asset class', () => {
    const market = new Market({ seed: 4 });
    const classOf = new Map(market.symbols.map((s) => [s.symbol, s.assetClass]));
    const problems: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const q = market.nextTick(T0 + i);
      const c = classOf.get(q.symbol);
      if (c === 'equity' && (q.bidSize % 100 !== 0 || !Number.isInteger(q.lastSize))) {
        problems.push(`equity sizes ${JSON.stringify(q)}`);
      } else if (c === 'fx' && (q.bidSize < 1_000_000 || (q.ask - q.bid) / q.bid >= 0.001)) {
        problems.push(`fx book ${JSON.stringify(q)}`);
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
    const btc = market.quote('BTCUSD')!;
    expect(btc.bidSize).toBeLessThan(10);
    expect(btc.ask - btc.bid).toBeLessThan(btc.bid * 0.001);
  });

  it('follows a Zipf-like activity: the top symbol ticks far more than the median one', () => {
    const market = new Market({ seed: 13 });
    const counts = new Map<string, number>();
    for (let i = 0; i < 200_000; i++) {
      const q = market.nextTick(T0);
      counts.set(q.symbol, (counts.get(q.symbol) ?? 0) + 1);
    }
    const byRank = market.symbols.map((s) => counts.get(s.symbol) ?? 0);
    const sorted = [...byRank].sort((a, b) => b - a);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    expect(byRank[0]).toBe(sorted[0]);
    expect(byRank[0]!).toBeGreaterThan(50 * Math.max(1, median));
    // Every symbol gets some activity.
    expect(sorted.at(-1)!).toBeGreaterThan(0);
  });

  it('spreads activity evenly with a Zipf exponent of 0', () => {
    const market = new Market({ seed: 13, symbols: 10, zipfExponent: 0 });
    const counts = new Map<string, number>();
    for (let i = 0; i < 50_000; i++) {
      const q = market.nextTick(T0);
      counts.set(q.symbol, (counts.get(q.symbol) ?? 0) + 1);
    }
    for (const c of counts.values()) expect(Math.abs(c - 5000)).toBeLessThan(500);
  });

  it('starts a new day at UTC midnight: volume resets, open is the last price', () => {
    const market = new Market({ seed: 2, symbols: 3 });
    const lateEvening = Date.UTC(2026, 10, 25, 23, 59);
    let q: Quote | undefined;
    for (let i = 0; i < 3000; i++) q = market.nextTick(lateEvening + i);
    expect(market.quote('AAPL')!.volume).toBeGreaterThan(0);
    const before = market.quote('AAPL')!;
    const nextDay = Date.UTC(2026, 10, 26, 0, 0, 1);
    let after: Quote;
    do after = market.nextTick(nextDay);
    while (after.symbol !== 'AAPL');
    expect(after.open).toBe(before.last);
    expect(after.volume).toBe(after.volume === 0 ? 0 : after.lastSize);
    expect(q).toBeDefined();
  });

  it('counts seq from firstSeq when given one', () => {
    const first = 1_764_115_200_000_001; // a start time in microseconds, as sources use
    const market = new Market({ seed: 1, startTime: T0, firstSeq: first });
    expect(market.quote('MSFT')!.seq).toBe(first - 1);
    const seqs = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const q = market.nextTick(T0 + i);
      expect(q.seq).toBe((seqs.get(q.symbol) ?? first - 1) + 1);
      seqs.set(q.symbol, q.seq);
    }
    expect(() => new Market({ firstSeq: 0 })).toThrow(/firstSeq/);
    expect(() => new Market({ firstSeq: 1.5 })).toThrow(/firstSeq/);
    expect(() => new Market({ firstSeq: 2 ** 53 })).toThrow(/firstSeq/);
  });

  it('reports the current state of a symbol', () => {
    const market = new Market({ seed: 1, startTime: T0 });
    const initial = market.quote('MSFT')!;
    expect(initial).toMatchObject({ symbol: 'MSFT', seq: 0, ts: T0, volume: 0 });
    expect(initial.ask).toBeGreaterThan(initial.bid);
    expect(market.quote('NOPE')).toBeUndefined();
    let last: Quote;
    do last = market.nextTick(T0 + 5);
    while (last.symbol !== 'MSFT');
    expect(market.quote('MSFT')).toEqual(last);
  });

  it('rejects a time or count that is not a number of the right kind', () => {
    const market = new Market({ seed: 1 });
    const out: Quote[] = [];
    expect(() => market.nextTick(Number.NaN)).toThrow(/now/);
    expect(() => market.fill(Number.POSITIVE_INFINITY, 1, out)).toThrow(/now/);
    expect(() => market.fill(T0, -1, out)).toThrow(/count/);
    expect(() => market.fill(T0, 1.5, out)).toThrow(/count/);
    // Nothing advanced: the next tick is the first of its symbol.
    expect(market.nextTick(T0).seq).toBe(1);
  });

  it('accepts a custom symbol list', () => {
    const symbols: SymbolInfo[] = [
      { symbol: 'ABC', name: 'ABC Corp.', assetClass: 'equity', priceDecimals: 2, currency: 'USD' },
      { symbol: 'XYZUSD', name: 'XYZ coin', assetClass: 'crypto', priceDecimals: 6, currency: 'USD' },
    ];
    const market = new Market({ symbols });
    expect(market.symbols.map((s) => s.symbol)).toEqual(['ABC', 'XYZUSD']);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(market.nextTick(T0 + i).symbol);
    expect(seen).toEqual(new Set(['ABC', 'XYZUSD']));
    // The market keeps its own copy.
    symbols[0]!.symbol = 'CHANGED';
    expect(market.symbols[0]!.symbol).toBe('ABC');
  });

  it.each<[string, ConstructorParameters<typeof Market>[0], RegExp]>([
    ['no symbols', { symbols: [] }, /at least one symbol/],
    [
      'duplicate symbols',
      {
        symbols: [
          { symbol: 'A', name: 'A', assetClass: 'equity', priceDecimals: 2, currency: 'USD' },
          { symbol: 'A', name: 'A', assetClass: 'equity', priceDecimals: 2, currency: 'USD' },
        ],
      },
      /twice/,
    ],
    [
      'bad decimals',
      { symbols: [{ symbol: 'A', name: 'A', assetClass: 'equity', priceDecimals: -1, currency: 'USD' }] },
      /priceDecimals/,
    ],
    [
      'unknown asset class',
      {
        symbols: [
          { symbol: 'A', name: 'A', assetClass: 'toString' as 'equity', priceDecimals: 2, currency: 'USD' },
        ],
      },
      /asset class/,
    ],
    ['NaN seed', { seed: Number.NaN }, /seed/],
    ['negative Zipf exponent', { zipfExponent: -1 }, /zipfExponent/],
    ['infinite start time', { startTime: Number.POSITIVE_INFINITY }, /startTime/],
  ])('rejects %s', (_name, options, message) => {
    expect(() => new Market(options)).toThrow(message);
  });
});
