import { type DynamicModule, Module } from '@nestjs/common';
import type { Logger } from '@tickhub/log';
import type { IngesterConfig } from './config';
import { INGESTER_CONFIG, INGESTER_LOGGER, INGESTER_METRICS, IngesterService } from './ingester.service';
import { IngesterMetrics } from './metrics';

@Module({})
export class IngesterModule {}

/** The ingester's Nest module, carrying the configuration validated before Nest starts. */
export function ingesterModule(config: IngesterConfig, logger: Logger): DynamicModule {
  return {
    module: IngesterModule,
    providers: [
      { provide: INGESTER_CONFIG, useValue: config },
      { provide: INGESTER_LOGGER, useValue: logger },
      { provide: INGESTER_METRICS, useFactory: () => new IngesterMetrics() },
      IngesterService,
    ],
    exports: [IngesterService],
  };
}
