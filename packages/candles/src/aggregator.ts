import { TIMEFRAME_MS, TIMEFRAMES } from '@tickhub/protocol';
import type { CandleStore, CandleWrite, LatestCandles, StoredCandle } from './store';

const TF_COUNT = TIMEFRAMES.length;
const DURATIONS = TIMEFRAMES.map((tf) => TIMEFRAME_MS[tf]);
// Layout of one timeframe's open candle in CandleSeries.data.
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
 * The open candle of each timeframe of one symbol, in one typed array: folding a tick allocates nothing.
 * Created by CandleAggregator.series(); the caller keeps it next to its own per-symbol state.
 */
export class CandleSeries {
  readonly data = new Float64Array(TF_COUNT * FIELDS);
  /** Highest seq folded in any timeframe; a tick at or below the lowest timeframe's seq is stale. */
  seq = -1;
  prevVolume = Number.NaN;
  /** Bit k set: timeframe k changed since the last flush. */
  dirtyBits = 0;
  queued = false;
  loading = true;
  buffered: number[] | undefined = [];

  constructor(
    readonly symbol: string,
    readonly epoch: number,
  ) {
    for (let k = 0; k < TF_COUNT; k++) {
      this.data[k * FIELDS + T] = Number.NaN;
      this.data[k * FIELDS + S] = -1;
    }
  }

  candle(k: number): StoredCandle {
    const d = this.data;
    const b = k * FIELDS;
    return {
      t: d[b + T]!,
      o: d[b + O]!,
      h: d[b + H]!,
      l: d[b + L]!,
      c: d[b + C]!,
      v: d[b + V]!,
      n: d[b + N]!,
      s: d[b + S]!,
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
  ticks: number;
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
    ticks: 0,
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
    this.stats.ticks++;
    if (s.loading) {
      const buffered = s.buffered!;
      if (buffered.length >= MAX_LOADING_TICKS * LOADING_TICK_FIELDS) {
        this.stats.dropped++;
        return;
      }
      buffered.push(seq, ts, last, lastSize, volume, n);
      return;
    }
    this.fold(s, seq, ts, last, lastSize, volume, n);
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
    let bits = s.dirtyBits;
    for (let k = 0; k < TF_COUNT; k++) {
      const b = k * FIELDS;
      if (seq <= d[b + S]!) continue;
      const dur = DURATIONS[k]!;
      const t = ts - (ts % dur);
      // `!(t <= open)` is also true while there is no open candle (NaN).
      if (!(t <= d[b + T]!)) {
        if ((bits & (1 << k)) !== 0) this.pushClosed(s, k);
        d[b + T] = t;
        d[b + O] = last;
        d[b + H] = last;
        d[b + L] = last;
        d[b + V] = traded;
        d[b + N] = n;
      } else {
        if (last > d[b + H]!) d[b + H] = last;
        if (last < d[b + L]!) d[b + L] = last;
        d[b + V] = d[b + V]! + traded;
        d[b + N] = d[b + N]! + n;
      }
      d[b + C] = last;
      d[b + S] = seq;
      bits |= 1 << k;
    }
    s.dirtyBits = bits;
    if (!s.queued) {
      s.queued = true;
      this.dirty.push(s);
      this.schedule();
    }
  }

  private pushClosed(s: CandleSeries, k: number): void {
    this.closed.push({ symbol: s.symbol, tf: TIMEFRAMES[k]!, candle: s.candle(k) });
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
    let lowest = Number.POSITIVE_INFINITY;
    for (let k = 0; k < TF_COUNT; k++) {
      const c = latest[TIMEFRAMES[k]!];
      const b = k * FIELDS;
      if (c) {
        d[b + T] = c.t;
        d[b + O] = c.o;
        d[b + H] = c.h;
        d[b + L] = c.l;
        d[b + C] = c.c;
        d[b + V] = c.v;
        d[b + N] = c.n;
        d[b + S] = c.s;
      }
      lowest = Math.min(lowest, d[b + S]!);
    }
    s.seq = lowest;
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
    for (const s of this.dirty) for (let k = 0; k < TF_COUNT; k++) if ((s.dirtyBits & (1 << k)) !== 0) n++;
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
      const bits = s.dirtyBits;
      for (let k = 0; k < TF_COUNT; k++) {
        if ((bits & (1 << k)) !== 0)
          batch.push({ symbol: s.symbol, tf: TIMEFRAMES[k]!, candle: s.candle(k) });
      }
      s.dirtyBits = 0;
      s.queued = false;
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
