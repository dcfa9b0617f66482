import { TIMEFRAME_MS, TIMEFRAMES, type Timeframe } from '@tickhub/protocol/candles';

/**
 * What the dashboard remembers across reloads: the watchlist (its symbols in their order and its
 * update rate), the selected symbol and how the chart is drawn. Stored as one JSON document in
 * localStorage; anything unreadable falls back to the defaults instead of breaking the page.
 */

export type ChartMode = 'candles' | 'line';

export interface Settings {
  symbols: string[];
  maxHz: number;
  selected: string | null;
  chartMode: ChartMode;
  /** Candle width in seconds. */
  barSeconds: number;
}

export const STORAGE_KEY = 'tickhub.dashboard.v1';

/** The first-visit watchlist: a mix of equities, FX and crypto, filtered to what the feed carries. */
export const DEFAULT_SYMBOLS: readonly string[] = [
  'AAPL',
  'MSFT',
  'NVDA',
  'AMZN',
  'GOOGL',
  'TSLA',
  'EURUSD',
  'GBPUSD',
  'USDJPY',
  'BTCUSD',
  'ETHUSD',
  'SOLUSD',
];

export const RATE_CHOICES: readonly number[] = [1, 2, 4, 10, 20, 50];
/** Candle widths in seconds: the timeframes the gateway serves history for. */
export const BAR_CHOICES: readonly number[] = TIMEFRAMES.map((tf) => TIMEFRAME_MS[tf] / 1000);

/** The served timeframe of a candle width (one of BAR_CHOICES). */
export function timeframeOf(seconds: number): Timeframe | undefined {
  return TIMEFRAMES.find((tf) => TIMEFRAME_MS[tf] === seconds * 1000);
}
export const MAX_WATCHLIST = 200;

export function defaultSettings(): Settings {
  return { symbols: [...DEFAULT_SYMBOLS], maxHz: 4, selected: null, chartMode: 'candles', barSeconds: 60 };
}

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** Reads settings, keeping every valid field and replacing the others by defaults. */
export function loadSettings(store: KeyValueStore | undefined): { settings: Settings; firstVisit: boolean } {
  const defaults = defaultSettings();
  let raw: string | null = null;
  try {
    raw = store?.getItem(STORAGE_KEY) ?? null;
  } catch {
    // Storage can be disabled (privacy mode, sandboxed frame): run with defaults.
  }
  if (raw === null) return { settings: defaults, firstVisit: true };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { settings: defaults, firstVisit: true };
  }
  if (typeof parsed !== 'object' || parsed === null) return { settings: defaults, firstVisit: true };
  const o = parsed as Record<string, unknown>;
  const symbols = Array.isArray(o.symbols)
    ? uniqueSymbols(o.symbols.filter((s): s is string => typeof s === 'string'))
    : defaults.symbols;
  return {
    firstVisit: false,
    settings: {
      symbols: symbols.slice(0, MAX_WATCHLIST),
      maxHz: typeof o.maxHz === 'number' && RATE_CHOICES.includes(o.maxHz) ? o.maxHz : defaults.maxHz,
      selected: typeof o.selected === 'string' ? o.selected : null,
      chartMode: o.chartMode === 'line' || o.chartMode === 'candles' ? o.chartMode : defaults.chartMode,
      barSeconds:
        typeof o.barSeconds === 'number' && BAR_CHOICES.includes(o.barSeconds)
          ? o.barSeconds
          : defaults.barSeconds,
    },
  };
}

export function saveSettings(store: KeyValueStore | undefined, settings: Settings): void {
  try {
    store?.setItem(STORAGE_KEY, JSON.stringify(settings));
  } catch {
    // Quota exceeded or storage disabled: the session keeps working, it just won't be remembered.
  }
}

export function normalizeSymbol(input: string): string {
  return input.trim().toUpperCase();
}

function uniqueSymbols(list: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const s of list) {
    const n = normalizeSymbol(s);
    if (n.length > 0 && n.length <= 32 && !seen.has(n)) {
      seen.add(n);
      out.push(n);
    }
  }
  return out;
}

/** Moves `symbol` by `delta` places, clamped to the list; returns a new array. */
export function moveSymbol(list: readonly string[], symbol: string, delta: number): string[] {
  const from = list.indexOf(symbol);
  if (from < 0) return [...list];
  const to = Math.max(0, Math.min(list.length - 1, from + delta));
  return moveTo(list, symbol, to);
}

/** Moves `symbol` to index `to`; returns a new array. */
export function moveTo(list: readonly string[], symbol: string, to: number): string[] {
  const out = list.filter((s) => s !== symbol);
  if (out.length === list.length) return out;
  out.splice(Math.max(0, Math.min(out.length, to)), 0, symbol);
  return out;
}
