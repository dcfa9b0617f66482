import { FeedImpl } from './feed';
import type { Feed, FeedOptions } from './types';

export type {
  Candle,
  ErrorCode,
  Limits,
  Quote,
  QuoteUpdate,
  SymbolInfo,
  Timeframe,
  WelcomeMessage,
} from '@tickhub/protocol';
export { type BackoffOptions, backoffDelay } from './backoff';
export { FeedError, type FeedErrorCode } from './errors';
export { QuoteBook } from './quote-book';
export type {
  Feed,
  FeedMetrics,
  FeedOptions,
  FeedState,
  ReconnectOptions,
  StateDetail,
  Subscription,
  WebSocketConstructorLike,
  WebSocketLike,
} from './types';

/**
 * Opens a feed: connects at once and keeps the connection alive (reconnect with backoff, resubscribe,
 * heartbeat watchdog) until `close()`.
 */
export function connect(options: FeedOptions): Feed {
  return new FeedImpl(options);
}
