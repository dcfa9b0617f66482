import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export type Frame = Record<string, unknown> & {
  type: string;
  id?: string;
  symbols?: string[];
  maxHz?: number;
};

/** One connection to the scripted server, seen from the server. */
export class ServerConnection {
  readonly received: Frame[] = [];
  closed = false;

  constructor(
    readonly ws: WebSocket,
    readonly url: string,
  ) {
    ws.on('close', () => {
      this.closed = true;
    });
  }

  get token(): string | null {
    return new URL(this.url, 'http://localhost').searchParams.get('token');
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  welcome(overrides: Record<string, unknown> = {}): void {
    this.send({
      type: 'welcome',
      v: 1,
      connectionId: `c-${Math.random().toString(36).slice(2)}`,
      server: 'scripted',
      heartbeatMs: 15000,
      limits: {
        maxSubscriptions: 500,
        minHz: 0.2,
        maxHz: 50,
        defaultHz: 4,
        maxInboundPerSec: 20,
        maxPayloadBytes: 16384,
      },
      ...overrides,
    });
  }

  framesOf(type: string): Frame[] {
    return this.received.filter((f) => f.type === type);
  }
}

export type ConnectionScript = (connection: ServerConnection, frame: Frame) => void;

/**
 * Answers like the gateway: `subscribed` with the known symbols then one UNKNOWN_SYMBOL error for the rest,
 * `unsubscribed`, `pong`, `symbols`.
 */
export function gatewayLike(known: readonly string[]): ConnectionScript {
  return (connection, frame) => {
    const symbols = frame.symbols ?? [];
    switch (frame.type) {
      case 'subscribe': {
        const accepted = symbols.filter((s) => known.includes(s));
        const unknown = symbols.filter((s) => !known.includes(s));
        if (accepted.length > 0)
          connection.send({ type: 'subscribed', id: frame.id, symbols: accepted, maxHz: frame.maxHz ?? 4 });
        if (unknown.length > 0) {
          connection.send({
            type: 'error',
            id: frame.id,
            code: 'UNKNOWN_SYMBOL',
            message: 'unknown symbols',
            symbols: unknown,
          });
        }
        return;
      }
      case 'unsubscribe':
        connection.send({ type: 'unsubscribed', id: frame.id, symbols });
        return;
      case 'ping':
        connection.send({ type: 'pong', id: frame.id, serverTime: Date.now() });
        return;
      case 'symbols':
        connection.send({
          type: 'symbols',
          id: frame.id,
          symbols: known.map((symbol) => ({
            symbol,
            name: symbol,
            assetClass: 'equity',
            priceDecimals: 2,
            currency: 'USD',
          })),
        });
        return;
    }
  };
}

/**
 * A real WebSocket server on loopback whose behaviour each test scripts: it sends `welcome` (unless told not
 * to) and hands every frame to the script, so tests can answer late, out of order, never, or close with any code.
 */
export class ScriptedServer {
  readonly connections: ServerConnection[] = [];
  script: ConnectionScript;
  onConnection: ((connection: ServerConnection) => void) | undefined;
  sendWelcome = true;
  /** An HTTP status to refuse the upgrade with, decided from the request URL (undefined: accept). */
  refuseUpgrade: ((url: string) => number | undefined) | undefined;

  private constructor(
    private readonly wss: WebSocketServer,
    script: ConnectionScript,
  ) {
    this.script = script;
    wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
      const connection = new ServerConnection(ws, req.url ?? '/');
      this.connections.push(connection);
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as Frame;
        connection.received.push(frame);
        this.script(connection, frame);
      });
      if (this.sendWelcome) connection.welcome();
      this.onConnection?.(connection);
    });
  }

  static start(script: ConnectionScript = gatewayLike(['AAPL', 'MSFT', 'EURUSD'])): Promise<ScriptedServer> {
    return new Promise((resolve) => {
      let server: ScriptedServer | undefined;
      const wss = new WebSocketServer(
        {
          host: '127.0.0.1',
          port: 0,
          path: '/ws',
          verifyClient: (info, done) => {
            const status = server?.refuseUpgrade?.(info.req.url ?? '/');
            if (status === undefined) done(true);
            else done(false, status);
          },
        },
        () => {
          server = new ScriptedServer(wss, script);
          resolve(server);
        },
      );
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/ws`;
  }

  get last(): ServerConnection {
    const connection = this.connections[this.connections.length - 1];
    if (connection === undefined) throw new Error('no connection yet');
    return connection;
  }

  close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}
