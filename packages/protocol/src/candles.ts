/**
 * Candle history (protocol 1.1): OHLCV candles built from every source tick, served by
 * `GET /api/candles`, the native `history` request and the hub's `GetCandles`.
 */

/** The timeframes a gateway serves, shortest first. */
export const TIMEFRAMES = ['1s', '1m', '5m', '1h'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

/** Length of each timeframe's candle in ms; a candle starts at a multiple of it (UTC). */
export const TIMEFRAME_MS: Readonly<Record<Timeframe, number>> = Object.freeze({
  '1s': 1_000,
  '1m': 60_000,
  '5m': 300_000,
  '1h': 3_600_000,
});

/** Candles kept per symbol and timeframe, at least (an hour of 1s, a day of 1m, a week of 5m, a month of 1h). */
export const CANDLE_RETENTION: Readonly<Record<Timeframe, number>> = Object.freeze({
  '1s': 3_600,
  '1m': 1_440,
  '5m': 2_016,
  '1h': 720,
});

export const DEFAULT_HISTORY_LIMIT = 300;
export const MAX_HISTORY_LIMIT = 1_000;

/**
 * One candle: `t` its start, `o/h/l/c` from the ticks' `last`, `v` the sum of their `lastSize`, `n` the
 * number of source ticks. A candle with no ticks does not exist.
 */
export interface Candle {
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
  n: number;
}

export function isTimeframe(value: unknown): value is Timeframe {
  return typeof value === 'string' && (TIMEFRAMES as readonly string[]).includes(value);
}

/**
 * Reads `tf` and `limit` of a history request, from JSON values or from query strings (both arrive
 * here); one rule for every entry point. Returns an error message for bad input.
 */
export function readHistoryParams(
  tf: unknown,
  limit: unknown,
): { ok: true; tf: Timeframe; limit: number } | { ok: false; message: string } {
  if (!isTimeframe(tf)) return { ok: false, message: `"tf" must be one of ${TIMEFRAMES.join(', ')}` };
  let n: number;
  if (limit === undefined || limit === null || limit === '') n = DEFAULT_HISTORY_LIMIT;
  else if (typeof limit === 'number') n = limit;
  else if (typeof limit === 'string' && /^\d{1,7}$/.test(limit)) n = Number(limit);
  else n = Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_HISTORY_LIMIT) {
    return { ok: false, message: `"limit" must be an integer from 1 to ${MAX_HISTORY_LIMIT}` };
  }
  return { ok: true, tf, limit: n };
}
