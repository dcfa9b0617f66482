import type { IncomingMessage } from 'node:http';
import {
  ALL_TRANSPORTS,
  type ConnectionApplication,
  type ConnectionPrincipal,
  type SignalRConnection,
  type TransportKind,
} from './connection';

/**
 * Decides who is connecting: the principal, `null` for invalid credentials or `undefined` for none.
 * Either refuses a negotiate with 401; on a request to an existing connection, invalid credentials
 * get 401 (the client should fetch a new token) and none 403 (the request cannot be the owner's).
 */
export type Authenticate = (
  req: IncomingMessage,
) => ConnectionPrincipal | null | undefined | Promise<ConnectionPrincipal | null | undefined>;

/** A refused request: its HTTP status and a reason for the client (never a credential). */
export interface TransportRefusal {
  status: number;
  reason: string;
}

export interface SignalRTransportOptions {
  /** Transports offered by negotiate and accepted by the endpoints. */
  transports: readonly TransportKind[];
  /**
   * Grants stateful reconnect to clients that ask for it at negotiate (`useStatefulReconnect`): a
   * dropped WebSocket is replaced within `disconnectTimeoutMs` and nothing sent meanwhile is lost.
   */
  allowStatefulReconnects: boolean;
  /** A waiting long poll is answered with an empty 200 after this long. */
  longPollTimeoutMs: number;
  /** A long-polling connection with no poll for this long is closed. */
  disconnectTimeoutMs: number;
  /** A negotiated connection that has not started a transport after this long is dropped. */
  negotiateTimeoutMs: number;
  /**
   * Negotiated connections not started yet, per client address and per user (0 = no cap); a
   * negotiate beyond either gets 429 (`PendingNegotiations`).
   */
  maxPendingPerAddress: number;
  maxPendingPerUser: number;
  /** Unsent bytes above which a connection is dropped. */
  maxBufferedBytes: number;
  /** Largest WebSocket frame or HTTP POST body accepted from a client, a hard bound below the hub's checks. */
  maxTransportMessageBytes: number;
  /** Connections this server holds at most; negotiate answers 503 beyond it. */
  maxConnections: number;
  /** How often timeouts and keep-alives are checked: the resolution of every timer above. */
  tickIntervalMs: number;
  /**
   * Browser origins of other sites allowed to use the HTTP transports (CORS, with credentials).
   * Empty: no CORS headers, so only pages of the gateway's own origin can negotiate and poll; a
   * request from a listed origin gets CORS headers, one from an unlisted origin 403.
   */
  allowedOrigins: readonly string[];
  /**
   * Starts every connection id and token, e.g. `<pod>.`: lets a load balancer send the SSE and
   * long-polling requests of a connection (`?id=<token>`) to the pod that negotiated it.
   */
  connectionIdPrefix: string;
  authenticate?: Authenticate;
  /**
   * Decides a negotiate in place of `authenticate` (e.g. a request rate and connection caps, then the
   * token): the principal, or a refusal answered with its status and `{ "error": reason }`.
   */
  admitNegotiate?: (
    req: IncomingMessage,
  ) => Promise<{ principal: ConnectionPrincipal } | { refusal: TransportRefusal }>;
  /**
   * An SSE or long-polling transport is about to start: counts the connection (e.g. against caps per
   * address and per user) until `release` is called when it ends, or refuses it (the request gets
   * the status, the connection is closed). WebSockets are counted by whoever decides the upgrade.
   */
  holdConnection?: (
    req: IncomingMessage,
    principal: ConnectionPrincipal,
  ) => { release: () => void } | { refusal: TransportRefusal };
  /**
   * A negotiate was answered with this connection token (e.g. to let its WebSocket upgrade, already
   * counted at negotiate, pass the upgrade rate).
   */
  onNegotiated?: (req: IncomingMessage, connectionToken: string) => void;
  /** A started connection is being ended because its principal's `expiresAt` passed. */
  onTokenExpired?: (connection: SignalRConnection) => void;
  /** Who connects on a WebSocket whose upgrade an outside router authenticated. */
  principalOf?: (req: IncomingMessage) => ConnectionPrincipal;
  /**
   * The cookie that binds anonymous connections to the client that negotiated them
   * (`ConnectionOwner`); connections of an authenticated user are bound to that user.
   */
  clientCookieName: string;
  /**
   * A request named an existing connection that it does not own (another user, no user, another
   * anonymous client) and was refused with `status` (401 or 403): for counting and logging. The
   * connection is untouched.
   */
  onForeignRequest?: (req: IncomingMessage, connection: SignalRConnection, status: number) => void;
  /** A negotiate was refused with 429 for the pending negotiations of its address or user. */
  onPendingLimit?: (req: IncomingMessage, cap: 'address' | 'user') => void;
}

export const DEFAULT_TRANSPORT_OPTIONS: SignalRTransportOptions = {
  transports: ALL_TRANSPORTS,
  allowStatefulReconnects: true,
  longPollTimeoutMs: 90_000,
  disconnectTimeoutMs: 15_000,
  negotiateTimeoutMs: 10_000,
  maxPendingPerAddress: 100,
  maxPendingPerUser: 50,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxTransportMessageBytes: 1024 * 1024,
  maxConnections: 20_000,
  tickIntervalMs: 1000,
  allowedOrigins: [],
  connectionIdPrefix: '',
  clientCookieName: 'signalr_client',
};

/** What the server needs from a hub endpoint: something to run on each started connection. */
export interface SignalREndpoint {
  readonly path: string;
  createApplication(connection: SignalRConnection): ConnectionApplication;
}
