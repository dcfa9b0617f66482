import { TIMEFRAME_MS, TIMEFRAMES, type Timeframe } from '@tickhub/protocol';
import type { CandleStore, CandleWrite, LatestCandles } from './store';

const TF_COUNT = TIMEFRAMES.length;
const DURATIONS = TIMEFRAMES.map((tf) => TIMEFRAME_MS[tf]);
const SHORTEST_MS = DURATIONS[0]!;
// Fields of a candle (a stored candle, and each longer candle in a series' cold slot).
const T = 0;
const O = 1;
const H = 2;
const L = 3;
const C = 4;
const V = 5;
const N = 6;
const S = 7;
const FIELDS = 8;
// A series' hot slot: exactly what folding a tick reads and writes, eight numbers (64 bytes, a cache
// line's size) per series in an array of their own: the slots of 500 symbols take 32 KB. The open 1s
// candle's high, low, close, volume and count live here; its last seq is the series' seq, which a
// fold sets after the candle it closes (if any) took the previous one.
const SEQ = 0;
const PREV_VOLUME = 1;
const END = 2;
const HOT_H = 3;
const HOT_L = 4;
const HOT_C = 5;
const HOT_V = 6;
const HOT_N = 7;
const HOT = 8;
// A series' cold slot: the open 1s candle's start and open (written once per second), then the
// longer timeframes' candles.
const OPEN_T = 0;
const OPEN_O = 1;
const LONGER = 2;
const STRIDE = LONGER + (TF_COUNT - 1) * FIELDS;
/** Offset of longer candle k (k ≥ 1) in a series' cold slot. */
const at = (k: number): number => LONGER + (k - 1) * FIELDS;
const INITIAL_SERIES = 64;
/** Ticks a series holds while its open candles are read from the store (a takeover); more are counted and dropped. */
const MAX_LOADING_TICKS = 50_000;
/** Numbers a buffered tick takes: seq, ts, last, lastSize, volume and its n. */
const BUFFERED_FIELDS = 6;
/** Closed candles waiting for a write past which the oldest are dropped (the store would keep the newest). */
const MAX_PENDING_CLOSED = 200_000;
/** Closed candles that make a flush go out on the next turn instead of after flushMs (a replay at full speed). */
const EARLY_FLUSH_CLOSED = 10_000;

/**
 * The candles of one symbol: a hot and a cold slot in the aggregator's two typed arrays (folding a
 * tick allocates nothing and touches only the hot slot, the cold one once per second). A tick updates
 * only the open candle of the shortest timeframe (1s); when that closes it is merged into the longer
 * ones, and a flush writes each longer candle as what it holds merged with the open 1s candle.
 * Candle boundaries nest (every 1m boundary is a 1s boundary, ...), so this is exact, and a tick
 * costs one candle update instead of one per timeframe.
 *
 * Created by CandleAggregator.series(); the caller keeps it next to its own per-symbol state.
 */
export class CandleSeries {
  /** In the aggregator's `dirty` list: its open 1s candle changed since the last batch was taken. */
  queued = false;
  loading = true;
  /**
   * Ticks that arrive while the open candles are read from the store, as their numbers (BUFFERED_FIELDS
   * each): the decoded tick objects are not kept, so that they die young in every case and V8 keeps
   * allocating them in the young generation (ticks that survive scavenges make it allocate every later
   * one in the old generation, which then needs a full collection every few hundred thousand ticks).
   */
  buffered: number[] = [];
  /** Bit k: the longer candle k took a closed 1s candle since the last flush. */
  accBits = 0;
  /**
   * A 1s candle continued from the store is already inside the stored longer candles: its volume and
   * count at load are subtracted when it is merged into them (high, low, open and close merge alike).
   * baseV and baseN count only while baseT is the open candle's start. All three start as doubles
   * (NaN), what the store's numbers are: a field that starts as a small integer and later takes a
   * double changes the object's shape, and V8 drops the optimized code of every caller at the first
   * takeover.
   */
  baseT = Number.NaN;
  baseV = Number.NaN;
  baseN = Number.NaN;

