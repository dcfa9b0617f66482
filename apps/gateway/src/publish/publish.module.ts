import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { Counter } from 'prom-client';
import type { GatewayConfig } from '../config';
import { MetricsService } from '../http/metrics.service';
import type { Logger } from '../logger';
import { GatewayRuntime } from '../runtime';
import { SignalRHubs } from '../signalr/nest/signalr.module';
import { GATEWAY_CONFIG, GATEWAY_LOGGER } from '../tokens';
import { ConnectionProbe } from './connection-probe';
import { HubDirectory } from './hub-directory';
import { PublishHttpHandler } from './publish-http';

/**
 * The server publish API: the REST API when PUBLISH_ACCESS_KEY is set. Its middleware goes in at module
 * init (before Nest's not-found handler); the handler behind it is built at bootstrap, once the hubs
 * (another module) have their endpoints, and before the server listens.
 */
@Injectable()
export class PublishService implements OnModuleInit, OnApplicationBootstrap {
  private handler: PublishHttpHandler | undefined;

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly adapterHost: HttpAdapterHost,
    private readonly runtime: GatewayRuntime,
    private readonly metrics: MetricsService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    if (this.config.publish.accessKeys.length === 0) return;
    const instance = this.adapterHost.httpAdapter.getInstance() as {
      use: (handler: (req: IncomingMessage, res: ServerResponse, next: () => void) => void) => void;
    };
    instance.use((req, res, next) => {
      if (!this.handler?.handle(req, res)) next();
    });
  }

  onApplicationBootstrap(): void {
    const hubs = new HubDirectory(this.moduleRef.get(SignalRHubs, { strict: false }).hubEndpoints);
    if (this.config.publish.accessKeys.length > 0) this.handler = this.restHandler(hubs);
  }

  private restHandler(hubs: HubDirectory): PublishHttpHandler {
    const requests = new Counter({
      name: 'tickhub_gateway_publish_requests_total',
      help: 'Requests of the server publish REST API, by status',
      labelNames: ['status'],
      registers: [this.metrics.registry],
    });
    this.logger.info('publish API enabled', {
      hubs: hubs.names,
      keys: this.config.publish.accessKeys.length,
    });
    return new PublishHttpHandler({
      keys: this.config.publish.accessKeys.map((key) => Buffer.from(key, 'utf8')),
      maxBodyBytes: this.config.publish.maxBodyBytes,
      hubs,
      probe: new ConnectionProbe(this.runtime.backplane, hubs),
      logger: this.logger.child({ component: 'publish' }),
      onResponse: (status) => requests.inc({ status: String(status) }),
    });
  }
}

/** The server publish API (REST, Kafka ingress) of the gateway's hubs. */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with a static factory.
export class PublishModule {
  static forRoot(): DynamicModule {
    return { module: PublishModule, providers: [PublishService] };
  }
}
