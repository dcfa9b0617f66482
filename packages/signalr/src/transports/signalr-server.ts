import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ConnectionPrincipal, TransportKind } from './connection';
import { ConnectionTable } from './connection-table';
import { applyCors } from './cors';
import { httpSend } from './http-send';
import { isWebSocketUpgrade, serveAsHttp } from './http-upgrade';
import { drain, normalizePath, parseUrl, rejectUpgrade, respond, sendText } from './http-util';
import { deleteConnection, longPoll } from './long-polling-transport';
import { negotiate } from './negotiate';
import { serverSentEvents } from './server-sent-events';
import {
  DEFAULT_TRANSPORT_OPTIONS,
  type SignalREndpoint,
  type SignalRTransportOptions,
  type TransportRefusal,
} from './transport-options';
import { WebSocketTransport } from './websocket-transport';

export { TOKEN_EXPIRED_ERROR } from './connection-table';

/**
 * The HTTP side of SignalR (TransportProtocols.md): routes negotiate and the three transports of
 * each hub path to their handlers, over one connection table. Framework-neutral: it takes plain
 * node:http requests and upgrade events, so it can sit behind Express (Nest) or a bare server.
 */
export class SignalRServer {
  readonly options: SignalRTransportOptions;
  private readonly endpoints = new Map<string, SignalREndpoint>();
  private readonly table: ConnectionTable;
  private readonly webSockets: WebSocketTransport;
  private readonly sweepTimer: NodeJS.Timeout;
  private ownServer: Server | undefined;

  constructor(options: Partial<SignalRTransportOptions> = {}) {
    this.options = { ...DEFAULT_TRANSPORT_OPTIONS, ...options };
    this.table = new ConnectionTable(this.options);
    this.webSockets = new WebSocketTransport(this.table, (pathname) =>
      this.endpoints.get(normalizePath(pathname)),
    );
    this.sweepTimer = setInterval(() => this.table.sweep(Date.now()), this.options.tickIntervalMs);
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

  /** Close frames sent on the hubs' WebSockets so far, by code (for a closes metric). */
  closeCounts(): Array<[string, number]> {
    return this.table.closes.entries();
  }

  /** Open connections (negotiated or started), for metrics and tests. */
  get connectionCount(): number {
    return this.table.connectionCount;
  }

  /** Started connections per transport (for metrics). */
  connectionsByTransport(): Record<TransportKind, number> {
    return this.table.connectionsByTransport();
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
    const isNegotiate = path.endsWith('/negotiate');
    const endpoint = this.endpoints.get(isNegotiate ? path.slice(0, -'/negotiate'.length) : path);
    if (!endpoint) return false;
    if (!applyCors(this.options.allowedOrigins, req, res)) return true;
    if (req.method === 'OPTIONS') {
      drain(req);
      respond(res, 204);
      return true;
    }
    this.guard(
      res,
      isNegotiate
        ? negotiate(this.table, req, res, url, endpoint)
        : this.connectionRequest(req, res, url, endpoint),
    );
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
    this.webSockets
      .upgrade(req, socket, head, endpoint)
      .catch(() => rejectUpgrade(socket, 500, 'Internal Server Error'));
    return true;
  }

  /**
   * Takes the `upgrade` events of a node:http server that nothing else upgrades: WebSockets of hub
   * paths; any other upgrade offer (h2c) is served as the plain request it also is; WebSocket
   * upgrades of other paths get 404.
   */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!isWebSocketUpgrade(req)) serveAsHttp(server, req, socket);
      else if (!this.handleUpgrade(req, socket, head)) rejectUpgrade(socket, 404, 'Not Found');
    });
  }

  /**
   * Serves the hubs on a node:http server of its own (404 for any other path), listening on `port`;
   * `close()` closes it too. For an application that has its own server, `handleRequest` and `attach`.
   */
  listen(port: number, host?: string): Promise<Server> {
    if (this.ownServer) return Promise.reject(new Error('SignalRServer.listen() was already called'));
    const server = createServer((req, res) => {
      if (!this.handleRequest(req, res)) sendText(res, 404, 'Not Found');
    });
    this.ownServer = server;
    this.attach(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  /** The server `listen()` started, once started. */
  get httpServer(): Server | undefined {
    return this.ownServer;
  }

  /** See `WebSocketTransport.checkUpgrade`. */
  checkUpgrade(req: IncomingMessage, user?: string): TransportRefusal | undefined {
    return this.webSockets.checkUpgrade(req, user);
  }

  /** See `WebSocketTransport.refuseAnonymousUpgrade`. */
  refuseAnonymousUpgrade(req: IncomingMessage): TransportRefusal | undefined {
    return this.webSockets.refuseAnonymousUpgrade(req);
  }

  /** The WebSocket server of every hub path, for an upgrade router to hand upgraded sockets to. */
  get webSocketServer(): WebSocketServer {
    return this.webSockets.wss;
  }

  /** See `WebSocketTransport.accept`. */
  acceptWebSocket(
    ws: WebSocket,
    req: IncomingMessage,
    principal?: ConnectionPrincipal,
    known?: SignalREndpoint,
  ): void {
    this.webSockets.accept(ws, req, principal, known);
  }

  /** Closes every connection, telling hub clients they may reconnect elsewhere. */
  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.table.closeAll();
    await this.webSockets.close();
    const server = this.ownServer;
    if (server?.listening) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** A request naming a connection (`?id=`): checked for its owner, then handed to its transport. */
  private async connectionRequest(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    endpoint: SignalREndpoint,
  ): Promise<void> {
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
    const connection = this.table.connections.get(token);
    if (!connection || connection.hubPath !== endpoint.path) {
      drain(req);
      sendText(res, 404, 'No Connection with that ID');
      return;
    }
    const status = await this.table.foreignStatus(req, connection);
    if (status !== undefined) {
      drain(req);
      const refusal = this.table.refuseForeign(req, connection, status);
      sendText(res, refusal.status, refusal.reason);
      return;
    }
    if (req.method === 'POST') return httpSend(this.table, req, res, connection);
    drain(req);
    if (req.method === 'DELETE') return deleteConnection(res, connection);
    const accept = req.headers.accept ?? '';
    if (accept.includes('text/event-stream')) {
      return serverSentEvents(this.table, req, res, connection, endpoint);
    }
    return longPoll(this.table, req, res, connection, endpoint);
  }

  private guard(res: ServerResponse, work: Promise<void>): void {
    work.catch(() => {
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  }
}