  constructor(
    readonly symbol: string,
    readonly epoch: number,
    /** Offsets of the series' slots in the aggregator's hot and cold arrays. */
    readonly hot: number,
    readonly cold: number,
  ) {}
}

/**
 * A candle to write: a plain object (its prototype is Object.prototype, as a literal's) made by a
 * constructor rather than by an object literal. V8 decides per object literal whether to allocate
 * its objects in the old generation (allocation-site pretenuring); the closed candles, which wait up
 * to a flush for their write, made it decide so for every candle, and each flush's thousands became
 * garbage that only full collections reclaim. Objects made by a constructor are always young.
 */
function CandleWriteObject(
  this: CandleWrite,
  symbol: string,
  tf: Timeframe,
  t: number,
  o: number,
  h: number,
  l: number,
  c: number,
  v: number,
  n: number,
  s: number,
): void {
  this.symbol = symbol;
  this.tf = tf;
  this.t = t;
  this.o = o;
  this.h = h;
  this.l = l;
  this.c = c;
  this.v = v;
  this.n = n;
  this.s = s;
}
CandleWriteObject.prototype = Object.prototype;
const Write = CandleWriteObject as unknown as new (
  ...args: Parameters<typeof CandleWriteObject>
) => CandleWrite;

/** What candles take from a tick (a Quote has it). */
export interface CandleTick {
  readonly seq: number;
  readonly ts: number;
  readonly last: number;
  readonly lastSize: number;
  readonly volume: number;
}

type MutableCandleTick = { -readonly [K in keyof CandleTick]: CandleTick[K] };

export interface CandleAggregatorOptions {
  store: CandleStore;
  /** How long changed candles wait before they are written together (one pipelined write). */
  flushMs: number;
  onError?: (error: unknown, what: 'write' | 'load') => void;
}

export interface CandleAggregatorStats {
  stale: number;
  candlesWritten: number;
  writes: number;
  writeFailures: number;
  loadFailures: number;
  /** Candles or ticks dropped at a bound (store away for long, or a takeover read that never ends). */
  dropped: number;
}

/**
 * Folds every source tick of the symbols this pod owns into OHLCV candles of each timeframe (`o/h/l/c`
 * from `last`, `v` from the traded size, `n` the ticks) and writes the changed ones to the store
 * together, at most every `flushMs`.
 *
 * Time is the tick's `ts`, not the wall clock: a replay of recorded ticks builds the candles of when
 * they happened. A tick whose `ts` falls before the open candle (a clock that stepped back) is folded
 * into it, so no candle is reopened. A candle needs no timer to close: it is written as it changes,
 * so a quiet symbol's candle is complete in the store at its boundary, and the next tick opens the
 * next one; a period without ticks has no candle.
 *
 * On takeover, a new series first reads the newest stored candle of each timeframe and continues it;
 * each timeframe folds only ticks with a seq above its candle's, so nothing is counted twice.
 */
export class CandleAggregator {
  private readonly series_ = new Map<string, CandleSeries>();
  /** Every series' hot slot (HOT numbers each) and cold slot (STRIDE), grown by doubling; see CandleSeries. */
  private hot = new Float64Array(INITIAL_SERIES * HOT);
  private cold = new Float64Array(INITIAL_SERIES * STRIDE);
  private slots = 0;
  private dirty: CandleSeries[] = [];
  private closed: CandleWrite[] = [];
  private epoch = 0;
  /** The one object a buffered tick is folded from (fold reads a tick's fields); doubles from the start, as above. */
  private readonly replayed: MutableCandleTick = {
    seq: Number.NaN,
    ts: Number.NaN,
    last: Number.NaN,
    lastSize: Number.NaN,
    volume: Number.NaN,
  };
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  /** Series whose stored candles are still being read (their ticks wait in `buffered`). */
  private loadingSeries = 0;
  /** settled() callers, released by the write of the first batch taken once no series is loading. */
  private waiters: Array<(stored: boolean) => void> = [];
  /** Whether the write in flight stored its batch. */
  private inFlightStored: Promise<boolean> | undefined;
  readonly stats: CandleAggregatorStats = {
    stale: 0,
    candlesWritten: 0,
    writes: 0,
    writeFailures: 0,
    loadFailures: 0,
    dropped: 0,
  };

