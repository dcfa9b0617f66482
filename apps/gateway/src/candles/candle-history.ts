import type { CandleStore } from '@tickhub/candles';
import type { Candle, Timeframe } from '@tickhub/protocol';
import { type Entitlements, symbolMatcher } from '../core/entitlements';

/**
 * Whether a connection's entitlements let it read a symbol: the very check subscribe applies (the edge
 * stage's session matches the symbol against `symbolMatcher(entitlements.symbols)`). Every history entry
 * point calls this one helper, so the rule can be rewired in one place.
 */
export function entitledTo(entitlements: Entitlements | undefined, symbol: string): boolean {
  return symbolMatcher(entitlements?.symbols)(symbol);
}

export type HistoryResult =
  | { ok: true; candles: Candle[] }
  | { ok: false; code: 'UNKNOWN_SYMBOL' | 'FORBIDDEN' | 'INTERNAL'; message: string };

/** Candle history as every entry point serves it (`/api/candles`, the `history` request, `GetCandles`). */
export class CandleHistory {
  constructor(
    private readonly store: CandleStore,
    private readonly isKnownSymbol: (symbol: string) => boolean,
    private readonly onError?: (error: unknown) => void,
  ) {}

  /** `tf` and `limit` are already valid (readHistoryParams); unknown answers before forbidden, as subscribe does. */
  async read(symbol: string, tf: Timeframe, limit: number, entitled: boolean): Promise<HistoryResult> {
    if (!this.isKnownSymbol(symbol)) return { ok: false, code: 'UNKNOWN_SYMBOL', message: 'unknown symbol' };
    if (!entitled) return { ok: false, code: 'FORBIDDEN', message: 'symbol not allowed for this connection' };
    try {
      return { ok: true, candles: await this.store.query(symbol, tf, limit) };
    } catch (error) {
      this.onError?.(error);
      return { ok: false, code: 'INTERNAL', message: 'candle history unavailable' };
    }
  }
}
