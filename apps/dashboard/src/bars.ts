import type { Candle } from '@tickhub/protocol';

/** One OHLC bar; `time` is the bar's start in seconds, `volume` the traded volume inside it. */
export interface Bar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Bars the chart keeps: the served history (at most 1000) plus what live updates add after it. */
export const MAX_BARS = 2000;

/**
 * The bars of the chart's symbol and timeframe: the history the gateway serves, extended live from
 * updates. An update inside the newest bar moves it, a later one opens the next bar, an earlier one
 * (already counted in the history) is left out: the two join without a seam.
 */
export class LiveBars {
  readonly bars: Bar[] = [];
  private lastVolume: number | undefined;

  constructor(
    readonly seconds: number,
    private readonly limit = MAX_BARS,
  ) {}

  /** Replaces the bars with served candles (oldest first; the newest may still be open). */
  load(candles: readonly Candle[]): void {
    this.bars.length = 0;
    for (const c of candles) {
      this.bars.push({
        time: Math.floor(c.t / 1000),
        open: c.o,
        high: c.h,
        low: c.l,
        close: c.c,
        volume: c.v,
      });
    }
    if (this.bars.length > this.limit) this.bars.splice(0, this.bars.length - this.limit);
    // The history holds the volume up to now; only what trades after it is added.
    this.lastVolume = undefined;
  }

  /**
   * Folds one update in; `cumulativeVolume` is the day volume carried by quotes. Returns the bar it
   * changed, or undefined when the update lies before the newest bar.
   */
  add(tsMs: number, price: number, cumulativeVolume: number): Bar | undefined {
    if (!Number.isFinite(price) || !Number.isFinite(tsMs)) return undefined;
    const traded =
      this.lastVolume === undefined || cumulativeVolume < this.lastVolume
        ? 0
        : cumulativeVolume - this.lastVolume;
    this.lastVolume = cumulativeVolume;
    const seconds = Math.floor(tsMs / 1000);
    const time = seconds - (seconds % this.seconds);
    const last = this.bars[this.bars.length - 1];
    if (last && time < last.time) return undefined;
    if (last && time === last.time) {
      last.high = Math.max(last.high, price);
      last.low = Math.min(last.low, price);
      last.close = price;
      last.volume += traded;
      return last;
    }
    const bar = { time, open: price, high: price, low: price, close: price, volume: traded };
    this.bars.push(bar);
    if (this.bars.length > this.limit) this.bars.splice(0, this.bars.length - this.limit);
    return bar;
  }

  get size(): number {
    return this.bars.length;
  }
}
