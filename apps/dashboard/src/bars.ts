/** One OHLC bar; `time` is the bar's start in seconds, `volume` the traded volume inside it. */
export interface Bar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** One-second bars kept per symbol: half an hour of history, a bounded amount of memory. */
export const MAX_BASE_BARS = 1800;

/**
 * Builds one-second bars of one symbol from its updates, so that the chart can show history from
 * the moment the symbol joined the watchlist and can switch bar width without losing it.
 */
export class BarHistory {
  readonly bars: Bar[] = [];
  private lastVolume: number | undefined;

  constructor(private readonly limit = MAX_BASE_BARS) {}

  /** Folds one update in. `cumulativeVolume` is the day volume carried by quotes. */
  add(tsMs: number, price: number, cumulativeVolume: number): void {
    if (!Number.isFinite(price) || !Number.isFinite(tsMs)) return;
    const time = Math.floor(tsMs / 1000);
    const traded =
      this.lastVolume === undefined || cumulativeVolume < this.lastVolume
        ? 0
        : cumulativeVolume - this.lastVolume;
    this.lastVolume = cumulativeVolume;
    const last = this.bars[this.bars.length - 1];
    if (last && time <= last.time) {
      // Same second (or a clock step back on the server): the update belongs to the latest bar.
      last.high = Math.max(last.high, price);
      last.low = Math.min(last.low, price);
      last.close = price;
      last.volume += traded;
      return;
    }
    this.bars.push({ time, open: price, high: price, low: price, close: price, volume: traded });
    if (this.bars.length > this.limit) this.bars.splice(0, this.bars.length - this.limit);
  }

  get size(): number {
    return this.bars.length;
  }
}

/** Merges one-second bars into bars of `seconds`, aligned on multiples of it. */
export function aggregate(bars: readonly Bar[], seconds: number): Bar[] {
  if (seconds <= 1) return bars.map((b) => ({ ...b }));
  const out: Bar[] = [];
  let current: Bar | undefined;
  for (const b of bars) {
    const time = b.time - (b.time % seconds);
    if (current && current.time === time) {
      current.high = Math.max(current.high, b.high);
      current.low = Math.min(current.low, b.low);
      current.close = b.close;
      current.volume += b.volume;
    } else {
      current = { time, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume };
      out.push(current);
    }
  }
  return out;
}

/** The bar of width `seconds` that contains the latest one-second bar, built from the tail only. */
export function latestAggregate(bars: readonly Bar[], seconds: number): Bar | undefined {
  const last = bars[bars.length - 1];
  if (!last) return undefined;
  const start = last.time - (last.time % seconds);
  let i = bars.length - 1;
  while (i > 0 && (bars[i - 1] as Bar).time >= start) i--;
  return aggregate(bars.slice(i), seconds)[0];
}