  constructor(private readonly options: CandleAggregatorOptions) {}

  /** The series of a symbol, created on first use: it reads where the store's candles end. */
  series(symbol: string): CandleSeries {
    let s = this.series_.get(symbol);
    if (s) return s;
    const slot = this.allocate();
    s = new CandleSeries(symbol, this.epoch, slot * HOT, slot * STRIDE);
    this.series_.set(symbol, s);
    this.loadingSeries++;
    const series = s;
    this.options.store.latest(symbol).then(
      (latest) => this.loaded(series, latest),
      (error: unknown) => {
        this.stats.loadFailures++;
        this.options.onError?.(error, 'load');
        this.loaded(series, {});
      },
    );
    return s;
  }

  /** A new series' slot number. */
  private allocate(): number {
    const slot = this.slots++;
    if (slot * HOT >= this.hot.length) {
      const hot = new Float64Array(this.hot.length * 2);
      hot.set(this.hot);
      this.hot = hot;
      const cold = new Float64Array(this.cold.length * 2);
      cold.set(this.cold);
      this.cold = cold;
    }
    const h = this.hot;
    const i = slot * HOT;
    h[i + SEQ] = -1;
    h[i + PREV_VOLUME] = Number.NaN;
    h[i + END] = Number.NaN;
    const c = this.cold;
    const o = slot * STRIDE;
    c[o + OPEN_T] = Number.NaN;
    for (let k = 1; k < TF_COUNT; k++) {
      c[o + at(k) + T] = Number.NaN;
      c[o + at(k) + S] = -1;
    }
    return slot;
  }

  /** The open 1s candle as a write of timeframe `tf` starting at `t` (it also opens longer timeframes). */
  private openCandle(s: CandleSeries, tf: Timeframe, t: number): CandleWrite {
    const h = this.hot;
    const i = s.hot;
    return new Write(
      s.symbol,
      tf,
      t,
      this.cold[s.cold + OPEN_O]!,
      h[i + HOT_H]!,
      h[i + HOT_L]!,
      h[i + HOT_C]!,
      h[i + HOT_V]!,
      h[i + HOT_N]!,
      h[i + SEQ]!,
    );
  }

  /** Longer candle k of a series as a write. */
  private longerCandle(s: CandleSeries, k: number): CandleWrite {
    const c = this.cold;
    const b = s.cold + at(k);
    return new Write(
      s.symbol,
      TIMEFRAMES[k]!,
      c[b + T]!,
      c[b + O]!,
      c[b + H]!,
      c[b + L]!,
      c[b + C]!,
      c[b + V]!,
      c[b + N]!,
      c[b + S]!,
    );
  }

  /** Longer candle k with the open 1s candle merged in (it starts in k's candle `t`). */
  private merged(s: CandleSeries, k: number): CandleWrite {
    const h = this.hot;
    const i = s.hot;
    const c = this.cold;
    const b = s.cold + at(k);
    const own = c[s.cold + OPEN_T] === s.baseT;
    return new Write(
      s.symbol,
      TIMEFRAMES[k]!,
      c[b + T]!,
      c[b + O]!,
      Math.max(c[b + H]!, h[i + HOT_H]!),
      Math.min(c[b + L]!, h[i + HOT_L]!),
      h[i + HOT_C]!,
      c[b + V]! + h[i + HOT_V]! - (own ? s.baseV : 0),
      c[b + N]! + h[i + HOT_N]! - (own ? s.baseN : 0),
      h[i + SEQ]!,
    );
  }

  /** Folds one source tick (`n` ticks when the producer already conflated some) into every timeframe. */
  add(s: CandleSeries, tick: CandleTick, n: number): void {
    if (s.loading) {
      this.buffer(s, tick, n);
      return;
    }
    this.fold(s, tick, n);
  }

  private buffer(s: CandleSeries, tick: CandleTick, n: number): void {
    const buffered = s.buffered;
    if (buffered.length >= MAX_LOADING_TICKS * BUFFERED_FIELDS) {
      this.stats.dropped++;
      return;
    }
    buffered.push(tick.seq, tick.ts, tick.last, tick.lastSize, tick.volume, n);
  }

