import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode } from '@tickhub/protocol';
import { isWebSocketUpgrade, serveAsHttp } from '@tickhub/signalr';
import type { WebSocket, WebSocketServer } from 'ws';
import type { UpgradeContext, UpgradeGuard, UpgradeRefusal } from '../auth/upgrade-context';

export type { UpgradeContext, UpgradeGuard, UpgradeRefusal };

const contexts = new WeakMap<IncomingMessage, UpgradeContext>();

/** The upgrade context of a connection's request (set before the `connection` event). */
export function upgradeContextOf(req: IncomingMessage): UpgradeContext | undefined {
  return contexts.get(req);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/**
 * The single place where every WebSocket upgrade of the gateway is decided: path, draining, origin
 * allow-list and guards (authentication). Paths map to WebSocketServers registered by the WebSocket
 * adapter (one per @WebSocketGateway path: `/ws`, `/hubs/...`).
 *
 * Origin: a connection from an origin outside ALLOWED_ORIGINS is accepted and closed at once with 1008,
 * so that browsers (which cannot read an HTTP status of a refused upgrade) see why.
 */
export class UpgradeRouter {
  private readonly servers = new Map<string, WebSocketServer>();
  private readonly guards: UpgradeGuard[] = [];
  private draining = false;
  private attached: Server | undefined;
  private readonly allowedOrigins: Set<string> | undefined;
  rejectedOrigins = 0;
  /** Connections this router closed after their upgrade (origin: 1008), by close code, for closes_total. */
  readonly closes: Record<string, number> = {};
  /** Servers the router hands upgrades to that count their own closes (the SignalR hubs). */
  private readonly closeSources: Array<() => Array<[string, number]>> = [];
  rejectedUpgrades = 0;
  /** Refused upgrades by HTTP status, for the metrics. */
  readonly rejectionsByStatus: Record<string, number> = {};

  /** Adds the closes that a server behind this router sends on the connections it was given. */
  addCloseSource(source: () => Array<[string, number]>): void {
    this.closeSources.push(source);
  }

  /** Every close sent after an upgrade this router passed or refused, by code: its own and its servers'. */
  closeCounts(): Record<string, number> {
    const all = { ...this.closes };
    for (const source of this.closeSources)
      for (const [code, n] of source()) all[code] = (all[code] ?? 0) + n;
    return all;
  }

  constructor(
    allowedOrigins: readonly string[],
    private readonly onError?: (error: unknown) => void,
  ) {
    this.allowedOrigins = allowedOrigins.length > 0 ? new Set(allowedOrigins) : undefined;
  }

  attach(server: Server): void {
    if (this.attached === server) return;
    if (this.attached) throw new Error('upgrade router is already attached to another server');
    this.attached = server;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!isWebSocketUpgrade(req)) {
        serveAsHttp(server, req, socket);
        return;
      }
      try {
        this.handleUpgrade(req, socket, head);
      } catch (error) {
        this.onError?.(error);
        refuse(socket, 400, 'bad upgrade request');
      }
    });
  }

  register(path: string, wss: WebSocketServer): void {
    if (this.servers.has(path)) throw new Error(`a WebSocket server is already registered on ${path}`);
    this.servers.set(path, wss);
  }

  addGuard(guard: UpgradeGuard): void {
    this.guards.push(guard);
  }

  /** From now on upgrades are refused with 503 (the pod is draining). */
  setDraining(): void {
    this.draining = true;
  }

  isOriginAllowed(origin: string | undefined): boolean {
    // Non-browser clients send no Origin; the allow-list is about browsers on other sites.
    if (!this.allowedOrigins || origin === undefined) return true;
    return this.allowedOrigins.has(origin);
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = pathOf(req.url);
    const wss = path === undefined ? undefined : this.servers.get(path);
    if (!wss || path === undefined) {
      this.rejectedUpgrades++;
      refuse(socket, 404, 'no WebSocket endpoint here');
      return;
    }
    if (this.draining) {
      this.rejectedUpgrades++;
      refuse(socket, 503, 'draining');
      return;
    }
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
    const context: UpgradeContext = { path, origin };
    this.runGuards(req, socket, head, wss, context, 0);
  }

  /** Runs the guards from `index` on; synchronous guards never wait for a later event-loop turn. */
  private runGuards(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    wss: WebSocketServer,
    context: UpgradeContext,
    index: number,
  ): void {
    for (let i = index; i < this.guards.length; i++) {
      const guard = this.guards[i] as UpgradeGuard;
      const outcome = guard(req, context);
      if (outcome instanceof Promise) {
        outcome.then(
          (refusal) => {
            if (refusal) this.refuseGuarded(socket, refusal);
            else this.runGuards(req, socket, head, wss, context, i + 1);
          },
          (error: unknown) => {
            this.onError?.(error);
            this.refuseGuarded(socket, { status: 400, reason: 'bad upgrade request' });
          },
        );
        return;
      }
      if (outcome) {
        this.refuseGuarded(socket, outcome);
        return;
      }
    }
    // The socket may have gone, or the pod started draining, while a guard was busy.
    if (socket.destroyed) return;
    if (this.draining) {
      this.refuseGuarded(socket, { status: 503, reason: 'draining' });
      return;
    }
    const originAllowed = this.isOriginAllowed(context.origin);
    contexts.set(req, context);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (!originAllowed) {
        this.rejectedOrigins++;
        this.closes[CloseCode.POLICY_VIOLATION] = (this.closes[CloseCode.POLICY_VIOLATION] ?? 0) + 1;
        ws.close(CloseCode.POLICY_VIOLATION, 'origin not allowed');
        return;
      }
      wss.emit('connection', ws, req);
    });
  }

  private refuseGuarded(socket: Duplex, refusal: UpgradeRefusal): void {
    this.rejectedUpgrades++;
    const key = String(refusal.status);
    this.rejectionsByStatus[key] = (this.rejectionsByStatus[key] ?? 0) + 1;
    refuse(socket, refusal.status, refusal.reason);
  }
}

function pathOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const q = url.indexOf('?');
  const raw = q < 0 ? url : url.slice(0, q);
  if (raw.length > 1 && raw.endsWith('/')) return raw.slice(0, -1);
  return raw;
}

function refuse(socket: Duplex, status: number, reason: string): void {
  if (socket.writable) {
    const body = `${reason}\n`;
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\n` +
        `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
