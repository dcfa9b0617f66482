import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloseCounts } from './close-codes';
import { type ConnectionPrincipal, SignalRConnection, type TransportKind } from './connection';
import type { ConnectionOwner } from './connection-owner';
import { newId, sendJson } from './http-util';
import type { LongPollingSink } from './long-polling';
import { PendingNegotiations } from './pending-negotiations';
import type { SignalREndpoint, SignalRTransportOptions, TransportRefusal } from './transport-options';

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

/**
 * The connections of one SignalRServer and who owns them: creation at negotiate, token expiry, the
 * count of unstarted negotiations, the hold an SSE or long-polling connection takes, the ownership
 * check of every later request, and the sweep of timeouts. The transports share it.
 */
export class ConnectionTable {
  /** By connection token: the only id transports accept. */
  readonly connections = new Map<string, SignalRConnection>();
  readonly longPolls = new Map<SignalRConnection, LongPollingSink>();
  readonly posting = new Set<SignalRConnection>();
  /** Connections whose WebSocket upgrade is in progress. */
  readonly claimed = new Set<SignalRConnection>();
  /** Cancels the expiry of connections whose principal expires. */
  private readonly expiries = new Map<SignalRConnection, () => void>();
  /** Releases the count `holdConnection` took for an SSE or long-polling connection. */
  private readonly holds = new Map<SignalRConnection, () => void>();
  /** The anonymous client each negotiated connection belongs to (without authentication). */
  private readonly owners = new Map<SignalRConnection, ConnectionOwner>();
  readonly pending: PendingNegotiations;
  /** Close frames sent on the hubs' WebSockets, by code. */
  readonly closes = new CloseCounts();
  closing = false;

  constructor(readonly options: SignalRTransportOptions) {
    this.pending = new PendingNegotiations(options.maxPendingPerAddress, options.maxPendingPerUser);
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

  /** True when a new connection cannot be taken (closing, or at the connection limit). */
  get full(): boolean {
    return this.closing || this.connectionCount >= this.options.maxConnections;
  }

  create(endpoint: SignalREndpoint, principal: ConnectionPrincipal, version: number): SignalRConnection {
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

  /** Binds an anonymous connection to the client that negotiated it. */
  setOwner(connection: SignalRConnection, owner: ConnectionOwner): void {
    this.owners.set(connection, owner);
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

  forget(connection: SignalRConnection): void {
    if (this.connections.get(connection.connectionToken) === connection) {
      this.connections.delete(connection.connectionToken);
    }
    this.longPolls.delete(connection);
    this.claimed.delete(connection);
    this.owners.delete(connection);
  }

  /**
   * Counts an SSE or long-polling connection with `holdConnection` before its transport starts;
   * false when refused (answered, and the connection closed).
   */
  holdTransport(req: IncomingMessage, res: ServerResponse, connection: SignalRConnection): boolean {
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

  async authenticate(req: IncomingMessage): Promise<ConnectionPrincipal | null | undefined> {
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
  async foreignStatus(req: IncomingMessage, connection: SignalRConnection): Promise<number | undefined> {
    if (!this.options.authenticate) {
      return this.owners.get(connection)?.owns(req, this.options.clientCookieName) ? undefined : 403;
    }
    const principal = await this.authenticate(req);
    if (principal === null) return 401;
    if (principal === undefined || principal.userId !== connection.principal.userId) return 403;
    this.renewExpiry(connection, principal.expiresAt);
    return undefined;
  }

  /**
   * Ownership of a WebSocket upgrade that an outside router already authenticated (`user`): the
   * negotiating user, or without authentication the anonymous client that negotiated.
   */
  ownsUpgrade(req: IncomingMessage, connection: SignalRConnection, user: string | undefined): boolean {
    return this.options.authenticate
      ? user !== undefined && user === connection.principal.userId
      : this.owners.get(connection)?.owns(req, this.options.clientCookieName) === true;
  }

  /** Refuses a request that does not own the connection it names; the connection is untouched. */
  refuseForeign(req: IncomingMessage, connection: SignalRConnection, status: number): TransportRefusal {
    try {
      this.options.onForeignRequest?.(req, connection, status);
    } catch {
      // Counting must not change the answer.
    }
    return { status, reason: status === 401 ? 'Unauthorized' : 'Forbidden' };
  }

  /** Moves a connection's end to `expiresAt` when that is later (undefined: a token that never expires). */
  renewExpiry(connection: SignalRConnection, expiresAt: number | undefined): void {
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

  /** Closes every connection, telling hub clients they may reconnect elsewhere. */
  closeAll(): void {
    this.closing = true;
    for (const connection of [...this.connections.values()]) {
      if (connection.application) connection.application.shutdown('Server is shutting down.');
      else connection.close();
    }
    for (const sink of this.longPolls.values()) sink.abort();
    this.connections.clear();
    this.longPolls.clear();
  }

  sweep(now: number): void {
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
      if (connection.detachedSince !== undefined) {
        // A stateful-reconnect client that did not come back in time.
        if (now - connection.detachedSince > idleLimit) connection.abort('The client did not reconnect.');
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

/**
 * The preconditions every transport checks before it starts on a negotiated connection: the
 * transport is offered, the connection is alive, and no other transport has it. `conflict` is the
 * transport's answer to the last (the spec gives SSE 409 and a second poller 400).
 */
export function refuseStart(
  table: ConnectionTable,
  connection: SignalRConnection,
  transport: TransportKind,
  conflict: TransportRefusal,
): TransportRefusal | undefined {
  if (!table.options.transports.includes(transport)) {
    return { status: 404, reason: `The ${transport} transport is disabled.` };
  }
  if (connection.closed) return { status: 404, reason: 'No Connection with that ID' };
  if (table.claimed.has(connection)) return conflict;
  // Stateful reconnect: a new WebSocket takes over the connection's WebSocket.
  if (connection.started && !(transport === 'WebSockets' && connection.resumable)) return conflict;
  return undefined;
}
