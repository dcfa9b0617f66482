import type { IncomingMessage } from 'node:http';
import { Inject } from '@nestjs/common';
import { type OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import { codecForSubprotocol, jsonCodec } from '@tickhub/protocol';
import type { WebSocket } from 'ws';
import type { GatewayConfig } from '../config';
import type { Logger } from '../logger';
import { GatewayRuntime } from '../runtime';
import { GATEWAY_CONFIG, GATEWAY_LOGGER } from '../tokens';
import { selectSubprotocol } from './subprotocol';
import { upgradeContextOf } from './upgrade-router';
import { WsConnection } from './ws-connection';
import { WsConnections } from './ws-connections';

/** The native protocol's front door: every accepted /ws connection becomes a WsConnection. */
@WebSocketGateway({ path: '/ws', handleProtocols: selectSubprotocol })
export class WsGateway implements OnGatewayConnection<WebSocket> {
  constructor(
    private readonly runtime: GatewayRuntime,
    private readonly connections: WsConnections,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
  ) {}

  handleConnection(ws: WebSocket, req: IncomingMessage): void {
    try {
      if (this.runtime.isDraining()) {
        ws.close(1001, 'draining');
        return;
      }
      const codec = codecForSubprotocol(ws.protocol) ?? jsonCodec;
      const context = upgradeContextOf(req);
      const conn = new WsConnection(
        ws,
        codec,
        {
          edge: this.runtime.edge,
          limits: this.config.limits,
          gatewayId: this.config.gatewayId,
          heartbeatMs: this.config.heartbeatMs,
          symbols: this.runtime.symbols,
          counters: this.connections.counters,
          logger: this.logger,
          abuseMaxRejections: this.config.abuseMaxRejections,
          abuseWindowMs: this.config.abuseWindowMs,
          maxBufferedBytes: 4 * this.config.highWaterMarkBytes,
          now: () => this.runtime.clock.now(),
        },
        context?.entitlements ??
          (this.config.entitledSymbols ? { symbols: this.config.entitledSymbols } : undefined),
        (c) => this.connections.delete(c),
      );
      this.connections.add(conn);
    } catch (error) {
      this.logger.error('connection setup failed', { error });
      ws.close(1011, 'internal error');
    }
  }
}
