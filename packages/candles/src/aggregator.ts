import { TIMEFRAME_MS, TIMEFRAMES, type Timeframe } from '@tickhub/protocol';
import type { CandleStore, CandleWrite, LatestCandles } from './store';

const TF_COUNT = TIMEFRAMES.length;
const DURATIONS = TIMEFRAMES.map((tf) => TIMEFRAME_MS[tf]);
const SHORTEST_MS = DURATIONS[0]!;
// Layout of one candle in CandleSeries.data: slot 0 is the open candle of the shortest timeframe,
// slot k > 0 what timeframe k holds from the shortest candles already closed (see CandleSeries).
const T = 0;
const O = 1;
const H = 2;
const L = 3;
const C = 4;
const V = 5;
const N = 6;
const S = 7;
const FIELDS = 8;
/** Ticks a series holds while its open candles are read from the store (a takeover); more are counted and dropped. */
const MAX_LOADING_TICKS = 50_000;
const LOADING_TICK_FIELDS = 6;
/** Closed candles waiting for a write past which the oldest are dropped (the store would keep the newest). */
const MAX_PENDING_CLOSED = 200_000;
/** Closed candles that make a flush go out on the next turn instead of after flushMs (a replay at full speed). */
const EARLY_FLUSH_CLOSED = 10_000;

/**
 * The candles of one symbol, in one typed array: folding a tick allocates nothing. A tick updates only
 * the open candle of the shortest timeframe (1s); when that closes it is merged into the longer ones,
 * and a flush writes each longer candle as what it holds merged with the open 1s candle. Candle
 * boundaries nest (every 1m boundary is a 1s boundary, ...), so this is exact, and a tick costs one
 * candle update instead of one per timeframe.
 *
 * Created by CandleAggregator.series(); the caller keeps it next to its own per-symbol state.
 */
export class CandleSeries {
  readonly data = new Float64Array(TF_COUNT * FIELDS);
  /** Highest seq folded; a tick at or below it was counted already. */
  seq = -1;
  /** End of the open 1s candle (NaN while there is none). */
  end = Number.NaN;
  prevVolume = Number.NaN;
  /** The open 1s candle changed since the last flush. */
  dirty = false;
  /** Bit k: the longer candle k took a closed 1s candle since the last flush. */
  accBits = 0;
  queued = false;
  loading = true;
  buffered: number[] | undefined = [];
  /**
   * A 1s candle continued from the store is already inside the stored longer candles: its volume and
   * count at load are subtracted when it is merged into them (high, low, open and close merge alike).
   */
  baseT = Number.NaN;
  baseV = 0;
  baseN = 0;

  constructor(
    readonly symbol: string,
    readonly epoch: number,
  ) {
    for (let k = 0; k < TF_COUNT; k++) {
      this.data[k * FIELDS + T] = Number.NaN;
      this.data[k * FIELDS + S] = -1;
    }
  }

  /** Candle slot k as a write of timeframe `tf`, with its start `t` (slot 0 also serves longer timeframes). */
  candle(k: number, tf: Timeframe = TIMEFRAMES[k]!, t = this.data[k * FIELDS + T]!): CandleWrite {
    const d = this.data;
    const b = k * FIELDS;
    return {
      symbol: this.symbol,
      tf,
      t,
      o: d[b + O]!,
      h: d[b + H]!,
      l: d[b + L]!,
      c: d[b + C]!,
      v: d[b + V]!,
      n: d[b + N]!,
      s: d[b + S]!,
    };
  }

