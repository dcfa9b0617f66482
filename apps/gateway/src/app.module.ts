import { type DynamicModule, Module, type Type } from '@nestjs/common';
import type { Logger } from '@tickhub/log';
import { AccessControl } from './auth/access-control';
import type { GatewayConfig } from './config';
import { CandlesController } from './http/candles.controller';
import {
  DashboardController,
  HealthController,
  MetricsController,
  SymbolsController,
} from './http/http.controllers';
import { MetricsService } from './http/metrics.service';
import { GatewayRuntime } from './runtime';
import { DASHBOARD_DIR, GATEWAY_CONFIG, GATEWAY_LOGGER } from './tokens';
import { UpgradeRouter } from './ws/upgrade-router';
import { WsGateway } from './ws/ws.gateway';
import { WsConnections } from './ws/ws-connections';

export interface AppModuleDeps {
  config: GatewayConfig;
  logger: Logger;
  runtime: GatewayRuntime;
  router: UpgradeRouter;
  connections: WsConnections;
  dashboardDir: string;
  /** More modules served by the same application (e.g. the SignalR hubs). */
  imports?: Type<unknown>[] | DynamicModule[];
}

/**
 * The Nest application: HTTP endpoints and the /ws gateway around the plain tick path. Global, so that
 * other transports' modules can inject GatewayRuntime, UpgradeRouter, the config and the logger.
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: Nest identifies a dynamic module by its class
export class AppModule {
  static create(deps: AppModuleDeps): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: deps.imports ?? [],
      controllers: [
        SymbolsController,
        CandlesController,
        HealthController,
        MetricsController,
        DashboardController,
      ],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: deps.config },
        { provide: GATEWAY_LOGGER, useValue: deps.logger },
        { provide: DASHBOARD_DIR, useValue: deps.dashboardDir },
        { provide: GatewayRuntime, useValue: deps.runtime },
        { provide: UpgradeRouter, useValue: deps.router },
        { provide: WsConnections, useValue: deps.connections },
        {
          // One per gateway: /ws, the hubs and /api/symbols count connections and refusals together.
          provide: AccessControl,
          inject: [GATEWAY_CONFIG, GATEWAY_LOGGER],
          useFactory: (config: GatewayConfig, logger: Logger) => new AccessControl(config, logger),
        },
        MetricsService,
        WsGateway,
      ],
      exports: [
        GATEWAY_CONFIG,
        GATEWAY_LOGGER,
        GatewayRuntime,
        UpgradeRouter,
        WsConnections,
        MetricsService,
        AccessControl,
      ],
    };
  }
}
