import type { Quote, QuoteUpdate } from './types';

/** A quote's numeric fields, in the order the encoders write them. */
export const QUOTE_NUMBER_FIELDS = [
  'seq',
  'ts',
  'bid',
  'ask',
  'bidSize',
  'askSize',
  'last',
  'lastSize',
  'volume',
  'open',
  'high',
  'low',
] as const;

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** True for an object with a non-empty `symbol` and every numeric field of a Quote as a finite number. */
export function isQuote(value: unknown): value is Quote {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.symbol !== 'string' || v.symbol.length === 0) return false;
  for (const field of QUOTE_NUMBER_FIELDS) {
    if (!isFiniteNumber(v[field])) return false;
  }
  return true;
}

/** A Quote that also carries `n`, the count of source ticks folded into it. */
export function isQuoteUpdate(value: unknown): value is QuoteUpdate {
  return isQuote(value) && isFiniteNumber((value as unknown as Record<string, unknown>).n);
}
