import type { DynamicModule } from '@nestjs/common';
import type { Logger } from '@tickhub/log';
import { SignalRModule, type SignalRServer } from '@tickhub/signalr';
import { AccessControl } from '../auth/access-control';
import type { GatewayConfig } from '../config';
import type { Entitlements } from '../core/entitlements';
import { GatewayRuntime } from '../runtime';
import { GATEWAY_CONFIG, GATEWAY_LOGGER } from '../tokens';
import { UpgradeRouter, upgradeContextOf } from '../ws/upgrade-router';
import { ChatHub } from './hubs/chat.hub';
import { MARKET_FEED, type MarketFeed, MarketHub } from './hubs/market.hub';

/**
 * The gateway's hubs: `/chathub` and `/hubs/market`, joined across pods by the gateway's backplane,
 * with WebSocket upgrades decided by the gateway's UpgradeRouter (origin, draining, guards) and
 * drained with the gateway.
 */
export function gatewayHubsModule(): DynamicModule {
  return SignalRModule.forRoot({
    hubs: [ChatHub, MarketHub], // mapped by their @Hub paths
    providers: [
      {
        provide: MARKET_FEED,
        inject: [GatewayRuntime, GATEWAY_CONFIG, AccessControl],
        useFactory: (runtime: GatewayRuntime, config: GatewayConfig, access: AccessControl): MarketFeed => ({
          symbols: runtime.symbols,
          limits: config.limits,
          entitlementsFor: (token) => access.entitlementsFor(token),
          openSession: (sink, options) => runtime.edge.openSession(sink, options),
          history: runtime.history,
        }),
      },
    ],
    inject: [GatewayRuntime, UpgradeRouter, GATEWAY_LOGGER, GATEWAY_CONFIG, AccessControl],
    useFactory: (
      runtime: GatewayRuntime,
      router: UpgradeRouter,
      logger: Logger,
      config: GatewayConfig,
      access: AccessControl,
    ) => ({
      backplane: runtime.backplane,
      upgradeRouter: router,
      transport: {
        // The same list that the upgrade router applies to WebSockets (ALLOWED_ORIGINS).
        allowedOrigins: config.allowedOrigins,
        // `?id=<gateway id>.<random>`: a load balancer can route SSE and long polling to the pod
        // that holds the connection by the part before the last dot.
        connectionIdPrefix: `${config.gatewayId}.`,
        maxPendingPerAddress: config.maxPendingNegotiationsPerIp,
        maxPendingPerUser: config.maxPendingNegotiationsPerUser,
        negotiateTimeoutMs: config.negotiateTimeoutMs,
        allowStatefulReconnects: config.statefulReconnectBufferBytes > 0,
        ...access.signalRAuthentication(),
        // Negotiate passes the upgrade rate and the connection caps, SSE and long-polling connections
        // count against the caps while open, and every connection ends at its token's expiry.
        ...access.signalRLimits(),
        principalOf: (req) => {
          const context = upgradeContextOf(req);
          const entitlements: Entitlements | undefined = context?.entitlements;
          return {
            ...(context?.user ? { userId: context.user } : {}),
            ...(entitlements ? { claims: { entitlements } } : {}),
            ...(context?.expiresAt !== undefined ? { expiresAt: context.expiresAt } : {}),
          };
        },
      },
      hubOptions: {
        statefulReconnectBufferBytes: config.statefulReconnectBufferBytes,
        ...access.hubInboundLimit(),
        onError: (error: unknown, where: string) => logger.warn('hub error', { where, error: String(error) }),
      },
      onDrain: (hook: () => Promise<void>) => runtime.onDrain(hook),
      // The upgrade guard authenticates before the hubs' guard runs: an upgrade without a token that
      // names someone's connection gets the hubs' 403 (not the owner), not a missing token's 401.
      onServer: (server: SignalRServer) => {
        access.refuseAnonymousHubUpgrade = (req) => server.refuseAnonymousUpgrade(req);
        router.addCloseSource(() => server.closeCounts());
      },
    }),
  });
}
