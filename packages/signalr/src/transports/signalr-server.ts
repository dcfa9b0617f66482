import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  ALL_TRANSPORTS,
  type ConnectionApplication,
  type ConnectionPrincipal,
  SignalRConnection,
  TRANSFER_FORMATS,
  type TransportKind,
} from './connection';
import { ConnectionOwner } from './connection-owner';
import { LongPollingSink, respond } from './long-polling';
import { PendingNegotiations } from './pending-negotiations';
import { ServerSentEventsSink, WebSocketSink } from './sinks';

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

const NEGOTIATE_VERSION = 1;

/** The error of the Close message sent when the principal's token expires. */
export const TOKEN_EXPIRED_ERROR = 'Unauthorized: the access token expired.';

/**
 * Runs `fn` at `at` (ms since the epoch); returns what cancels it. setTimeout waits at most
 * 2^31-1 ms, so an expiry further away is re-armed on the way.
 */
function runAt(at: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = at - Date.now();
    timer = setTimeout(() => (at - Date.now() > 0 ? arm() : fn()), Math.min(Math.max(0, left), 86_400_000));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

function newId(): string {
  return randomBytes(16).toString('base64url');
}

function parseUrl(req: IncomingMessage): URL | undefined {
  const raw = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  try {
    return new URL(raw, 'http://localhost');
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  respond(res, status, 'application/json', JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, text: string): void {
  respond(res, status, 'text/plain', text);
}

function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
  );
}

/**
 * The HTTP side of SignalR (TransportProtocols.md): negotiate, the three transports and the
 * connection table. Framework-neutral: it takes plain node:http requests and upgrade events, so the
 * gateway can mount it behind Express (Nest) and route WebSocket upgrades of hub paths to it.
 */
export class SignalRServer {
  readonly options: SignalRTransportOptions;
  private readonly endpoints = new Map<string, SignalREndpoint>();
  /** By connection token: the only id transports accept. */
  private readonly connections = new Map<string, SignalRConnection>();
  private readonly longPolls = new Map<SignalRConnection, LongPollingSink>();
  private readonly posting = new Set<SignalRConnection>();
  /** Connections whose WebSocket upgrade is in progress. */
  private readonly claimed = new Set<SignalRConnection>();
  /** Cancels the expiry of connections whose principal expires. */
  private readonly expiries = new Map<SignalRConnection, () => void>();
  /** Releases the count `holdConnection` took for an SSE or long-polling connection. */
  private readonly holds = new Map<SignalRConnection, () => void>();
  /** The anonymous client each negotiated connection belongs to (without authentication). */
  private readonly owners = new Map<SignalRConnection, ConnectionOwner>();
  private readonly pending: PendingNegotiations;
  private readonly wss: WebSocketServer;
  private readonly sweepTimer: NodeJS.Timeout;
  private closing = false;

  constructor(options: Partial<SignalRTransportOptions> = {}) {
    this.options = { ...DEFAULT_TRANSPORT_OPTIONS, ...options };
    this.pending = new PendingNegotiations(this.options.maxPendingPerAddress, this.options.maxPendingPerUser);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxTransportMessageBytes,
      perMessageDeflate: false,
    });
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), this.options.tickIntervalMs);
    this.sweepTimer.unref();
  }

  addEndpoint(endpoint: SignalREndpoint): void {
    const path = normalizePath(endpoint.path);
    if (this.endpoints.has(path)) throw new Error(`A hub is already mapped to ${path}`);
    this.endpoints.set(path, endpoint);
  }

  get paths(): string[] {
    return [...this.endpoints.keys()];
  }

  /** Open connections (negotiated or started), for metrics and tests. */
  get connectionCount(): number {
    let count = 0;
    for (const connection of this.connections.values()) if (!connection.closed) count++;
    return count;
  }

  /** Started connections per transport (for metrics). */
  connectionsByTransport(): Record<TransportKind, number> {
    const counts: Record<TransportKind, number> = { WebSockets: 0, ServerSentEvents: 0, LongPolling: 0 };
    for (const connection of this.connections.values()) {
      if (!connection.closed && connection.transport && connection.application)
        counts[connection.transport]++;
    }
    return counts;
  }

  /** True when the path (without query) belongs to a hub or its negotiate endpoint. */
  matches(pathname: string): boolean {
    const path = normalizePath(pathname);
    if (this.endpoints.has(path)) return true;
    return path.endsWith('/negotiate') && this.endpoints.has(path.slice(0, -'/negotiate'.length));
  }

  /**
   * Serves a hub HTTP request (negotiate, SSE, long polling, send, delete). Returns false, without
   * touching the response, when the path is not a hub's.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const url = parseUrl(req);
    if (!url) return false;
    const path = normalizePath(url.pathname);
    const negotiate = path.endsWith('/negotiate');
    const endpoint = this.endpoints.get(negotiate ? path.slice(0, -'/negotiate'.length) : path);
    if (!endpoint) return false;
    if (!this.applyCors(req, res)) return true;
    if (req.method === 'OPTIONS') {
      drain(req);
      respond(res, 204);
      return true;
    }
    this.guard(
      res,
      negotiate ? this.negotiate(req, res, url, endpoint) : this.connectionRequest(req, res, url, endpoint),
    );
    return true;
  }

  /** CORS for browsers on other origins; false when the request was refused (403). */
  private applyCors(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (origin === undefined || this.options.allowedOrigins.length === 0) return true;
    if (!this.options.allowedOrigins.includes(origin)) {
      drain(req);
      sendText(res, 403, 'Origin not allowed');
      return false;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Vary', 'Origin');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
      const requested = req.headers['access-control-request-headers'];
      if (typeof requested === 'string') res.setHeader('Access-Control-Allow-Headers', requested);
      res.setHeader('Access-Control-Max-Age', '600');
    }
    return true;
  }

  /**
   * Takes a WebSocket upgrade for a hub path. Returns false, leaving the socket alone, when the
   * path is not a hub's.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = parseUrl(req);
    if (!url) return false;
    const endpoint = this.endpoints.get(normalizePath(url.pathname));
    if (!endpoint) return false;
    this.upgrade(req, socket, head, endpoint).catch(() =>
      rejectUpgrade(socket, 500, 'Internal Server Error'),
    );
    return true;
  }

  /** Closes every connection, telling hub clients they may reconnect elsewhere. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    for (const connection of [...this.connections.values()]) {
      if (connection.application) connection.application.shutdown('Server is shutting down.');
      else connection.close();
    }
    for (const sink of this.longPolls.values()) sink.abort();
    this.connections.clear();
    this.longPolls.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  // ---------------------------------------------------------------- negotiate

  private async negotiate(req: IncomingMessage, res: ServerResponse, url: URL, endpoint: SignalREndpoint) {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      sendText(res, 405, 'Method Not Allowed');
      return;
    }
    drain(req);
    const requested = url.searchParams.get('negotiateVersion');
    let version = 0;
    if (requested !== null) {
      const parsed = Number(requested);
      if (!Number.isInteger(parsed) || parsed < 0 || requested.trim() === '') {
        sendJson(res, 400, { error: `The client requested an invalid protocol version '${requested}'` });
        return;
      }
      version = Math.min(parsed, NEGOTIATE_VERSION);
    }
    if (this.closing) {
      sendJson(res, 503, { error: 'The server is shutting down.' });
      return;
    }
    if (this.connectionCount >= this.options.maxConnections) {
      sendJson(res, 503, { error: 'The server has reached its connection limit.' });
      return;
    }
    const address = req.socket.remoteAddress ?? 'unknown';
    if (this.refusePending(req, res, this.pending.exceeded(address))) return;
    const admission = await this.admitNegotiate(req);
    if ('refusal' in admission) {
      sendJson(res, admission.refusal.status, { error: admission.refusal.reason });
      return;
    }
    const user = admission.principal.userId;
    // Checked again with the user, and because other negotiates may have passed while this one authenticated.
    if (this.refusePending(req, res, this.pending.exceeded(address, user))) return;
    const connection = this.createConnection(endpoint, admission.principal, version);
    this.pending.add(connection, address, user);
    if (!this.options.authenticate) {
      this.owners.set(connection, ConnectionOwner.negotiate(req, res, this.options.clientCookieName));
    }
    this.options.onNegotiated?.(req, connection.connectionToken);
    const body: Record<string, unknown> = { connectionId: connection.connectionId };
    if (version >= 1) body.connectionToken = connection.connectionToken;
    body.negotiateVersion = version;
    body.availableTransports = this.options.transports.map((transport) => ({
      transport,
      transferFormats: TRANSFER_FORMATS[transport],
    }));
    sendJson(res, 200, body);
  }

  /** Answers 429 when a cap of pending negotiations is reached; true when it did. */
  private refusePending(
    req: IncomingMessage,
    res: ServerResponse,
    cap: 'address' | 'user' | undefined,
  ): boolean {
    if (cap === undefined) return false;
    try {
      this.options.onPendingLimit?.(req, cap);
    } catch {
      // Counting must not change the answer.
    }
    sendJson(res, 429, {
      error: `Too many negotiated connections not started yet for this ${cap === 'address' ? 'address' : 'user'}.`,
    });
    return true;
  }

  private createConnection(
    endpoint: SignalREndpoint,
    principal: ConnectionPrincipal,
    version: number,
  ): SignalRConnection {
    const prefix = this.options.connectionIdPrefix;
    const connectionId = prefix + newId();
    // Version 0 clients address the connection by its id; version 1 by a separate secret token.
    const token = version >= 1 ? prefix + newId() : connectionId;
    const connection = new SignalRConnection(
      connectionId,
      token,
      endpoint.path,
      principal,
      this.options.maxBufferedBytes,
      Date.now(),
      (c) => this.onDisposed(c),
    );
    this.connections.set(token, connection);
    if (principal.expiresAt !== undefined) {
      // One unref'd timer per connection, as /ws does: exact, and free while it waits.
      this.expiries.set(
        connection,
        runAt(principal.expiresAt, () => this.expire(connection)),
      );
    }
    return connection;
  }

  /**
   * Ends a connection whose token expired with a Close message that allows reconnecting: the official
   * clients with automatic reconnect then negotiate again, asking `accessTokenFactory` for a token.
   */
  private expire(connection: SignalRConnection): void {
    this.expiries.delete(connection);
    if (connection.closed) return;
    if (!connection.application) {
      // Negotiated, never started: nothing to tell the client, its transport request will get 404.
      connection.close(TOKEN_EXPIRED_ERROR);
      return;
    }
    this.options.onTokenExpired?.(connection);
    connection.application.shutdown(TOKEN_EXPIRED_ERROR);
  }

  private onDisposed(connection: SignalRConnection): void {
    this.pending.settle(connection);
    this.expiries.get(connection)?.();
    this.expiries.delete(connection);
    this.holds.get(connection)?.();
    this.holds.delete(connection);
    const sink = this.longPolls.get(connection);
    // A long-polling client still has to fetch what was queued (such as the Close message) and
    // then be told with 204 that the connection is over; it stays addressable until then.
    if (sink && !sink.finished) return;
    this.forget(connection);
  }

  private forget(connection: SignalRConnection): void {
    if (this.connections.get(connection.connectionToken) === connection) {
      this.connections.delete(connection.connectionToken);
    }
    this.longPolls.delete(connection);
    this.claimed.delete(connection);
    this.owners.delete(connection);
  }

  private async admitNegotiate(
    req: IncomingMessage,
  ): Promise<{ principal: ConnectionPrincipal } | { refusal: TransportRefusal }> {
    if (this.options.admitNegotiate) {
      try {
        return await this.options.admitNegotiate(req);
      } catch {
        return { refusal: { status: 401, reason: 'Unauthorized.' } };
      }
    }
    const principal = await this.authenticate(req);
    return principal ? { principal } : { refusal: { status: 401, reason: 'Unauthorized.' } };
  }

  /**
   * Counts an SSE or long-polling connection with `holdConnection` before its transport starts;
   * false when refused (answered, and the connection closed).
   */
  private holdTransport(req: IncomingMessage, res: ServerResponse, connection: SignalRConnection): boolean {
    const hold = this.options.holdConnection;
    if (!hold) return true;
    const outcome = hold(req, connection.principal);
    if ('refusal' in outcome) {
      sendJson(res, outcome.refusal.status, { error: outcome.refusal.reason });
      connection.close();
      return false;
    }
    this.holds.set(connection, outcome.release);
    return true;
  }

  private async authenticate(req: IncomingMessage): Promise<ConnectionPrincipal | null | undefined> {
    if (!this.options.authenticate) return {};
    try {
      return await this.options.authenticate(req);
    } catch {
      return null;
    }
  }

  /**
   * Every request naming an existing connection (poll, send, delete, event stream, WebSocket upgrade)
   * must come from its owner: with authentication, a valid token of the user who negotiated it (whose
   * later expiry then extends the connection); without, the client that negotiated it
   * (`ConnectionOwner`). The status of the refusal, or undefined for the owner.
   */
  private async foreignStatus(
    req: IncomingMessage,
    connection: SignalRConnection,
  ): Promise<number | undefined> {
    if (!this.options.authenticate) {
      return this.owners.get(connection)?.owns(req, this.options.clientCookieName) ? undefined : 403;
    }
    const principal = await this.authenticate(req);
    if (principal === null) return 401;
    if (principal === undefined || principal.userId !== connection.principal.userId) return 403;
    this.renewExpiry(connection, principal.expiresAt);
    return undefined;
  }

  /** Refuses a request that does not own the connection it names; the connection is untouched. */
  private refuseForeign(
    req: IncomingMessage,
    connection: SignalRConnection,
    status: number,
  ): { status: number; reason: string } {
    try {
      this.options.onForeignRequest?.(req, connection, status);
    } catch {
      // Counting must not change the answer.
    }
    return { status, reason: status === 401 ? 'Unauthorized' : 'Forbidden' };
  }

  /** Moves a connection's end to `expiresAt` when that is later (undefined: a token that never expires). */
  private renewExpiry(connection: SignalRConnection, expiresAt: number | undefined): void {
    const current = connection.principal.expiresAt;
    if (current === undefined || (expiresAt !== undefined && expiresAt <= current) || connection.closed)
      return;
    this.expiries.get(connection)?.();
    this.expiries.delete(connection);
    connection.principal.expiresAt = expiresAt;
    if (expiresAt !== undefined) {
      this.expiries.set(
        connection,
        runAt(expiresAt, () => this.expire(connection)),
      );
    }
  }

  // ---------------------------------------------------------------- transports over HTTP

  private async connectionRequest(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    endpoint: SignalREndpoint,
  ) {
    const token = url.searchParams.get('id');
    if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'DELETE') {
      res.setHeader('Allow', 'GET, POST, DELETE');
      sendText(res, 405, 'Method Not Allowed');
      return;
    }
    if (token === null || token === '') {
      drain(req);
      sendText(res, 400, 'Connection ID required');
      return;
    }
    const connection = this.connections.get(token);
    if (!connection || connection.hubPath !== endpoint.path) {
      drain(req);
      sendText(res, 404, 'No Connection with that ID');
      return;
    }
    const status = await this.foreignStatus(req, connection);
    if (status !== undefined) {
      drain(req);
      const refusal = this.refuseForeign(req, connection, status);
      sendText(res, refusal.status, refusal.reason);
      return;
    }
    if (req.method === 'POST') return this.send(req, res, connection);
    drain(req);
    if (req.method === 'DELETE') return this.delete(res, connection);
    const accept = req.headers.accept ?? '';
    if (accept.includes('text/event-stream')) return this.serverSentEvents(req, res, connection, endpoint);
    return this.longPoll(req, res, connection, endpoint);
  }

  private serverSentEvents(
    req: IncomingMessage,
    res: ServerResponse,
    connection: SignalRConnection,
    endpoint: SignalREndpoint,
  ) {
    if (!this.options.transports.includes('ServerSentEvents')) {
      sendText(res, 404, 'The ServerSentEvents transport is disabled.');
      return;
    }
    if (connection.closed) {
      sendText(res, 404, 'No Connection with that ID');
      return;
    }
    if (connection.started || this.claimed.has(connection)) {
      sendText(res, 409, 'Another transport is already active for this connection.');
      return;
    }
    if (!this.holdTransport(req, res, connection)) return;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      // Proxies such as nginx must pass events through as they come.
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    // Some EventSource implementations only report the stream open once a first byte arrives.
    res.write(':\r\n\r\n');
    this.pending.settle(connection);
    connection.start(
      'ServerSentEvents',
      new ServerSentEventsSink(res),
      endpoint.createApplication(connection),
    );
    res.on('close', () => connection.transportClosed());
  }

  private longPoll(
    req: IncomingMessage,
    res: ServerResponse,
    connection: SignalRConnection,
    endpoint: SignalREndpoint,
  ) {
    const existing = this.longPolls.get(connection);
    if (existing) {
      existing.accept(res);
      if (existing.finished) this.forget(connection);
      return;
    }
    if (!this.options.transports.includes('LongPolling')) {
      sendText(res, 404, 'The LongPolling transport is disabled.');
      return;
    }
    if (connection.closed) {
      sendText(res, 404, 'No Connection with that ID');
      return;
    }
    if (connection.started || this.claimed.has(connection)) {
      sendText(res, 400, 'Cannot poll a connection that uses another transport.');
      return;
    }
    if (!this.holdTransport(req, res, connection)) return;
    const now = Date.now();
    const sink = new LongPollingSink('application/octet-stream', this.options.longPollTimeoutMs, now, () =>
      this.forget(connection),
    );
    this.longPolls.set(connection, sink);
    this.pending.settle(connection);
    connection.start('LongPolling', sink, endpoint.createApplication(connection));
    // The first poll only starts the transport: it returns at once, empty.
    respond(res, 200, 'application/octet-stream');
  }

  private async send(req: IncomingMessage, res: ServerResponse, connection: SignalRConnection) {
    if (connection.transport === 'WebSockets') {
      drain(req);
      sendText(res, 405, 'POST requests are not allowed for WebSocket connections.');
      return;
    }
    if (connection.closed || !connection.started) {
      drain(req);
      sendText(res, 404, 'No Connection with that ID');
      return;
    }
    if (this.posting.has(connection)) {
      drain(req);
      sendText(res, 409, 'Another send request is in progress.');
      return;
    }
    this.posting.add(connection);
    try {
      const preParsed = (req as IncomingMessage & { body?: unknown }).body;
      if (req.readableEnded && (Buffer.isBuffer(preParsed) || typeof preParsed === 'string')) {
        // A body parser upstream already consumed the stream.
        connection.receive(typeof preParsed === 'string' ? Buffer.from(preParsed) : preParsed);
      } else {
        let received = 0;
        for await (const chunk of req as AsyncIterable<Buffer>) {
          received += chunk.length;
          if (received > this.options.maxTransportMessageBytes) {
            connection.close('The request body is too large.');
            sendText(res, 413, 'Payload Too Large');
            req.resume();
            return;
          }
          // Hub messages are parsed as they arrive; an incomplete one waits for the next chunk.
          connection.receive(chunk);
          // The hub is busy with earlier invocations: stop reading the body until it catches up.
          await connection.whenReceiving();
          if (connection.closed) {
            // The hub ended the connection (e.g. an oversized message): the rest is not read.
            drain(req);
            break;
          }
        }
      }
      sendText(res, 200, '');
    } finally {
      this.posting.delete(connection);
    }
  }

  private delete(res: ServerResponse, connection: SignalRConnection): void {
    if (connection.transport !== 'LongPolling') {
      sendText(res, 400, 'Cannot terminate this connection using the DELETE endpoint.');
      return;
    }
    sendText(res, 202, '');
    connection.close();
  }

  // ---------------------------------------------------------------- WebSockets

  /**
   * The synchronous part of the upgrade decision for a hub path, for an upgrade router that owns the
   * HTTP server's upgrades: an unknown connection token gets 404, a connection that already has a
   * transport 409, a full or closing server 503, and, when the router has already authenticated the
   * request (`user`), an upgrade by a user other than the one who negotiated 403. Undefined lets the
   * upgrade through (and for paths that are not a hub's).
   */
  checkUpgrade(req: IncomingMessage, user?: string): TransportRefusal | undefined {
    const target = this.upgradeTarget(req);
    if ('refusal' in target) return target.refusal;
    const connection = target.connection;
    if (!connection) return undefined;
    const owned = this.options.authenticate
      ? user !== undefined && user === connection.principal.userId
      : this.owners.get(connection)?.owns(req, this.options.clientCookieName) === true;
    return owned ? undefined : this.refuseForeign(req, connection, 403);
  }

  /**
   * What a WebSocket upgrade of a hub path names: a negotiated connection that may still take a
   * transport, none (`?id=` absent: a connection without negotiate, or not a hub path), or a refusal.
   */
  private upgradeTarget(
    req: IncomingMessage,
  ): { refusal: TransportRefusal } | { connection?: SignalRConnection } {
    const url = parseUrl(req);
    const endpoint = url ? this.endpoints.get(normalizePath(url.pathname)) : undefined;
    if (!url || !endpoint) return {};
    if (!this.options.transports.includes('WebSockets'))
      return { refusal: { status: 404, reason: 'Not Found' } };
    const token = url.searchParams.get('id');
    if (token === null) {
      if (this.closing || this.connectionCount >= this.options.maxConnections) {
        return { refusal: { status: 503, reason: 'Service Unavailable' } };
      }
      return {};
    }
    const connection = this.connections.get(token);
    if (!connection || connection.closed || connection.hubPath !== endpoint.path) {
      return { refusal: { status: 404, reason: 'Not Found' } };
    }
    if (connection.started || this.claimed.has(connection)) {
      return { refusal: { status: 409, reason: 'Conflict' } };
    }
    return { connection };
  }

  /** The WebSocket server of every hub path, for an upgrade router to hand upgraded sockets to. */
  get webSocketServer(): WebSocketServer {
    return this.wss;
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, endpoint: SignalREndpoint) {
    const target = this.upgradeTarget(req);
    if ('refusal' in target) {
      rejectUpgrade(socket, target.refusal.status, target.refusal.reason);
      return;
    }
    const connection = target.connection;
    let principal: ConnectionPrincipal | undefined;
    if (!connection) {
      principal = (await this.authenticate(req)) ?? undefined;
      if (!principal) {
        rejectUpgrade(socket, 401, 'Unauthorized');
        return;
      }
    } else {
      const status = await this.foreignStatus(req, connection);
      if (status !== undefined) {
        const refusal = this.refuseForeign(req, connection, status);
        rejectUpgrade(socket, refusal.status, refusal.reason);
        return;
      }
      // Claimed before the asynchronous upgrade so that a second attempt gets 409.
      this.claimed.add(connection);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptWebSocket(ws, req, principal, endpoint));
  }

  /**
   * Binds an upgraded WebSocket of a hub path to its connection (the one named by `id`, or a new
   * one without negotiate). `principal` is who connects when the upgrade was authenticated
   * elsewhere; by default `options.principalOf(req)`.
   */
  acceptWebSocket(
    ws: WebSocket,
    req: IncomingMessage,
    principal?: ConnectionPrincipal,
    known?: SignalREndpoint,
  ): void {
    const url = parseUrl(req);
    const endpoint = known ?? (url ? this.endpoints.get(normalizePath(url.pathname)) : undefined);
    if (!url || !endpoint) {
      ws.close(1008, 'Not a hub path');
      return;
    }
    const token = url.searchParams.get('id');
    let connection: SignalRConnection | undefined;
    if (token === null) {
      connection = this.createConnection(endpoint, principal ?? this.options.principalOf?.(req) ?? {}, 1);
    } else {
      connection = this.connections.get(token);
      const claimedHere = connection !== undefined && this.claimed.delete(connection);
      if (!connection || connection.closed || connection.hubPath !== endpoint.path) {
        ws.close(1008, 'No Connection with that ID');
        return;
      }
      if (connection.started && !claimedHere) {
        ws.close(1008, 'Another transport is already active for this connection.');
        return;
      }
      // The connection token alone must not let another user take over a negotiated connection (SSE
      // and long polling check the same); the upgrade was authenticated by whoever handed it over.
      if (this.options.authenticate && !claimedHere) {
        const upgrading = principal ?? this.options.principalOf?.(req);
        if (upgrading?.userId !== connection.principal.userId) {
          ws.close(1008, 'Forbidden: not the user who negotiated this connection.');
          return;
        }
        if (upgrading) this.renewExpiry(connection, upgrading.expiresAt);
      }
    }
    const target = connection;
    target.setFlowControl({ pause: () => ws.pause(), resume: () => ws.resume() });
    this.pending.settle(target);
    target.start('WebSockets', new WebSocketSink(ws, target), endpoint.createApplication(target));
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : data;
      target.receive(bytes);
    });
    ws.on('close', () => target.transportClosed());
    ws.on('error', () => target.transportClosed('WebSocket error.'));
  }

  // ---------------------------------------------------------------- housekeeping

  private guard(res: ServerResponse, work: Promise<void>): void {
    work.catch(() => {
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  }

  private sweep(now: number): void {
    const idleLimit = this.options.disconnectTimeoutMs;
    for (const connection of [...this.connections.values()]) {
      if (connection.closed) {
        // Ended long-polling connections whose client never came back for the final poll.
        const sink = this.longPolls.get(connection);
        if (!sink || now - sink.lastPollEnded > idleLimit) {
          sink?.abort();
          this.forget(connection);
        }
        continue;
      }
      if (!connection.started) {
        // Negotiated but never used (or a WebSocket upgrade that failed half-way).
        if (now - connection.createdAt > this.options.negotiateTimeoutMs) connection.close();
        continue;
      }
      const sink = this.longPolls.get(connection);
      if (sink && !sink.polling && now - sink.lastPollEnded > idleLimit) {
        // The client stopped polling: it is gone.
        connection.abort('The client stopped polling.');
        continue;
      }
      try {
        connection.application?.onTick(now);
      } catch {
        connection.abort('Internal error.');
      }
    }
  }
}

function normalizePath(path: string): string {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** Discards a request body we do not read, so the socket can be reused. */
function drain(req: IncomingMessage): void {
  if (!req.readableEnded) req.resume();
}
