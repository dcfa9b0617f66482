import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import type { Logger } from '@tickhub/log';
import { SignalRHubs } from '@tickhub/signalr';
import { Counter, Gauge } from 'prom-client';
import type { GatewayConfig } from '../config';
import { MetricsService } from '../http/metrics.service';
import { GatewayRuntime } from '../runtime';
import { GATEWAY_CONFIG, GATEWAY_LOGGER } from '../tokens';
import { ConnectionProbe, DEFAULT_PROBE_OPTIONS } from './connection-probe';
import { HubDirectory } from './hub-directory';
import { HubMessageConsumer } from './hub-message-consumer';
import { PublishHttpHandler } from './publish-http';

/**
 * The server publish API: the REST API when PUBLISH_ACCESS_KEY is set, the Kafka ingress when
 * PUBLISH_KAFKA is. Its middleware goes in at module
 * init (before Nest's not-found handler); the handler behind it is built at bootstrap, once the hubs
 * (another module) have their endpoints, and before the server listens.
 */
@Injectable()
export class PublishService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private handler: PublishHttpHandler | undefined;
  private consumer: HubMessageConsumer | undefined;

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
    if (this.config.publish.kafka) this.startKafkaIngress(hubs);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  private startKafkaIngress(hubs: HubDirectory): void {
    const { config } = this;
    const records = new Counter({
      name: 'tickhub_gateway_hub_messages_total',
      help: `Records of ${config.publish.kafkaTopic} by outcome (routed, malformed, unknown_hub)`,
      labelNames: ['outcome'],
      registers: [this.metrics.registry],
    });
    const consumer = new HubMessageConsumer({
      brokers: config.kafkaBrokers ?? [],
      clientId: config.kafkaClientId,
      groupId: `${config.kafkaGroupId}.hub-messages`,
      sessionTimeoutMs: config.kafkaSessionTimeoutMs,
      topic: config.publish.kafkaTopic,
      partitions: config.publish.kafkaPartitions,
      replicationFactor: config.publish.kafkaReplicationFactor,
      hubs,
      logger: this.logger.child('hub-messages'),
      onRecord: (outcome) => records.inc({ outcome }),
    });
    new Gauge({
      name: 'tickhub_gateway_hub_messages_joined',
      help: '1 while this pod is a member of the hub messages consumer group',
      registers: [this.metrics.registry],
      collect() {
        this.set(consumer.isJoined() ? 1 : 0);
      },
    });
    this.consumer = consumer;
    // Leaving the group early in a drain hands this pod's partitions over before it goes.
    this.runtime.onDrain(() => consumer.stop());
    consumer.start();
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
      probe: new ConnectionProbe(this.runtime.backplane, hubs, {
        ...DEFAULT_PROBE_OPTIONS,
        ownerOf: podOfConnection,
      }),
      logger: this.logger.child('publish'),
      onResponse: (status) => requests.inc({ status: String(status) }),
    });
  }
}

/**
 * The pod that holds a connection: the gateway's connection ids are `<GATEWAY_ID>.<random>` (the
 * hubs' `connectionIdPrefix`, which load balancers route on too), and GATEWAY_ID is the pod id.
 */
function podOfConnection(connectionId: string): string | undefined {
  const dot = connectionId.lastIndexOf('.');
  return dot > 0 ? connectionId.slice(0, dot) : undefined;
}

/** The server publish API (REST, Kafka ingress) of the gateway's hubs. */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with a static factory.
export class PublishModule {
  static forRoot(): DynamicModule {
    return { module: PublishModule, providers: [PublishService] };
  }
}
