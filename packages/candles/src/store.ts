import type { Candle, Timeframe } from '@tickhub/protocol';

/** A candle as stored: `s` is the seq of the last tick folded into it, what makes writes idempotent. */
export interface StoredCandle extends Candle {
  s: number;
}

/** One candle to write, flat (one object per candle: a flush writes thousands). */
export interface CandleWrite extends StoredCandle {
  symbol: string;
  tf: Timeframe;
}

/** The newest stored candle of each timeframe of one symbol (a timeframe with none is absent). */
export type LatestCandles = Partial<Record<Timeframe, StoredCandle>>;

/**
 * Where candles live: Redis when it is configured, memory in embedded mode. Every implementation passes
 * the contract suite of `@tickhub/candles/contract`.
 *
 * Per symbol and timeframe a store keeps the newest `CANDLE_RETENTION[tf]` candles, by start time.
 */
export interface CandleStore {
  /**
   * Upserts candles. A candle replaces the stored one of the same symbol, timeframe and start only
   * when its `s` is higher, so a write repeated, or one from a pod that lost the symbol, changes
   * nothing. Rejects when the medium is unreachable (nothing is half-applied per candle). The store
   * copies what it keeps.
   */
  write(batch: readonly CandleWrite[]): Promise<void>;
  /** The newest `limit` candles (at most the retention), oldest first, without `s`. */
  query(symbol: string, tf: Timeframe, limit: number): Promise<Candle[]>;
  /** The newest candle of each timeframe, with `s`: where a pod that takes the symbol over continues. */
  latest(symbol: string): Promise<LatestCandles>;
}

/** The wire shape of a stored candle (a fresh object, without `s`). */
export function wireCandle(c: StoredCandle): Candle {
  return { t: c.t, o: c.o, h: c.h, l: c.l, c: c.c, v: c.v, n: c.n };
}
