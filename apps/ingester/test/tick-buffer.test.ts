import type { Quote } from '@tickhub/protocol';
import fc from 'fast-check';
import { ConflatingTickBuffer, TickBatch } from '../src/tick-buffer';

function tick(symbol: string, seq: number): Quote {
  return {
    symbol,
    seq,
    ts: 1_700_000_000_000 + seq,
    bid: 10,
    ask: 10.01,
    bidSize: 100,
    askSize: 100,
    last: 10,
    lastSize: 1,
    volume: seq,
    open: 10,
    high: 10,
    low: 10,
  };
}

describe('ConflatingTickBuffer', () => {
  it('keeps ticks in arrival order while it has room, folding nothing', () => {
    const buffer = new ConflatingTickBuffer(10);
    for (let i = 1; i <= 10; i++) buffer.push(tick(i % 2 ? 'A' : 'B', Math.ceil(i / 2)), 1000 + i);
    const batch = new TickBatch();
    expect(buffer.drain(100, batch)).toBe(10);
    expect(batch.quotes.map((q) => `${q.symbol}${q.seq}`)).toEqual([
      'A1',
      'B1',
      'A2',
      'B2',
      'A3',
      'B3',
      'A4',
      'B4',
      'A5',
      'B5',
    ]);
    expect(batch.folded.every((n) => n === 1)).toBe(true);
    expect(batch.producedAt).toEqual([1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010]);
    expect(buffer.folded).toBe(0);
    expect(buffer.size).toBe(0);
  });

  it('conflates per symbol once full: latest wins, n counts what it stands for, memory bounded by symbols', () => {
    const buffer = new ConflatingTickBuffer(3);
    for (let seq = 1; seq <= 1000; seq++) {
      buffer.push(tick('A', seq), seq);
      buffer.push(tick('B', seq), seq);
    }
    expect(buffer.size).toBe(3 + 2);
    expect(buffer.highWater).toBe(5);
    const batch = new TickBatch();
    buffer.drain(100, batch);
    expect(batch.quotes.map((q) => `${q.symbol}${q.seq}`)).toEqual(['A1', 'B1', 'A2', 'B1000', 'A1000']);
    expect(batch.folded).toEqual([1, 1, 1, 999, 998]);
    expect(batch.producedAt.slice(3)).toEqual([1000, 1000]);
    expect(buffer.folded).toBe(2000 - 5);
  });

  it('never lets a new tick overtake a conflated one of the same symbol', () => {
    const buffer = new ConflatingTickBuffer(2);
    buffer.push(tick('A', 1), 0);
    buffer.push(tick('A', 2), 0);
    buffer.push(tick('A', 3), 0); // ring full: conflation map
    const batch = new TickBatch();
    buffer.drain(1, batch); // A1 out, ring has room again, but A3 still waits in the map
    expect(batch.quotes[0]!.seq).toBe(1);
    expect(buffer.hasRoom).toBe(false);
    buffer.push(tick('A', 4), 0); // folds into the map entry instead of jumping the queue
    buffer.drain(10, batch);
    expect(batch.quotes.map((q) => q.seq)).toEqual([2, 4]);
    expect(batch.folded).toEqual([1, 2]);
    expect(buffer.hasRoom).toBe(true);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new ConflatingTickBuffer(0)).toThrow(RangeError);
    expect(() => new ConflatingTickBuffer(1.5)).toThrow(RangeError);
  });

  it('for any interleaving of pushes and drains: per-symbol order, folded = seq gaps = Σ(n-1), size bounded', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('push' as const),
        symbol: fc.integer({ min: 0, max: 5 }),
        count: fc.integer({ min: 1, max: 20 }),
      }),
      fc.record({ kind: fc.constant('drain' as const), max: fc.integer({ min: 1, max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.array(op, { maxLength: 200 }), (capacity, ops) => {
        const buffer = new ConflatingTickBuffer(capacity);
        const next = new Map<string, number>();
        const lastOut = new Map<string, number>();
        const batch = new TickBatch();
        let gaps = 0;
        let nMinusOne = 0;
        const take = (max: number) => {
          buffer.drain(max, batch);
          for (let i = 0; i < batch.length; i++) {
            const q = batch.quotes[i]!;
            const prev = lastOut.get(q.symbol) ?? 0;
            if (q.seq <= prev) return false;
            if (batch.folded[i] !== q.seq - prev) return false;
            gaps += q.seq - prev - 1;
            nMinusOne += batch.folded[i]! - 1;
            lastOut.set(q.symbol, q.seq);
          }
          return true;
        };
        for (const o of ops) {
          if (o.kind === 'push') {
            const symbol = `S${o.symbol}`;
            for (let i = 0; i < o.count; i++) {
              const seq = (next.get(symbol) ?? 0) + 1;
              next.set(symbol, seq);
              buffer.push(tick(symbol, seq), 0);
              if (buffer.size > capacity + 6) return false;
            }
          } else if (!take(o.max)) return false;
        }
        if (!take(Number.MAX_SAFE_INTEGER)) return false;
        // Everything ends up published: each symbol's last tick is out, the rest is accounted as folded.
        for (const [symbol, seq] of next) if (lastOut.get(symbol) !== seq) return false;
        return gaps === buffer.folded && nMinusOne === buffer.folded && buffer.size === 0;
      }),
      { numRuns: 300 },
    );
  });
});
