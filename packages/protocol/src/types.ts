/**
 * The client-facing contract of tickhub, version 1 (docs/protocol.md). Every shape here is on the wire:
 * change it only in ways that old clients ignore.
 */

import type { Candle, Timeframe } from './candles';

export const PROTOCOL_VERSION = 1;

/** WebSocket subprotocols of `/ws`. JSON is the default when the client offers none. */
export const SUBPROTOCOL_JSON = 'tickhub.v1.json';
export const SUBPROTOCOL_MSGPACK = 'tickhub.v1.msgpack';
export type Subprotocol = typeof SUBPROTOCOL_JSON | typeof SUBPROTOCOL_MSGPACK;

/** The latest state of one symbol. Times are ms since the Unix epoch; prices and sizes are numbers. */
export interface Quote {
  symbol: string;
  /** Per-symbol tick sequence number assigned by the ingester; never decreases on a connection. */
  seq: number;
  ts: number;
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
  last: number;
  lastSize: number;
  /** Cumulative day volume. */
  volume: number;
  open: number;
  high: number;
  low: number;
}

/** One entry of a `ticks` frame: a quote plus `n`, the number of source ticks folded into it. */
export interface QuoteUpdate extends Quote {
  n: number;
}

export type AssetClass = 'equity' | 'fx' | 'crypto';

/** One entry of `GET /api/symbols` and of the `symbols` answer. */
export interface SymbolInfo {
  symbol: string;
  name: string;
  assetClass: AssetClass;
  /** Decimals a display should use for prices of this symbol. */
  priceDecimals: number;
  currency: string;
}

/** Limits announced in `welcome`; the server enforces each of them. */
export interface Limits {
  maxSubscriptions: number;
  minHz: number;
  maxHz: number;
  defaultHz: number;
  maxInboundPerSec: number;
  maxPayloadBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxSubscriptions: 500,
  minHz: 0.2,
  maxHz: 50,
  defaultHz: 4,
  maxInboundPerSec: 20,
  maxPayloadBytes: 16384,
});

export const DEFAULT_HEARTBEAT_MS = 15000;

/** Longest `id` a request may carry. */
export const MAX_REQUEST_ID_LENGTH = 64;
/** Longest symbol name the server considers (longer ones are rejected as BAD_REQUEST). */
export const MAX_SYMBOL_LENGTH = 32;

// ---------------------------------------------------------------- client → server

export interface SubscribeRequest {
  type: 'subscribe';
  id?: string;
  symbols: string[];
  maxHz?: number;
  /**
   * Leading edge (rule 2) for these symbols; the default. `false` aligns them instead: they go out
   * only at the points of one clock per connection and rate, together in one frame per interval,
   * and a tick on a quiet symbol waits for the next point (at most one interval).
   */
  leading?: boolean;
}

export interface UnsubscribeRequest {
  type: 'unsubscribe';
  id?: string;
  symbols: string[];
}

export interface PingRequest {
  type: 'ping';
  id?: string;
}

export interface SymbolsRequest {
  type: 'symbols';
  id?: string;
}

/** Candle history of one symbol (protocol 1.1). */
export interface HistoryRequest {
  type: 'history';
  id?: string;
  symbol: string;
  tf: Timeframe;
  /** 1 to MAX_HISTORY_LIMIT; DEFAULT_HISTORY_LIMIT when absent. */
  limit: number;
}

export type ClientRequest =
  | SubscribeRequest
  | UnsubscribeRequest
  | PingRequest
  | SymbolsRequest
  | HistoryRequest;
export type ClientRequestType = ClientRequest['type'];

// ---------------------------------------------------------------- server → client

export interface WelcomeMessage {
  type: 'welcome';
  v: typeof PROTOCOL_VERSION;
  connectionId: string;
  server: string;
  heartbeatMs: number;
  limits: Limits;
}

export interface SubscribedMessage {
  type: 'subscribed';
  id?: string;
  symbols: string[];
  maxHz: number;
}

export interface UnsubscribedMessage {
  type: 'unsubscribed';
  id?: string;
  symbols: string[];
}

export interface PongMessage {
  type: 'pong';
  id?: string;
  serverTime: number;
}

export interface SymbolsMessage {
  type: 'symbols';
  id?: string;
  symbols: SymbolInfo[];
}

export interface SnapshotMessage extends Quote {
  type: 'snapshot';
}

export interface TicksMessage {
  type: 'ticks';
  updates: QuoteUpdate[];
}

/** The answer to `history`: candles oldest first; the last one may still be open. */
export interface HistoryMessage {
  type: 'history';
  id?: string;
  symbol: string;
  tf: Timeframe;
  candles: Candle[];
}

export interface ErrorMessage {
  type: 'error';
  id?: string;
  code: ErrorCode;
  message: string;
  symbols?: string[];
}

export type ServerMessage =
  | WelcomeMessage
  | SubscribedMessage
  | UnsubscribedMessage
  | PongMessage
  | SymbolsMessage
  | SnapshotMessage
  | TicksMessage
  | HistoryMessage
  | ErrorMessage;

// ---------------------------------------------------------------- codes

export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  UNKNOWN_SYMBOL: 'UNKNOWN_SYMBOL',
  FORBIDDEN: 'FORBIDDEN',
  TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS',
  RATE_LIMITED: 'RATE_LIMITED',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const CloseCode = {
  /** Server going away (shutdown, drain): reconnect at once, to any pod. */
  GOING_AWAY: 1001,
  /** Policy violation (e.g. origin not allowed): do not retry unchanged. */
  POLICY_VIOLATION: 1008,
  /** Frame larger than maxPayloadBytes: fix the client. */
  MESSAGE_TOO_BIG: 1009,
  /** Internal error: reconnect with backoff. */
  INTERNAL_ERROR: 1011,
  /** Token missing, invalid or expired: get a new token. */
  UNAUTHORIZED: 4001,
  /** Rate limit abuse: reconnect with backoff. */
  RATE_LIMIT_ABUSE: 4008,
  /** Slow consumer: reconnect with backoff, subscribe to less. */
  SLOW_CONSUMER: 4009,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
