import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const METRIC_PREFIX = 'tickhub_ingester_';

/** Every Prometheus metric of the ingester, in its own registry (tests create several side by side). */
export class IngesterMetrics {
  readonly registry = new Registry();
  readonly ticksGenerated: Counter;
  readonly ticksProduced: Counter;
  readonly ticksFolded: Counter;
  readonly bytes: Counter;
  readonly batches: Counter;
  readonly errors: Counter<'kind'>;
  readonly sendLatency: Histogram;
  readonly bufferTicks: Gauge;
  readonly bufferCapacity: Gauge;
  readonly inFlightTicks: Gauge;
  readonly kafkaConnected: Gauge;
  readonly replayBadLines: Counter;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.ticksGenerated = new Counter({
      name: `${METRIC_PREFIX}ticks_generated_total`,
      help: 'Ticks taken from the source (simulator or replay file).',
      registers,
    });
    this.ticksProduced = new Counter({
      name: `${METRIC_PREFIX}ticks_produced_total`,
      help: 'Tick records acknowledged by Kafka.',
      registers,
    });
    this.ticksFolded = new Counter({
      name: `${METRIC_PREFIX}ticks_folded_total`,
      help: 'Ticks replaced by a later tick of the same symbol because the buffer was full (seq gaps downstream).',
      registers,
    });
    this.bytes = new Counter({
      name: `${METRIC_PREFIX}bytes_total`,
      help: 'Key and value bytes of the tick records acknowledged by Kafka (before compression).',
      registers,
    });
    this.batches = new Counter({
      name: `${METRIC_PREFIX}batches_total`,
      help: 'Produce requests acknowledged by Kafka (one per producer lane and batch).',
      registers,
    });
    this.errors = new Counter({
      name: `${METRIC_PREFIX}errors_total`,
      help: 'Errors by kind: send, connect, encode, replay.',
      labelNames: ['kind'],
      registers,
    });
    this.sendLatency = new Histogram({
      name: `${METRIC_PREFIX}send_latency_seconds`,
      help: 'Time from handing a produce request to the producer to its acknowledgement.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.bufferTicks = new Gauge({
      name: `${METRIC_PREFIX}buffer_ticks`,
      help: 'Records waiting in the buffer (ordered ring plus one per conflated symbol).',
      registers,
    });
    this.bufferCapacity = new Gauge({
      name: `${METRIC_PREFIX}buffer_capacity_ticks`,
      help: 'Ticks the buffer keeps in order before it conflates per symbol.',
      registers,
    });
    this.inFlightTicks = new Gauge({
      name: `${METRIC_PREFIX}inflight_ticks`,
      help: 'Records taken from the buffer and sent or queued to Kafka, not yet acknowledged.',
      registers,
    });
    this.kafkaConnected = new Gauge({
      name: `${METRIC_PREFIX}kafka_connected`,
      help: '1 while the producer is connected to Kafka.',
      registers,
    });
    this.replayBadLines = new Counter({
      name: `${METRIC_PREFIX}replay_bad_lines_total`,
      help: 'Lines of the replay file that were skipped because they could not be parsed.',
      registers,
    });
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }
}
