export { type Acks, type Compression, ConfigError, type IngesterConfig, loadConfig } from './config';
export {
  CsvReplaySource,
  CsvTickParser,
  checkReplayFile,
  OPTIONAL_COLUMNS,
  parseHeader,
  REQUIRED_COLUMNS,
  ReplayFileError,
} from './csv-replay';
export { OpsHttpServer } from './http-server';
export { IngesterModule, ingesterModule } from './ingester.module';
export { IngesterService } from './ingester.service';
export { createLane, type LaneSlice, LocalLane, type ProducerLane, WorkerLane } from './lanes';
export { IngesterMetrics, METRIC_PREFIX } from './metrics';
export { IngestPipeline, type PipelineSummary } from './pipeline';
export { KafkaTickPublisher, StartupError } from './publisher';
export { SimulatedMarketSource } from './sim-source';
export type { TickSink, TickSource } from './source';
export { ConflatingTickBuffer, TickBatch } from './tick-buffer';
