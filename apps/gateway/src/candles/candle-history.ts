import type { IncomingMessage } from 'node:http';
import type { CandleStore } from '@tickhub/candles';
import type { Candle, SymbolInfo, Timeframe } from '@tickhub/protocol';
import type { AccessControl } from '../auth/access-control';
import { type Entitlements, symbolMatcher } from '../core/entitlements';

// The entitlement checks of the history entry points, in this one file so that they can be rewired
// together when the rules move.

/**
 * Whether a connection's entitlements let it read a symbol (the native `history` request and the
 * hub's GetCandles): the very check subscribe applies, where the edge stage's session matches the
 * symbol against `symbolMatcher(entitlements.symbols)`.
 */
export function entitledTo(entitlements: Entitlements | undefined, symbol: string): boolean {
  return symbolMatcher(entitlements?.symbols)(symbol);
}

/**
 * Whether an HTTP request may read a symbol (`GET /api/candles`): the check `/api/symbols` lists by
 * (ENTITLED_SYMBOLS, or the token's `symbols` with authentication on). Null: no valid token (401).
 */
export async function requestEntitledTo(
  access: AccessControl,
  req: IncomingMessage,
  info: SymbolInfo,
): Promise<boolean | null> {
  const visible = await access.symbolsFor(req, [info]);
  return visible === null ? null : visible.length === 1;
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
