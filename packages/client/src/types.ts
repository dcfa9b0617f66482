import type { Candle, Quote, QuoteUpdate, SymbolInfo, Timeframe, WelcomeMessage } from '@tickhub/protocol';
import type { FeedError } from './errors';

/** What the SDK needs of a WebSocket: the browser's global WebSocket and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  /** Listeners get a MessageEvent (`data`), a CloseEvent (`code`, `reason`) or an error event. */
  addEventListener(type: 'message' | 'close' | 'error', listener: (event: never) => void): void;
}

/**
 * A WebSocket class: the browser's `WebSocket` or the `ws` package's. Its instances must behave as
 * WebSocketLike; the return type stays open because the DOM and `ws` type their event listeners differently.
 */
export type WebSocketConstructorLike = new (url: string, protocols?: string | string[]) => unknown;

export interface ReconnectOptions {
  /** Upper bound of the first backoff window (default 500 ms). */
  initialDelayMs?: number;
  /** Largest backoff window (default 30 000 ms). */
  maxDelayMs?: number;
  /** Consecutive failed attempts after which the feed gives up and closes (default: never). */
  maxAttempts?: number;
}

export interface FeedOptions {
  /** `ws://host:8080/ws` or `wss://…`. */
  url: string;
  /** Sent as `?token=`. */
  token?: string;
  /** Called before reconnecting after a 4001 close, and before the first connect when there is no token. */
  getToken?: () => string | Promise<string>;
  /** Default rate of subscriptions, clamped to the server's [minHz, maxHz]; the server's defaultHz when absent. */
  maxHz?: number;
  /**
   * Sent as `leading` with every subscribe. `false` suits a dashboard: the feed's symbols at one rate
   * arrive together, one frame per interval, and a tick on a quiet symbol waits at most one interval.
   * Absent (or `true`): the server's leading edge, a quiet symbol's tick at once.
   */
  leading?: boolean;
  /** Wire format (default json); msgpack loads `msgpackr` on first connect. */
  protocol?: 'json' | 'msgpack';
  /** Time a request waits for its answer once sent (default 10 000 ms). */
  requestTimeoutMs?: number;
  reconnect?: ReconnectOptions;
  /** A WebSocket implementation, for Node without a global WebSocket (the `ws` package). */
  WebSocket?: WebSocketConstructorLike;
  /** Interval of the keep-alive ping that also measures the round-trip time (default: the server's heartbeatMs). */
  pingIntervalMs?: number;
}

export type FeedState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateDetail {
  /** Close code of the connection that ended. */
  code?: number;
  /** Close reason, or why the SDK dropped the connection itself. */
  reason?: string;
  /** Reconnect attempt number, from 1. */
  attempt?: number;
  /** Wait before this attempt. */
  delayMs?: number;
  /** With `open` after a reconnect: the symbols restored on the new connection. */
  restored?: number;
}

export interface FeedMetrics {
  /** Round-trip time of the last ping. */
  rttMs: number | undefined;
  /** Quote updates (snapshots included) received per second, averaged over the last few seconds. */
  updatesPerSec: number;
  /** Connections re-established after a loss. */
  reconnects: number;
  /** Date.now() of the last frame received. */
  lastMessageAt: number | undefined;
}

export interface Feed {
  readonly state: FeedState;
  readonly metrics: FeedMetrics;
  /** The last `welcome` of the server: limits, heartbeatMs, connectionId. */
  readonly welcome: WelcomeMessage | undefined;
  subscribe(symbols: string[], options?: { maxHz?: number }): Subscription;
  symbols(): Promise<SymbolInfo[]>;
  /**
   * Candle history of one symbol (protocol 1.1): the newest `limit` candles of timeframe `tf`
   * (`1s`, `1m`, `5m`, `1h`), oldest first; the last one may still be open. Rejects with a FeedError
   * (UNKNOWN_SYMBOL, FORBIDDEN, BAD_REQUEST) as subscribe does. Asked again after a reconnect.
   */
  history(symbol: string, tf: Timeframe, limit?: number): Promise<Candle[]>;
  /** Round-trip time in ms. */
  ping(): Promise<number>;
  on(event: 'state', listener: (state: FeedState, detail?: StateDetail) => void): () => void;
  on(event: 'error', listener: (error: FeedError) => void): () => void;
  /** Final: the socket closes, pending requests reject with CLOSED, the state becomes `closed`. */
  close(): void;
}

export interface Subscription {
  /** The symbols of this subscription: those requested and not refused; after `ready`, the accepted ones. */
  readonly symbols: readonly string[];
  /** Resolves with the accepted symbols; rejects with a FeedError when none is accepted or on timeout. */
  readonly ready: Promise<string[]>;
  /** Local quote book: the snapshot of each symbol with every newer update merged in. */
  readonly book: ReadonlyMap<string, Quote>;
  /** Called after each merge into the book: `update` is absent for a snapshot. */
  on(event: 'quote', listener: (quote: Quote, update?: QuoteUpdate) => void): () => void;
  /** Symbols the server refused (UNKNOWN_SYMBOL, FORBIDDEN …). */
  on(event: 'error', listener: (error: FeedError) => void): () => void;
  /** Changes the rate of every symbol of this subscription; for a symbol shared with another subscription the last rate set wins. */
  setMaxHz(maxHz: number): Promise<void>;
  /** Adds symbols; resolves with those accepted. */
  add(symbols: string[]): Promise<string[]>;
  remove(symbols: string[]): Promise<void>;
  /** Unsubscribes every symbol that no other subscription holds. */
  close(): Promise<void>;
}
