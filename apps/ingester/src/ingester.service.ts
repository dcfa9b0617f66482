import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from '@tickhub/log';
import type { IngesterConfig } from './config';
import { CsvReplaySource } from './csv-replay';
import { OpsHttpServer } from './http-server';
import type { IngesterMetrics } from './metrics';
import { IngestPipeline, type PipelineSummary } from './pipeline';
import { SimulatedMarketSource } from './sim-source';
import type { TickSource } from './source';

export const INGESTER_CONFIG = Symbol('INGESTER_CONFIG');
export const INGESTER_LOGGER = Symbol('INGESTER_LOGGER');
export const INGESTER_METRICS = Symbol('INGESTER_METRICS');

/** Starts the ops HTTP server and the pipeline on bootstrap; drains and stops them on shutdown. */
@Injectable()
export class IngesterService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly pipeline: IngestPipeline;
  readonly http: OpsHttpServer;
  readonly source: TickSource;
  httpPort = 0;
  summary: PipelineSummary | undefined;
  private stopping: Promise<PipelineSummary> | undefined;

  constructor(
    @Inject(INGESTER_CONFIG) private readonly config: IngesterConfig,
    @Inject(INGESTER_LOGGER) private readonly log: Logger,
    @Inject(INGESTER_METRICS) metrics: IngesterMetrics,
  ) {
    if (config.replayFile !== undefined) {
      this.source = new CsvReplaySource(
        {
          file: config.replayFile,
          speed: config.replaySpeed,
          loop: config.replayLoop,
          timestamps: config.replayTimestamps,
          firstSeq: config.firstSeq,
        },
        log.child('replay'),
        () => metrics.replayBadLines.inc(),
      );
    } else {
      this.source = new SimulatedMarketSource(
        {
          seed: config.seed,
          symbols: config.symbols,
          ratePerSec: config.tickRate,
          bursts: config.bursts,
          firstSeq: config.firstSeq,
        },
        log.child('market-sim'),
      );
    }
    this.pipeline = new IngestPipeline(config, this.source, metrics, log);
    this.http = new OpsHttpServer(metrics.registry, this.pipeline, log.child('http'));
  }

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    // Liveness answers during the Kafka connect; readiness waits for it.
    this.httpPort = await this.http.listen(c.httpPort, c.httpHost);
    this.log.info('ops http listening', { host: c.httpHost, port: this.httpPort });
    await this.pipeline.start();
    this.log.info('ingester started', {
      brokers: c.brokers,
      topic: c.topic,
      partitions: c.partitions,
      acks: c.acks,
      compression: c.compression,
      producers: c.producers,
      producedAtHeader: c.producedAtHeader,
      source: c.replayFile !== undefined ? 'replay' : 'simulator',
      firstSeq: c.firstSeq,
      ...(c.replayFile !== undefined
        ? { replayFile: c.replayFile, replaySpeed: c.replaySpeed, replayLoop: c.replayLoop }
        : { tickRate: c.tickRate, symbols: c.symbols, seed: c.seed, bursts: c.bursts.length }),
      batchMaxMessages: c.batchMaxMessages,
      batchLingerMs: c.batchLingerMs,
      bufferMaxTicks: c.bufferMaxTicks,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  stop(): Promise<PipelineSummary> {
    this.stopping ??= (async () => {
      this.log.info('ingester stopping: source stopped, flushing buffered ticks');
      const summary = await this.pipeline.stop();
      this.summary = summary;
      this.log.info('ingester stopped', { ...summary });
      await this.http.close();
      return summary;
    })();
    return this.stopping;
  }
}