  // The tick is passed as the object it is: its numbers are read here, not passed one by one, which
  // would box each of them whenever a call is not inlined. What a tick inside the open candle needs is
  // all here, the rest in open(), so that this stays small enough for V8 to inline into the caller.
  private fold(s: CandleSeries, tick: CandleTick, n: number): void {
    const seq = tick.seq;
    const h = this.hot;
    const i = s.hot;
    if (seq <= h[i + SEQ]!) {
      this.stats.stale++;
      return;
    }
    // The day volume moves with each trade; a quote-only tick repeats the last trade's size and adds
    // nothing. Where the previous volume is unknown (first tick, new day) the tick's own size counts.
    const volume = tick.volume;
    const prev = h[i + PREV_VOLUME]!;
    const traded = volume === prev ? 0 : volume > prev ? volume - prev : tick.lastSize;
    h[i + PREV_VOLUME] = volume;
    const last = tick.last;
    // Inside the open candle (or before it: a clock that stepped back is folded into it, no candle is
    // reopened). Compared with its end, so that most ticks need no division.
    if (tick.ts < h[i + END]!) {
      if (last > h[i + HOT_H]!) h[i + HOT_H] = last;
      if (last < h[i + HOT_L]!) h[i + HOT_L] = last;
      h[i + HOT_V] = h[i + HOT_V]! + traded;
      h[i + HOT_N] = h[i + HOT_N]! + n;
    } else {
      this.open(s, tick, traded, n);
    }
    h[i + HOT_C] = last;
    // After open(): the candle it closed ended at the previous seq.
    h[i + SEQ] = seq;
    if (!s.queued) this.enqueue(s);
  }

  /** The tick starts the next 1s candle (or the first): the open one closes first. */
  private open(s: CandleSeries, tick: CandleTick, traded: number, n: number): void {
    const h = this.hot;
    const i = s.hot;
    const c = this.cold;
    const ts = tick.ts;
    const t = ts - (ts % SHORTEST_MS);
    if (!Number.isNaN(c[s.cold + OPEN_T]!)) this.roll(s);
    c[s.cold + OPEN_T] = t;
    c[s.cold + OPEN_O] = tick.last;
    h[i + END] = t + SHORTEST_MS;
    h[i + HOT_H] = tick.last;
    h[i + HOT_L] = tick.last;
    h[i + HOT_V] = traded;
    h[i + HOT_N] = n;
  }

  private enqueue(s: CandleSeries): void {
    s.queued = true;
    this.dirty.push(s);
    this.schedule();
  }

  /** The open 1s candle closes: it is written if it changed, and merged into every longer candle. */
  private roll(s: CandleSeries): void {
    const h = this.hot;
    const i = s.hot;
    const c = this.cold;
    const t1 = c[s.cold + OPEN_T]!;
    // Written with a flush already if it has not changed since (a quiet second's candle is complete).
    if (s.queued) this.pushClosed(this.openCandle(s, TIMEFRAMES[0]!, t1));
    const own = t1 === s.baseT;
    const o1 = c[s.cold + OPEN_O]!;
    const h1 = h[i + HOT_H]!;
    const l1 = h[i + HOT_L]!;
    const c1 = h[i + HOT_C]!;
    const v1 = h[i + HOT_V]! - (own ? s.baseV : 0);
    const n1 = h[i + HOT_N]! - (own ? s.baseN : 0);
    for (let k = 1; k < TF_COUNT; k++) {
      const b = s.cold + at(k);
      const bt = t1 - (t1 % DURATIONS[k]!);
      if (c[b + T] === bt) {
        if (h1 > c[b + H]!) c[b + H] = h1;
        if (l1 < c[b + L]!) c[b + L] = l1;
        c[b + C] = c1;
        c[b + V] = c[b + V]! + v1;
        c[b + N] = c[b + N]! + n1;
      } else {
        // Candle k is complete: written now unless its final state already went out with a flush.
        if ((s.accBits & (1 << k)) !== 0) this.pushClosed(this.longerCandle(s, k));
        c[b + T] = bt;
        c[b + O] = o1;
        c[b + H] = h1;
        c[b + L] = l1;
        c[b + C] = c1;
        c[b + V] = h[i + HOT_V]!;
        c[b + N] = h[i + HOT_N]!;
      }
      c[b + S] = h[i + SEQ]!;
      s.accBits |= 1 << k;
    }
    s.baseT = Number.NaN;
  }

