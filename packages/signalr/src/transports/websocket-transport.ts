import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { wsErrorCloseCode } from './close-codes';
import type { ConnectionPrincipal, SignalRConnection } from './connection';
import { type ConnectionTable, refuseStart } from './connection-table';
import { parseUrl, rejectUpgrade } from './http-util';
import { WebSocketSink } from './sinks';
import type { SignalREndpoint, TransportRefusal } from './transport-options';

/**
 * The WebSocket transport of every hub path: the upgrade decision (shared with an outside upgrade
 * router through `checkUpgrade`), the upgrade itself, and binding the socket to its connection.
 */
export class WebSocketTransport {
  readonly wss: WebSocketServer;

  constructor(
    private readonly table: ConnectionTable,
    /** The hub endpoint of a request's path, if it is a hub's. */
    private readonly endpointOf: (pathname: string) => SignalREndpoint | undefined,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: table.options.maxTransportMessageBytes,
      perMessageDeflate: false,
    });
  }

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
    // Ownership first: someone else learns nothing of the connection's state (started, closed).
    if (!this.table.ownsUpgrade(req, connection, user)) return this.table.refuseForeign(req, connection, 403);
    return refuseWebSocketStart(this.table, connection);
  }

  /**
   * With authentication on, a WebSocket upgrade that names an existing connection of a hub path but
   * carries no credentials at all: refused with 403 as not the connection's owner (and reported to
   * `onForeignRequest`), as every other request of a connection without a token is. For an upgrade
   * router whose own authentication would answer such an upgrade 401 before `checkUpgrade` runs.
   * Undefined for anything else (no authentication, no `id`, an unknown connection).
   */
  refuseAnonymousUpgrade(req: IncomingMessage): TransportRefusal | undefined {
    if (!this.table.options.authenticate) return undefined;
    const target = this.upgradeTarget(req);
    if ('refusal' in target || !target.connection) return undefined;
    return this.table.refuseForeign(req, target.connection, 403);
  }

  /**
   * What a WebSocket upgrade of a hub path names: a negotiated connection (whether it may still take
   * a transport is decided after its owner, `refuseWebSocketStart`), none (`?id=` absent: a connection without negotiate, or not a hub path), or a refusal.
   */
  private upgradeTarget(
    req: IncomingMessage,
  ): { refusal: TransportRefusal } | { connection?: SignalRConnection } {
    const url = parseUrl(req);
    const endpoint = url ? this.endpointOf(url.pathname) : undefined;
    if (!url || !endpoint) return {};
    if (!this.table.options.transports.includes('WebSockets'))
      return { refusal: { status: 404, reason: 'Not Found' } };
    const token = url.searchParams.get('id');
    if (token === null) {
      if (this.table.full) return { refusal: { status: 503, reason: 'Service Unavailable' } };
      return {};
    }
    const connection = this.table.connections.get(token);
    if (!connection || connection.hubPath !== endpoint.path) {
      return { refusal: { status: 404, reason: 'Not Found' } };
    }
    return { connection };
  }

  async upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    endpoint: SignalREndpoint,
  ): Promise<void> {
    const target = this.upgradeTarget(req);
    if ('refusal' in target) {
      rejectUpgrade(socket, target.refusal.status, target.refusal.reason);
      return;
    }
    const connection = target.connection;
    let principal: ConnectionPrincipal | undefined;
    if (!connection) {
      principal = (await this.table.authenticate(req)) ?? undefined;
      if (!principal) {
        rejectUpgrade(socket, 401, 'Unauthorized');
        return;
      }
    } else {
      const status = await this.table.foreignStatus(req, connection);
      if (status !== undefined) {
        const refusal = this.table.refuseForeign(req, connection, status);
        rejectUpgrade(socket, refusal.status, refusal.reason);
        return;
      }
      const refusal = refuseWebSocketStart(this.table, connection);
      if (refusal) {
        rejectUpgrade(socket, refusal.status, refusal.reason);
        return;
      }
      // Claimed before the asynchronous upgrade so that a second attempt gets 409.
      this.table.claimed.add(connection);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, principal, endpoint));
  }

  /**
   * Binds an upgraded WebSocket of a hub path to its connection (the one named by `id`, or a new
   * one without negotiate). `principal` is who connects when the upgrade was authenticated
   * elsewhere; by default `options.principalOf(req)`.
   */
  accept(
    ws: WebSocket,
    req: IncomingMessage,
    principal?: ConnectionPrincipal,
    known?: SignalREndpoint,
  ): void {
    const table = this.table;
    const url = parseUrl(req);
    const endpoint = known ?? (url ? this.endpointOf(url.pathname) : undefined);
    if (!url || !endpoint) {
      table.closes.close(ws, 1008, 'Not a hub path');
      return;
    }
    const token = url.searchParams.get('id');
    let connection: SignalRConnection | undefined;
    if (token === null) {
      connection = table.create(endpoint, principal ?? table.options.principalOf?.(req) ?? {}, 1);
    } else {
      connection = table.connections.get(token);
      const claimedHere = connection !== undefined && table.claimed.delete(connection);
      if (!connection || connection.closed || connection.hubPath !== endpoint.path) {
        table.closes.close(ws, 1008, 'No Connection with that ID');
        return;
      }
      if (connection.started && !claimedHere && !connection.resumable) {
        table.closes.close(ws, 1008, 'Another transport is already active for this connection.');
        return;
      }
      // The connection token alone must not let another user take over a negotiated connection (SSE
      // and long polling check the same); the upgrade was authenticated by whoever handed it over.
      if (table.options.authenticate && !claimedHere) {
        const upgrading = principal ?? table.options.principalOf?.(req);
        if (upgrading?.userId !== connection.principal.userId) {
          table.closes.close(ws, 1008, 'Forbidden: not the user who negotiated this connection.');
          return;
        }
        if (upgrading) table.renewExpiry(connection, upgrading.expiresAt);
      }
    }
    const target = connection;
    const sink = new WebSocketSink(ws, target, table.closes);
    const flowControl = { pause: () => ws.pause(), resume: () => ws.resume() };
    if (target.started) {
      target.replaceTransport(sink, flowControl);
    } else {
      target.setFlowControl(flowControl);
      table.pending.settle(target);
      target.start('WebSockets', sink, endpoint.createApplication(target));
    }
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : data;
      target.receive(bytes);
    });
    ws.on('close', () => target.transportClosed(undefined, sink));
    ws.on('error', (error: Error & { code?: string }) => {
      const code = wsErrorCloseCode(error);
      if (code !== undefined) table.closes.count(code);
      target.transportClosed('WebSocket error.', sink);
    });
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** Whether the owner's WebSocket may take the connection now: 409 when another transport has it. */
function refuseWebSocketStart(
  table: ConnectionTable,
  connection: SignalRConnection,
): TransportRefusal | undefined {
  const refusal = refuseStart(table, connection, 'WebSockets', { status: 409, reason: 'Conflict' });
  if (!refusal) return undefined;
  return { status: refusal.status, reason: refusal.status === 409 ? 'Conflict' : 'Not Found' };
}
