import type { Backplane } from '@tickhub/backplane';
import type { CandleAggregator, CandleSeries } from '@tickhub/candles';
import {
  decodeTickRecord,
  encodeTickRecord,
  type Quote,
  type QuoteUpdate,
  readTickRecordSeq,
} from '@tickhub/protocol';
import type { Clock } from './clock';
import type { Stack } from './stack';
import type { TickSourceHandler } from './tick-source';
import { TimerWheel, type WheelEntry } from './timer-wheel';

/** Unpublished ticks one symbol may hold apart; past it the oldest two fold into one (n stays exact). */
const UNPUBLISHED_MAX = 64;

/** Per-symbol state of the source stage; bounded size. */
class SourceSymbol implements WheelEntry {
  dueSlot = -1;
  /** Highest seq accepted (or known from the last-value cache, or seen published by another owner). */
  knownSeq = -1;
  lastPublishedAt = Number.NEGATIVE_INFINITY;
  pending: Quote | undefined = undefined;
  pendingN = 0;
  /**
   * The ticks not yet published, as (seq, n) in seq order, so that a publication by the other owner of
   * the partition removes exactly what it covered and `n` is never counted twice.
   */
  readonly unpublishedSeq: number[] = [];
  readonly unpublishedN: number[] = [];
  /** When the oldest unpublished tick arrived (the standby's hold counts from it). */
  oldestAt = 0;
  /** A primary that took the symbol over lets the one publishing it go first, until this time. */
  deferUntil = 0;
  /** A publication of the symbol has been seen since this state was made. */
  seenLive = false;
  /** True until the last value of the symbol has been read from the backplane. */
  loading = true;
  /** Bumped by reset(), so a last-value read that finishes late is ignored. */
  epoch: number;

  constructor(
    readonly symbol: string,
    epoch: number,
    /** The symbol's open candles, when the stage feeds candles. */
    readonly candles: CandleSeries | undefined,
  ) {
    this.epoch = epoch;
  }
}

export interface SourceStageOptions {
  backplane: Backplane;
  clock: Clock;
  /** Highest rate any client may ask for: updates per symbol are pre-conflated to it. */
  maxHz: number;
  slotMs?: number;
  /**
   * Symbols the gateway serves; ticks of others are counted and dropped, so the per-symbol state is
   * bounded by the universe whatever a producer writes to the topic. Default: every symbol.
   */
  isKnownSymbol?: (symbol: string) => boolean;
  /** Folds every tick (before conflation) into candles; none when absent. */
  candles?: CandleAggregator;
  onError?: (error: unknown, symbol: string) => void;
  /**
   * 0 for the partition's primary owner. For its standby owner: how long a tick stays unpublished
   * (no publication covering it seen on the backplane, see `observe`) before this stage publishes it.
   */
  holdMs?: number;
  /**
   * Watch each owned symbol's backplane channel (`observe`), so that two owners of a partition never
   * count a tick twice. Off for a lone owner (embedded mode).
   */
  watchPublications?: boolean;
  /**
   * For a primary that watches publications: the standby's hold. A primary that (re)takes a symbol
   * someone has published before lets that publisher go first: it publishes once it has seen a
   * publication of the symbol, or after twice this, so that it never races a standby that is publishing
   * in its place (two updates covering the same ticks would count them twice in `n`).
   */
  takeoverMs?: number;
}

export interface SourceStageCounters {
  ticksIn: number;
  ticksStale: number;
  ticksUnknown: number;
  published: number;
  conflated: number;
  /** Updates of this stage's symbols seen published on the backplane (by this pod or the other owner). */
  observed: number;
}

/**
 * Decodes nothing twice: receives source ticks, drops those with a seq already seen, pre-conflates each
 * symbol to `maxHz` (leading edge at once, trailing edge with the latest state and the summed `n`),
 * and writes the tick record to the backplane's last-value cache and channel.
 */
export class SourceStage implements TickSourceHandler {
  private readonly symbols = new Map<string, SourceSymbol>();
  private readonly intervalMs: number;
  private readonly wheel: TimerWheel<SourceSymbol>;
  private epoch = 0;
  readonly counters: SourceStageCounters = {
    ticksIn: 0,
    ticksStale: 0,
    ticksUnknown: 0,
    published: 0,
    conflated: 0,
    observed: 0,
  };
  private readonly holdMs: number;