  private pushClosed(candle: CandleWrite): void {
    this.closed.push(candle);
    if (this.closed.length >= EARLY_FLUSH_CLOSED) this.scheduleSoon();
    if (this.closed.length > MAX_PENDING_CLOSED) {
      const excess = this.closed.length - MAX_PENDING_CLOSED;
      this.closed.splice(0, excess);
      this.stats.dropped += excess;
    }
  }

  private loaded(s: CandleSeries, latest: LatestCandles): void {
    if (s.epoch !== this.epoch || !s.loading) return;
    this.loadingSeries--;
    const h = this.hot;
    const i = s.hot;
    const cold = this.cold;
    let seq = -1;
    for (let k = 0; k < TF_COUNT; k++) {
      const c = latest[TIMEFRAMES[k]!];
      if (!c) continue;
      if (k === 0) {
        cold[s.cold + OPEN_T] = c.t;
        cold[s.cold + OPEN_O] = c.o;
        h[i + END] = c.t + SHORTEST_MS;
        h[i + HOT_H] = c.h;
        h[i + HOT_L] = c.l;
        h[i + HOT_C] = c.c;
        h[i + HOT_V] = c.v;
        h[i + HOT_N] = c.n;
        s.baseT = c.t;
        s.baseV = c.v;
        s.baseN = c.n;
      } else {
        const b = s.cold + at(k);
        cold[b + T] = c.t;
        cold[b + O] = c.o;
        cold[b + H] = c.h;
        cold[b + L] = c.l;
        cold[b + C] = c.c;
        cold[b + V] = c.v;
        cold[b + N] = c.n;
        cold[b + S] = c.s;
      }
      // Written together in one flush, all timeframes hold the same ticks; a write that failed half
      // way leaves some behind, and their missing ticks are not counted again (the open 1s candle's
      // seq is the series' seq, so it takes the highest too: no tick between the two joins it later).
      if (c.s > seq) seq = c.s;
    }
    h[i + SEQ] = seq;
    s.loading = false;
    const buffered = s.buffered;
    s.buffered = [];
    const tick = this.replayed;
    for (let j = 0; j < buffered.length; j += BUFFERED_FIELDS) {
      tick.seq = buffered[j]!;
      tick.ts = buffered[j + 1]!;
      tick.last = buffered[j + 2]!;
      tick.lastSize = buffered[j + 3]!;
      tick.volume = buffered[j + 4]!;
      this.fold(s, tick, buffered[j + 5]!);
    }
    // Waiters held back by this load go with the next flush, even if every buffered tick was stale.
    if (this.waiters.length > 0) this.schedule();
  }

  /** Symbols with a series. */
  size(): number {
    return this.series_.size;
  }

  /** Candles changed or closed and not yet written. */
  pending(): number {
    return this.closed.length + this.dirty.length * TF_COUNT;
  }

