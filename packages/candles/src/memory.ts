import { CANDLE_RETENTION, type Candle, TIMEFRAMES, type Timeframe } from '@tickhub/protocol';
import type { CandleStore, CandleWrite, LatestCandles, StoredCandle } from './store';

const FIELDS = 8; // t, o, h, l, c, v, n, s
const INITIAL_CAPACITY = 64;

/**
 * The candles of one symbol and timeframe: a ring of up to `retention` candles in one typed array,
 * ordered by start time. Typed, so that a store of millions of candles is no work for the garbage
 * collector; it grows by doubling up to the retention.
 */
class CandleRing {
  private data = new Float64Array(INITIAL_CAPACITY * FIELDS);
  private capacity = INITIAL_CAPACITY;
  private head = 0;
  length = 0;

  constructor(private readonly retention: number) {}

  /** Offset in `data` of the candle at logical index i (0 = oldest). */
  private at(i: number): number {
    return ((this.head + i) % this.capacity) * FIELDS;
  }

  t(i: number): number {
    return this.data[this.at(i)]!;
  }

  upsert(w: StoredCandle): void {
    const n = this.length;
    if (n > 0) {
      const lastT = this.t(n - 1);
      if (lastT === w.t) {
        // The open candle again: the common case of every flush.
        const o = this.at(n - 1);
        if (w.s > this.data[o + 7]!) this.put(o, w);
        return;
      }
      if (lastT > w.t) {
        this.insertOlder(w);
        return;
      }
    }
    if (n === this.retention) {
      this.put(this.at(0), w);
      this.head = (this.head + 1) % this.capacity;
      return;
    }
    if (n === this.capacity) this.grow();
    this.put(this.at(n), w);
    this.length = n + 1;
  }

  /** A candle before the newest one: replaces its twin, or is inserted in order (rare: late writes). */
  private insertOlder(w: StoredCandle): void {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t(mid) < w.t) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.length && this.t(lo) === w.t) {
      const o = this.at(lo);
      if (w.s > this.data[o + 7]!) this.put(o, w);
      return;
    }
    if (this.length === this.retention) {
      // Older than everything kept: it would be the one dropped.
      if (lo === 0) return;
      // Drop the oldest, shift the older part down by one, and put it in the gap.
      this.head = (this.head + 1) % this.capacity;
      this.length--;
      lo--;
      for (let i = 0; i < lo; i++) this.data.copyWithin(this.at(i), this.at(i + 1), this.at(i + 1) + FIELDS);
    } else {
      if (this.length === this.capacity) this.grow();
      for (let i = this.length; i > lo; i--)
        this.data.copyWithin(this.at(i), this.at(i - 1), this.at(i - 1) + FIELDS);
    }
    this.put(this.at(lo), w);
    this.length++;
  }

  private put(o: number, w: StoredCandle): void {
    const d = this.data;
    d[o] = w.t;
    d[o + 1] = w.o;
    d[o + 2] = w.h;
    d[o + 3] = w.l;
    d[o + 4] = w.c;
    d[o + 5] = w.v;
    d[o + 6] = w.n;
    d[o + 7] = w.s;
  }

  private grow(): void {
    const capacity = Math.min(this.capacity * 2, this.retention);
    const data = new Float64Array(capacity * FIELDS);
    for (let i = 0; i < this.length; i++)
      data.set(this.data.subarray(this.at(i), this.at(i) + FIELDS), i * FIELDS);
    this.data = data;
    this.capacity = capacity;
    this.head = 0;
  }

  candle(i: number): StoredCandle {
    const o = this.at(i);
    const d = this.data;
    return {
      t: d[o]!,
      o: d[o + 1]!,
      h: d[o + 2]!,
      l: d[o + 3]!,
      c: d[o + 4]!,
      v: d[o + 5]!,
      n: d[o + 6]!,
      s: d[o + 7]!,
    };
  }
}

/** The in-memory twin of the candle store (embedded mode). */
export class MemoryCandleStore implements CandleStore {
  /** Per symbol: its ring of each timeframe, in the order of TIMEFRAMES (absent until written). */
  private readonly series = new Map<string, Array<CandleRing | undefined>>();

  async write(batch: readonly CandleWrite[]): Promise<void> {
    // A flush writes a symbol's timeframes one after the other: one lookup serves them all.
    let symbol: string | undefined;
    let rings: Array<CandleRing | undefined> = [];
    for (let i = 0; i < batch.length; i++) {
      const w = batch[i]!;
      if (w.symbol !== symbol) {
        symbol = w.symbol;
        rings = this.rings(symbol);
      }
      const k = TIMEFRAMES.indexOf(w.tf);
      if (k < 0) throw new TypeError(`unknown timeframe ${String(w.tf)}`);
      let ring = rings[k];
      if (!ring) {
        ring = new CandleRing(CANDLE_RETENTION[w.tf]);
        rings[k] = ring;
      }
      ring.upsert(w);
    }
  }

  private rings(symbol: string): Array<CandleRing | undefined> {
    let rings = this.series.get(symbol);
    if (!rings) {
      rings = TIMEFRAMES.map(() => undefined);
      this.series.set(symbol, rings);
    }
    return rings;
  }

  private ring(symbol: string, tf: Timeframe): CandleRing | undefined {
    return this.series.get(symbol)?.[TIMEFRAMES.indexOf(tf)];
  }

  async query(symbol: string, tf: Timeframe, limit: number): Promise<Candle[]> {
    const ring = this.ring(symbol, tf);
    if (!ring) return [];
    const count = Math.min(limit, ring.length);
    const out = new Array<Candle>(count);
    for (let i = 0, from = ring.length - count; i < count; i++) {
      const { s: _s, ...candle } = ring.candle(from + i);
      out[i] = candle;
    }
    return out;
  }

  async latest(symbol: string): Promise<LatestCandles> {
    const out: LatestCandles = {};
    const rings = this.series.get(symbol);
    if (!rings) return out;
    for (let k = 0; k < TIMEFRAMES.length; k++) {
      const ring = rings[k];
      if (ring && ring.length > 0) out[TIMEFRAMES[k]!] = ring.candle(ring.length - 1);
    }
    return out;
  }

  /** Symbol-timeframe series held. */
  size(): number {
    let n = 0;
    for (const rings of this.series.values()) for (const ring of rings) if (ring) n++;
    return n;
  }
}