  constructor(private readonly options: SourceStageOptions) {
    this.intervalMs = 1000 / options.maxHz;
    this.holdMs = options.holdMs ?? 0;
    this.wheel = new TimerWheel(options.clock, options.slotMs ?? 5, (due) => this.onDue(due));
  }

  onTicks(ticks: ReadonlyArray<Quote | QuoteUpdate>): void {
    const now = this.options.clock.now();
    for (let i = 0; i < ticks.length; i++) this.offer(ticks[i]!, now);
  }

  /**
   * Forgets what is known per symbol: it is read again from the last-value cache (partition moves).
   * A primary first publishes what it holds: each batch's offsets are committed once it is handed
   * over (and its candles are stored), so the partition's next owner starts after those ticks and nobody else would count them in
   * `n` (a batch whose commit was still on its way is read again there, and its ticks dropped by seq). A standby holds only what the primary has not published yet; the primary still will.
   */
  onOwnershipChange(): void {
    if (this.holdMs === 0) {
      const now = this.options.clock.now();
      for (const st of this.symbols.values()) if (st.pending && !st.loading) this.publish(st, now);
    }
    this.reset();
  }

  reset(): void {
    this.epoch++;
    this.options.candles?.reset();
    this.wheel.stop();
    if (this.options.watchPublications) for (const symbol of this.symbols.keys()) this.unwatch(symbol);
    this.symbols.clear();
  }

  /**
   * An update published on the backplane (by any pod): the ticks it covers are published, whoever did
   * it. Drops them from what this stage still holds, so its next update counts only the rest in `n`.
   */
  observe(symbol: string, payload: Uint8Array): void {
    const st = this.symbols.get(symbol);
    if (!st) return;
    let seq: number;
    try {
      // Only how far the publications went matters here: the rest of the record is not decoded.
      seq = readTickRecordSeq(payload);
    } catch (error) {
      this.options.onError?.(error, symbol);
      return;
    }
    this.counters.observed++;
    st.seenLive = true;
    if (seq > st.knownSeq) st.knownSeq = seq;
    this.dropPublished(st, seq);
    if (st.deferUntil > 0) {
      // The one publishing the symbol is seen: from now on this primary publishes what is left.
      st.deferUntil = 0;
      if (st.pending && !st.loading) this.scheduleOrPublish(st, this.options.clock.now());
    }
  }

  /** Removes the unpublished ticks at or below `seq`: an update that covers them is out. */
  private dropPublished(st: SourceSymbol, seq: number): void {
    const seqs = st.unpublishedSeq;
    let drop = 0;
    while (drop < seqs.length && seqs[drop]! <= seq) drop++;
    if (drop === 0) return;
    seqs.splice(0, drop);
    st.unpublishedN.splice(0, drop);
    if (seqs.length === 0) {
      st.pending = undefined;
      st.pendingN = 0;
    } else {
      let n = 0;
      for (const k of st.unpublishedN) n += k;
      st.pendingN = n;
      // The hold counts again from now: the other owner is alive and publishing.
      st.oldestAt = this.options.clock.now();
    }
  }

  stop(): void {
    this.wheel.stop();
  }

  /** Symbols with state (bounded by the symbols of owned partitions). */
  size(): number {
    return this.symbols.size;
  }

  private offer(tick: Quote | QuoteUpdate, now: number): void {
    this.counters.ticksIn++;
    const n = (tick as Partial<QuoteUpdate>).n ?? 1;
    let st = this.symbols.get(tick.symbol);
    if (!st) {
      if (this.options.isKnownSymbol && !this.options.isKnownSymbol(tick.symbol)) {
        this.counters.ticksUnknown++;
        return;
      }
      st = new SourceSymbol(tick.symbol, this.epoch, this.options.candles?.series(tick.symbol));
      this.symbols.set(tick.symbol, st);
      if (this.options.watchPublications) this.watch(tick.symbol);
      this.load(st);
    }
    // Every tick counts for candles, conflated or not; the aggregator drops what it has seen by its own
    // seq, which comes from the candle store (the last-value cache may be ahead of it after a failover).
    if (st.candles) {
      this.options.candles!.add(st.candles, tick, n);
    }
    if (tick.seq <= st.knownSeq) {
      this.counters.ticksStale++;
      return;
    }
    st.knownSeq = tick.seq;
    if (st.pending) this.counters.conflated++;
    else st.oldestAt = now;
    st.pending = tick;
    st.pendingN += n;
    if (this.options.watchPublications) this.remember(st, tick.seq, n);
    if (st.loading || st.dueSlot >= 0) return;
    this.scheduleOrPublish(st, now);
  }