  /** Longer candle k with the open 1s candle merged in (it starts in k's candle `t`). */
  merged(k: number): CandleWrite {
    const d = this.data;
    const b = k * FIELDS;
    const own = d[T] === this.baseT;
    return {
      symbol: this.symbol,
      tf: TIMEFRAMES[k]!,
      t: d[b + T]!,
      o: d[b + O]!,
      h: Math.max(d[b + H]!, d[H]!),
      l: Math.min(d[b + L]!, d[L]!),
      c: d[C]!,
      v: d[b + V]! + d[V]! - (own ? this.baseV : 0),
      n: d[b + N]! + d[N]! - (own ? this.baseN : 0),
      s: d[S]!,
    };
  }
}

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
  private dirty: CandleSeries[] = [];
  private closed: CandleWrite[] = [];
  private epoch = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
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
    s = new CandleSeries(symbol, this.epoch);
    this.series_.set(symbol, s);
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

  /** Folds one source tick (`n` ticks when the producer already conflated some) into every timeframe. */
  add(
    s: CandleSeries,
    seq: number,
    ts: number,
    last: number,
    lastSize: number,
    volume: number,
    n: number,
  ): void {
    if (s.loading) {
      this.buffer(s, seq, ts, last, lastSize, volume, n);
      return;
    }
    this.fold(s, seq, ts, last, lastSize, volume, n);
  }

  private buffer(
    s: CandleSeries,
    seq: number,
    ts: number,
    last: number,
    lastSize: number,
    volume: number,
    n: number,
  ): void {
    const buffered = s.buffered!;
    if (buffered.length >= MAX_LOADING_TICKS * LOADING_TICK_FIELDS) {
      this.stats.dropped++;
      return;
    }
    buffered.push(seq, ts, last, lastSize, volume, n);
  }

  private fold(
    s: CandleSeries,
    seq: number,
    ts: number,
    last: number,
    lastSize: number,
    volume: number,
    n: number,
  ): void {
    if (seq <= s.seq) {
      this.stats.stale++;
      return;
    }
    s.seq = seq;
    // The day volume moves with each trade; a quote-only tick repeats the last trade's size and adds
    // nothing. Where the previous volume is unknown (first tick, new day) the tick's own size counts.
    const prev = s.prevVolume;
    const traded = volume === prev ? 0 : volume > prev ? volume - prev : lastSize;
    s.prevVolume = volume;
    const d = s.data;
    // Inside the open candle (or before it: a clock that stepped back is folded into it, no candle is
    // reopened). Compared with its end, so that most ticks need no division.
    if (ts < s.end) {
      if (last > d[H]!) d[H] = last;
      if (last < d[L]!) d[L] = last;
      d[V] = d[V]! + traded;
      d[N] = d[N]! + n;
    } else {
      const t = ts - (ts % SHORTEST_MS);
      if (!Number.isNaN(d[T]!)) this.roll(s);
      d[T] = t;
      s.end = t + SHORTEST_MS;
      d[O] = last;
      d[H] = last;
      d[L] = last;
      d[V] = traded;
      d[N] = n;
    }
    d[C] = last;
    d[S] = seq;
    s.dirty = true;
    if (!s.queued) this.enqueue(s);
  }

  private enqueue(s: CandleSeries): void {
    s.queued = true;
    this.dirty.push(s);
    this.schedule();
  }

  /** The open 1s candle closes: it is written if it changed, and merged into every longer candle. */
  private roll(s: CandleSeries): void {
    const d = s.data;
    const t1 = d[T]!;
    if (s.dirty) this.pushClosed(s.candle(0));
    const own = t1 === s.baseT;
    for (let k = 1; k < TF_COUNT; k++) {
      const b = k * FIELDS;
      const bt = t1 - (t1 % DURATIONS[k]!);
      if (d[b + T] === bt) {
        if (d[H]! > d[b + H]!) d[b + H] = d[H]!;
        if (d[L]! < d[b + L]!) d[b + L] = d[L]!;
        d[b + C] = d[C]!;
        d[b + V] = d[b + V]! + d[V]! - (own ? s.baseV : 0);
        d[b + N] = d[b + N]! + d[N]! - (own ? s.baseN : 0);
      } else {
        // Candle k is complete: written now unless its final state already went out with a flush.
        if ((s.accBits & (1 << k)) !== 0) this.pushClosed(s.candle(k));
        d[b + T] = bt;
        d[b + O] = d[O]!;
        d[b + H] = d[H]!;
        d[b + L] = d[L]!;
        d[b + C] = d[C]!;
        d[b + V] = d[V]!;
        d[b + N] = d[N]!;
      }
      d[b + S] = d[S]!;
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
    const d = s.data;
    let seq = -1;
    for (let k = 0; k < TF_COUNT; k++) {
      const c = latest[TIMEFRAMES[k]!];
      if (!c) continue;
      const b = k * FIELDS;
      d[b + T] = c.t;
      d[b + O] = c.o;
      d[b + H] = c.h;
      d[b + L] = c.l;
      d[b + C] = c.c;
      d[b + V] = c.v;
      d[b + N] = c.n;
      d[b + S] = c.s;
      // Written together in one flush, all timeframes hold the same ticks; a write that failed half
      // way leaves some behind, and their missing ticks are not counted again.
      if (c.s > seq) seq = c.s;
    }
    s.seq = seq;
    if (latest[TIMEFRAMES[0]!]) {
      s.end = d[T]! + SHORTEST_MS;
      s.baseT = d[T]!;
      s.baseV = d[V]!;
      s.baseN = d[N]!;
    }
    s.loading = false;
    const buffered = s.buffered!;
    s.buffered = undefined;
    for (let i = 0; i < buffered.length; i += LOADING_TICK_FIELDS) {
      this.fold(
        s,
        buffered[i]!,
        buffered[i + 1]!,
        buffered[i + 2]!,
        buffered[i + 3]!,
        buffered[i + 4]!,
        buffered[i + 5]!,
      );
    }
  }

  /** Symbols with a series. */
  size(): number {
    return this.series_.size;
  }

  /** Candles changed or closed and not yet written. */
  pending(): number {
    let n = this.closed.length;
    for (const s of this.dirty) if (s.dirty) n += TF_COUNT;
    return n;
  }

  /** Writes everything pending now; resolves when it is stored (or the write failed and was requeued). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    this.clearTimers();
    const batch = this.collect();
    if (batch.length === 0) return;
    await this.write(batch);
  }

  /**
   * Ownership moved: what is pending is written (the seq keeps a late write harmless), and every symbol
   * is read again from the store before its next tick counts.
   */
  reset(): void {
    this.epoch++;
    this.series_.clear();
    this.flush().catch(() => undefined);
  }

  /** Writes what is pending and schedules nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.flush();
    this.clearTimers();
  }

  private collect(): CandleWrite[] {
    const batch = this.closed;
    this.closed = [];
    const dirty = this.dirty;
    this.dirty = [];
    for (const s of dirty) {
      s.queued = false;
      if (!s.dirty) continue;
      s.dirty = false;
      const d = s.data;
      const t1 = d[T]!;
      batch.push(s.candle(0));
      for (let k = 1; k < TF_COUNT; k++) {
        const b = k * FIELDS;
        const bt = t1 - (t1 % DURATIONS[k]!);
        if (d[b + T] === bt) {
          batch.push(s.merged(k));
        } else {
          // The open 1s candle starts candle k; what k held is complete.
          if ((s.accBits & (1 << k)) !== 0) batch.push(s.candle(k));
          batch.push(s.candle(0, TIMEFRAMES[k]!, bt));
        }
      }
      s.accBits = 0;
    }
    return batch;
  }

  private write(batch: CandleWrite[]): Promise<void> {
    this.stats.writes++;
    const done = this.options.store.write(batch).then(
      () => {
        this.stats.candlesWritten += batch.length;
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
      },
    );
    const flight = done.finally(() => {
      if (this.inFlight === flight) this.inFlight = undefined;
      if (this.closed.length > 0 || this.dirty.length > 0) this.schedule();
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
    if (batch.length > 0) void this.write(batch);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}
