import type { INestApplicationContext } from '@nestjs/common';
import { AbstractWsAdapter } from '@nestjs/websockets';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';
import type { UpgradeRouter } from './upgrade-router';

export interface TickhubWsAdapterOptions {
  router: UpgradeRouter;
  /** Default for every WebSocket server: frames above it close the connection with 1009. */
  maxPayloadBytes: number;
}

type GatewayOptions = ServerOptions & { path?: string; namespace?: string };

/**
 * Nest's WebSocket adapter for tickhub. Each @WebSocketGateway({ path }) gets a WebSocketServer without
 * its own HTTP listener; the UpgradeRouter on the application's HTTP server decides every upgrade.
 *
 * Message handling is left to the gateways: the tick path reads frames itself (no RxJS per message),
 * so @SubscribeMessage handlers are not bound.
 */
export class TickhubWsAdapter extends AbstractWsAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly options: TickhubWsAdapterOptions,
  ) {
    super(app);
  }

  create(_port: number, gatewayOptions?: GatewayOptions): WebSocketServer {
    const { path, namespace: _namespace, server: _server, port: _p, ...wsOptions } = gatewayOptions ?? {};
    if (!path) throw new Error('every WebSocket gateway needs a path');
    const wss = new WebSocketServer({
      maxPayload: this.options.maxPayloadBytes,
      perMessageDeflate: false,
      // Text frames are checked for valid UTF-8 by the protocol layer, which answers BAD_REQUEST
      // instead of closing the connection.
      skipUTF8Validation: true,
      ...wsOptions,
      noServer: true,
    });
    this.options.router.attach(this.httpServer);
    this.options.router.register(path, wss);
    return wss;
  }

  override bindClientConnect(server: WebSocketServer, callback: (...args: unknown[]) => void): void {
    server.on('connection', callback);
  }

  override bindClientDisconnect(client: WebSocket, callback: (...args: unknown[]) => void): void {
    client.on('close', callback);
  }

  bindMessageHandlers(): void {
    // Gateways read frames themselves.
  }

  override async close(server: WebSocketServer): Promise<void> {
    for (const ws of server.clients) ws.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