  /** The earliest time a symbol's pending update may go out: its rate, and for a standby its hold. */
  private scheduleOrPublish(st: SourceSymbol, now: number): void {
    const dueAt = Math.max(st.lastPublishedAt + this.intervalMs, st.oldestAt + this.holdMs, st.deferUntil);
    if (now >= dueAt) this.publish(st, now);
    else this.wheel.schedule(st, dueAt);
  }

  private remember(st: SourceSymbol, seq: number, n: number): void {
    const seqs = st.unpublishedSeq;
    const ns = st.unpublishedN;
    seqs.push(seq);
    ns.push(n);
    if (seqs.length > UNPUBLISHED_MAX) {
      // Folding keeps the sum; only a publication that falls between the two would now miss one.
      ns[1]! += ns[0]!;
      seqs.shift();
      ns.shift();
    }
  }

  private watch(symbol: string): void {
    this.options.backplane
      .addInterest(symbol)
      .catch((error: unknown) => this.options.onError?.(error, symbol));
  }

  private unwatch(symbol: string): void {
    this.options.backplane
      .removeInterest(symbol)
      .catch((error: unknown) => this.options.onError?.(error, symbol));
  }

  /** Reads the last value so that seq never goes backwards when another pod owned the symbol before. */
  private load(st: SourceSymbol): void {
    const { backplane } = this.options;
    backplane.getLastValue(st.symbol).then(
      (bytes) => {
        if (st.epoch !== this.epoch) return;
        if (bytes) {
          const { takeoverMs, watchPublications } = this.options;
          if (watchPublications && takeoverMs && this.holdMs === 0 && !st.seenLive)
            st.deferUntil = this.options.clock.now() + 2 * takeoverMs;
          try {
            const last = decodeTickRecord(bytes);
            if (last.seq >= st.knownSeq) {
              st.knownSeq = last.seq;
              st.pending = undefined;
              st.pendingN = 0;
              st.unpublishedSeq.length = 0;
              st.unpublishedN.length = 0;
            } else {
              this.dropPublished(st, last.seq);
            }
          } catch (error) {
            this.options.onError?.(error, st.symbol);
          }
        }
        this.loaded(st);
      },
      (error: unknown) => {
        if (st.epoch !== this.epoch) return;
        this.options.onError?.(error, st.symbol);
        this.loaded(st);
      },
    );
  }

  private loaded(st: SourceSymbol): void {
    st.loading = false;
    if (st.pending) this.scheduleOrPublish(st, this.options.clock.now());
  }

  private onDue(due: Stack<SourceSymbol>): void {
    const now = this.options.clock.now();
    for (let i = 0; i < due.size; i++) {
      const st = due.at(i);
      if (st.pending && this.symbols.get(st.symbol) === st) this.scheduleOrPublish(st, now);
    }
  }

  private publish(st: SourceSymbol, now: number): void {
    const q = st.pending!;
    const n = st.pendingN;
    st.pending = undefined;
    st.pendingN = 0;
    st.unpublishedSeq.length = 0;
    st.unpublishedN.length = 0;
    st.lastPublishedAt = now;
    try {
      // The record holds the quote's fields and the summed `n`; nothing else of the source tick.
      const record = encodeTickRecord(q, n);
      this.options.backplane.setLastValue(q.symbol, record);
      this.options.backplane.publish(q.symbol, record);
      this.counters.published++;
    } catch (error) {
      this.options.onError?.(error, q.symbol);
    }
  }
}
