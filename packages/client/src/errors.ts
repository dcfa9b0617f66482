/**
 * Codes a FeedError may carry: the server's ErrorCode, or one of the SDK's own:
 * TIMEOUT (no answer in requestTimeoutMs), CLOSED (the feed was closed or gave up reconnecting),
 * POLICY (close 1008), TOO_BIG (close 1009), UNAUTHORIZED (close 4001 with no way to get a new token),
 * SLOW_CONSUMER (close 4009, the feed reconnects by itself), UNAVAILABLE (no WebSocket implementation).
 */
export type FeedErrorCode =
  | 'BAD_REQUEST'
  | 'UNKNOWN_TYPE'
  | 'UNKNOWN_SYMBOL'
  | 'FORBIDDEN'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'RATE_LIMITED'
  | 'INTERNAL'
  | 'TIMEOUT'
  | 'CLOSED'
  | 'POLICY'
  | 'TOO_BIG'
  | 'UNAUTHORIZED'
  | 'SLOW_CONSUMER'
  | 'UNAVAILABLE';

/** Every failure the SDK reports: a rejected request, a refused symbol, a close code it cannot recover from. */
export class FeedError extends Error {
  override readonly name = 'FeedError';
  /** The server's error code, or one of TIMEOUT, CLOSED, POLICY, TOO_BIG, UNAUTHORIZED, SLOW_CONSUMER, UNAVAILABLE. */
  readonly code: FeedErrorCode | (string & {});
  /** The symbols the server refused, when the error concerns some symbols. */
  readonly symbols?: string[];
  /** The WebSocket close code, when the error comes from a close. */
  readonly closeCode?: number;

  constructor(
    code: FeedErrorCode | (string & {}),
    message: string,
    extra?: { symbols?: string[]; closeCode?: number },
  ) {
    super(message);
    this.code = code;
    if (extra?.symbols) this.symbols = extra.symbols;
    if (extra?.closeCode !== undefined) this.closeCode = extra.closeCode;
  }
}
