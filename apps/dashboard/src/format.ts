import type { AssetClass } from '@tickhub/protocol';

/** What the watchlist knows about a symbol before its first quote (from `/api/symbols`). */
export interface SymbolMeta {
  assetClass?: AssetClass;
  priceDecimals?: number;
  name?: string;
}

/**
 * Decimals for prices of one symbol. FX quotes in pips (5 decimals, 3 for JPY crosses as the
 * universe announces), equities in cents, crypto by price level so that a 0.1234 coin and a
 * 97 000 coin both show about six significant digits.
 */
export function priceDecimals(meta: SymbolMeta | undefined, referencePrice: number): number {
  switch (meta?.assetClass) {
    case 'fx':
      return meta.priceDecimals ?? 5;
    case 'equity':
      return meta.priceDecimals ?? 2;
    case 'crypto':
      return cryptoDecimals(referencePrice);
    default:
      return meta?.priceDecimals ?? 2;
  }
}

export function cryptoDecimals(price: number): number {
  const p = Math.abs(price);
  if (!Number.isFinite(p) || p === 0) return 2;
  if (p >= 1000) return 2;
  if (p >= 10) return 3;
  if (p >= 1) return 4;
  // Below one: four significant digits, however many leading zeros (0.5234, 0.00002431).
  return Math.min(10, Math.ceil(-Math.log10(p)) + 3);
}

// Intl formatters are costly to build and cheap to reuse; there are only a handful of precisions.
const fixedFormats = new Map<number, Intl.NumberFormat>();
function fixedFormat(decimals: number): Intl.NumberFormat {
  let f = fixedFormats.get(decimals);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    fixedFormats.set(decimals, f);
  }
  return f;
}

export const DASH = '—';

/** A price with thousands separators and a fixed number of decimals. */
export function formatPrice(value: number | undefined, decimals: number): string {
  if (value === undefined || !Number.isFinite(value)) return DASH;
  return fixedFormat(decimals).format(value);
}

/** A signed price difference: `+1.25`, `−0.00042` (true minus sign, same width as plus). */
export function formatChange(value: number | undefined, decimals: number): string {
  if (value === undefined || !Number.isFinite(value)) return DASH;
  const text = fixedFormat(decimals).format(Math.abs(value));
  if (isZero(value, decimals)) return text;
  return (value > 0 ? '+' : '−') + text;
}

/** A signed percentage with two decimals: `+0.42%`. */
export function formatPercent(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return DASH;
  const text = `${fixedFormat(2).format(Math.abs(value))}%`;
  if (isZero(value, 2)) return text;
  return (value > 0 ? '+' : '−') + text;
}

function isZero(value: number, decimals: number): boolean {
  return Math.abs(value) < 0.5 * 10 ** -decimals;
}

const compactUnits: ReadonlyArray<readonly [number, string]> = [
  [1e12, 'T'],
  [1e9, 'B'],
  [1e6, 'M'],
  [1e3, 'K'],
];

/** Volumes as traders read them: `12.35M`, `845.20K`, `930`. Always two decimals above a thousand. */
export function formatVolume(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return DASH;
  const v = Math.abs(value);
  for (const [size, unit] of compactUnits) {
    if (v >= size) return `${fixedFormat(2).format(value / size)}${unit}`;
  }
  return fixedFormat(v % 1 === 0 ? 0 : 2).format(value);
}

/** An update rate in updates per second: `9.8`, `0.4`, `—` when nothing came. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return DASH;
  return fixedFormat(perSecond >= 100 ? 0 : 1).format(perSecond);
}

/** A round-trip time: `3 ms`, `0.4 ms`. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return DASH;
  return `${fixedFormat(ms < 10 ? 1 : 0).format(ms)} ms`;
}

/** Direction of a move, for colouring: 1 up, -1 down, 0 unchanged or unknown. */
export function direction(previous: number | undefined, next: number): -1 | 0 | 1 {
  if (previous === undefined || !Number.isFinite(previous) || next === previous) return 0;
  return next > previous ? 1 : -1;
}
