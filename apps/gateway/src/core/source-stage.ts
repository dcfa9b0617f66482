import type { Backplane } from '@tickhub/backplane';
import type { CandleAggregator, CandleSeries } from '@tickhub/candles';
import { decodeTickRecord, encodeTickRecord, type Quote, type QuoteUpdate } from '@tickhub/protocol';
import type { Clock } from './clock';
import type { Stack } from './stack';
import type { TickSourceHandler } from './tick-source';
import { TimerWheel, type WheelEntry } from './timer-wheel';

/** Per-symbol state of the source stage; constant size. */
class SourceSymbol implements WheelEntry {
  dueSlot = -1;
  /** Highest seq accepted (or known from the last-value cache). */
  knownSeq = -1;
  lastPublishedAt = Number.NEGATIVE_INFINITY;
  pending: Quote | undefined = undefined;
  pendingN = 0;
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
}

export interface SourceStageCounters {
  ticksIn: number;
  ticksStale: number;
  ticksUnknown: number;
  published: number;
  conflated: number;
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
  };

  constructor(private readonly options: SourceStageOptions) {
    this.intervalMs = 1000 / options.maxHz;
    this.wheel = new TimerWheel(options.clock, options.slotMs ?? 5, (due) => this.onDue(due));
  }

  onTicks(ticks: ReadonlyArray<Quote | QuoteUpdate>): void {
    const now = this.options.clock.now();
    for (let i = 0; i < ticks.length; i++) this.offer(ticks[i]!, now);
  }

  /** Forgets what is known per symbol: it is read again from the last-value cache (partition moves). */
  onOwnershipChange(): void {
    this.reset();
  }

  reset(): void {
    this.epoch++;
    this.options.candles?.reset();
    this.wheel.stop();
    this.symbols.clear();
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
    st.pending = tick;
    st.pendingN += n;
    if (st.loading || st.dueSlot >= 0) return;
    if (now - st.lastPublishedAt >= this.intervalMs) this.publish(st, now);
    else this.wheel.schedule(st, st.lastPublishedAt + this.intervalMs);
  }

  /** Reads the last value so that seq never goes backwards when another pod owned the symbol before. */
  private load(st: SourceSymbol): void {
    const { backplane } = this.options;
    backplane.getLastValue(st.symbol).then(
      (bytes) => {
        if (st.epoch !== this.epoch) return;
        if (bytes) {
          try {
            const last = decodeTickRecord(bytes);
            if (last.seq >= st.knownSeq) {
              st.knownSeq = last.seq;
              st.pending = undefined;
              st.pendingN = 0;
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
    if (st.pending) this.publish(st, this.options.clock.now());
  }

  private onDue(due: Stack<SourceSymbol>): void {
    const now = this.options.clock.now();
    for (let i = 0; i < due.size; i++) {
      const st = due.at(i);
      if (st.pending && this.symbols.get(st.symbol) === st) this.publish(st, now);
    }
  }

  private publish(st: SourceSymbol, now: number): void {
    const q = st.pending!;
    const n = st.pendingN;
    st.pending = undefined;
    st.pendingN = 0;
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
