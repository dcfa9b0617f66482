import type { IncomingMessage } from 'node:http';
import { Inject } from '@nestjs/common';
import { type OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import type { Logger } from '@tickhub/log';
import { codecForSubprotocol, jsonCodec } from '@tickhub/protocol';
import type { WebSocket } from 'ws';
import { AccessControl } from '../auth/access-control';
import type { GatewayConfig } from '../config';
import { entitledDirectory } from '../core/entitlements';
import { GatewayRuntime } from '../runtime';
import { GATEWAY_CONFIG, GATEWAY_LOGGER } from '../tokens';
import { selectSubprotocol } from './subprotocol';
import { UpgradeRouter, upgradeContextOf } from './upgrade-router';
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
    router: UpgradeRouter,
    // Authentication and the per-IP/per-user limits decide every upgrade of the gateway (hubs too).
    private readonly access: AccessControl,
  ) {
    if (
      this.access.enabled ||
      config.maxConnectionsPerIp > 0 ||
      config.maxConnectionsPerUser > 0 ||
      config.maxUpgradesPerIpPerSec > 0
    ) {
      router.addGuard(this.access.guard);
    }
  }

  handleConnection(ws: WebSocket, req: IncomingMessage): void {
    try {
      if (this.runtime.isDraining()) {
        this.connections.counters.countClose(1001);
        ws.close(1001, 'draining');
        return;
      }
      const codec = codecForSubprotocol(ws.protocol) ?? jsonCodec;
      const context = upgradeContextOf(req);
      const entitlements = this.access.entitlementsFor(context?.entitlements);
      const conn = new WsConnection(
        ws,
        codec,
        {
          edge: this.runtime.edge,
          limits: this.config.limits,
          gatewayId: this.config.gatewayId,
          heartbeatMs: this.config.heartbeatMs,
          symbols: entitledDirectory(this.runtime.symbols, entitlements),
          counters: this.connections.counters,
          logger: this.logger,
          abuseMaxRejections: this.config.abuseMaxRejections,
          abuseWindowMs: this.config.abuseWindowMs,
          maxBufferedBytes: 4 * this.config.highWaterMarkBytes,
          now: () => this.runtime.clock.now(),
          history: this.runtime.history,
        },
        entitlements,
        (c) => this.connections.delete(c),
      );
      this.connections.add(conn);
      this.watchSession(ws, conn, context?.expiresAt);
    } catch (error) {
      this.logger.error('connection setup failed', { error });
      this.connections.counters.countClose(1011);
      ws.close(1011, 'internal error');
    }
  }

  /** Closes with 4001 when the token expires, and with 1008 a connection that never sends a request. */
  private watchSession(ws: WebSocket, conn: WsConnection, expiresAt: number | undefined): void {
    let expiry: NodeJS.Timeout | undefined;
    let silence: NodeJS.Timeout | undefined;
    if (expiresAt !== undefined) {
      // setTimeout cannot wait longer than 2^31-1 ms; a token valid for more than 24 days is re-armed.
      const arm = () => {
        const left = expiresAt - Date.now();
        expiry = setTimeout(
          () => {
            if (expiresAt - Date.now() > 0) return arm();
            this.access.expiredCloses++;
            this.logger.info('token expired, closing', { reason: 'token_expired', code: 4001 });
            conn.close(4001, 'token expired');
          },
          Math.min(Math.max(0, left), 86_400_000),
        );
        expiry.unref();
      };
      arm();
    }
    const timeoutMs = this.config.handshakeTimeoutMs;
    if (timeoutMs > 0) {
      silence = setTimeout(() => {
        this.access.handshakeTimeouts++;
        this.logger.info('handshake timeout, closing', {
          reason: 'handshake_timeout',
          code: 1008,
          timeoutMs,
        });
        conn.close(1008, 'no request within the handshake timeout');
      }, timeoutMs);
      silence.unref();
      ws.once('message', () => clearTimeout(silence));
    }
    ws.once('close', () => {
      clearTimeout(expiry);
      clearTimeout(silence);
    });
  }
}