  /** Writes everything pending now; resolves when it is stored (or the write failed and was requeued). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    this.clearTimers();
    const batch = this.collect();
    const waiters = this.takeWaiters();
    if (batch.length === 0) {
      for (const w of waiters) w(true);
      return;
    }
    await this.write(batch, waiters);
  }

  /**
   * Resolves once the candles of every tick folded (or waiting for its series to load) before the call
   * are in the store: true, or false when their write failed (they are written again later). It waits
   * for the next flush, it does not cause one. A Kafka source commits a partition's offsets only after
   * this, so the partition's next owner (after a drain, a rebalance or a crash) reads again every tick
   * whose candles were not stored, and drops by seq those that were.
   */
  settled(): Promise<boolean> {
    // A tick folded since the last batch was taken left its series in `dirty`.
    if (this.stopped) return Promise.resolve(this.dirty.length === 0 && this.closed.length === 0);
    if (this.dirty.length === 0 && this.loadingSeries === 0 && this.closed.length === 0)
      return this.inFlightStored ?? Promise.resolve(true);
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.schedule();
    });
  }

  /** The settled() callers that the batch just taken answers (none while a series is loading). */
  private takeWaiters(): Array<(stored: boolean) => void> {
    if (this.loadingSeries > 0 || this.waiters.length === 0) return [];
    const waiters = this.waiters;
    this.waiters = [];
    return waiters;
  }

  /**
   * Ownership moved: what is pending is written (the seq keeps a late write harmless), and every symbol
   * is read again from the store before its next tick counts.
   */
  reset(): void {
    // Taken now: the slots are given up below.
    const pending = this.collect();
    if (pending.length > 0) this.closed = this.closed.concat(pending);
    this.epoch++;
    this.series_.clear();
    this.loadingSeries = 0;
    this.hot = new Float64Array(INITIAL_SERIES * HOT);
    this.cold = new Float64Array(INITIAL_SERIES * STRIDE);
    this.slots = 0;
    this.flush().catch(() => undefined);
  }

  /** Writes what is pending and schedules nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.flush();
    this.clearTimers();
    // Held back by a series still loading: their ticks are not written any more.
    for (const w of this.waiters.splice(0)) w(false);
  }

  private collect(): CandleWrite[] {
    // A new array, young: `closed` has lived since the last batch and is likely in the old generation,
    // where it would keep the thousands of candles pushed below alive through scavenges (V8 sees an
    // old array is garbage only at a full collection) and have them copied into the old generation.
    const batch = this.closed.slice();
    this.closed.length = 0;
    const dirty = this.dirty;
    this.dirty = [];
    const c = this.cold;
    for (const s of dirty) {
      s.queued = false;
      const t1 = c[s.cold + OPEN_T]!;
      batch.push(this.openCandle(s, TIMEFRAMES[0]!, t1));
      for (let k = 1; k < TF_COUNT; k++) {
        const bt = t1 - (t1 % DURATIONS[k]!);
        if (c[s.cold + at(k) + T] === bt) {
          batch.push(this.merged(s, k));
        } else {
          // The open 1s candle starts candle k; what k held is complete.
          if ((s.accBits & (1 << k)) !== 0) batch.push(this.longerCandle(s, k));
          batch.push(this.openCandle(s, TIMEFRAMES[k]!, bt));
        }
      }
      s.accBits = 0;
    }
    return batch;
  }

  private write(batch: CandleWrite[], waiters: Array<(stored: boolean) => void>): Promise<void> {
    this.stats.writes++;
    const done = this.options.store.write(batch).then(
      () => {
        this.stats.candlesWritten += batch.length;
        return true;
      },
      (error: unknown) => {
        this.stats.writeFailures++;
        this.options.onError?.(error, 'write');
        // Written again with the next flush; newer states of the same candles win by their seq.
        this.closed = batch.concat(this.closed);
        if (this.closed.length > MAX_PENDING_CLOSED) {
          const excess = this.closed.length - MAX_PENDING_CLOSED;
          this.closed.splice(0, excess);
          this.stats.dropped += excess;
        }
        return false;
      },
    );
    this.inFlightStored = done;
    const flight = done.then((stored) => {
      for (const w of waiters) w(stored);
      if (this.inFlight === flight) {
        this.inFlight = undefined;
        this.inFlightStored = undefined;
      }
      if (this.closed.length > 0 || this.dirty.length > 0 || this.waiters.length > 0) this.schedule();
    });
    this.inFlight = flight;
    return flight;
  }

  private schedule(): void {
    if (this.timer || this.immediate || this.inFlight || this.stopped) return;
    this.timer = setTimeout(() => this.runFlush(), this.options.flushMs);
    this.timer.unref?.();
  }

  private scheduleSoon(): void {
    if (this.immediate || this.inFlight || this.stopped) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.immediate = setImmediate(() => this.runFlush());
    this.immediate.unref?.();
  }

  private runFlush(): void {
    this.timer = undefined;
    this.immediate = undefined;
    if (this.inFlight) return;
    const batch = this.collect();
    const waiters = this.takeWaiters();
    if (batch.length > 0) void this.write(batch, waiters);
    else for (const w of waiters) w(true);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}
