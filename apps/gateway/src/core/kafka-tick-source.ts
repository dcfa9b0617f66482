import { decodeTickRecord, type QuoteUpdate } from '@tickhub/protocol';
import { type Consumer, Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import type { TickSource, TickSourceHandler } from './tick-source';

export interface KafkaTickSourceOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  clientId: string;
  /** Read the topic from its start for a group without committed offsets (default: latest). */
  fromBeginning?: boolean;
  /** A pod silent for this long loses its partitions to the others (default 10 000 ms). */
  sessionTimeoutMs?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Reads tick records from Kafka in consumer group `groupId`: each pod owns some partitions of the topic,
 * so each tick is decoded once in the cluster. Records that do not decode are counted and skipped.
 */
export class KafkaTickSource implements TickSource {
  readonly kind = 'kafka';
  private readonly kafka: Kafka;
  private consumer: Consumer | undefined;
  private connected = false;
  private readonly lagByPartition = new Map<number, number>();
  private assigned: number[] = [];
  decodeErrors = 0;
  records = 0;

  constructor(private readonly options: KafkaTickSourceOptions) {
    const log = options.log;
    const config: KafkaConfig = {
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      retry: { retries: 10, initialRetryTime: 200 },
      logCreator: () => (entry) => {
        if (!log) return;
        const level =
          entry.level === logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : 'info';
        const { message, ...rest } = entry.log;
        log(level, `kafka: ${message}`, { namespace: entry.namespace, ...rest });
      },
    };
    this.kafka = new Kafka(config);
  }

  async start(handler: TickSourceHandler): Promise<void> {
    if (this.consumer) throw new Error('tick source already started');
    const sessionTimeout = this.options.sessionTimeoutMs ?? 10_000;
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      allowAutoTopicCreation: false,
      // Market data goes stale fast: a crashed pod's partitions should move within seconds.
      sessionTimeout,
      heartbeatInterval: Math.max(100, Math.floor(sessionTimeout / 3)),
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const assignment = event.payload.memberAssignment[this.options.topic] ?? [];
      this.assigned = [...assignment].sort((a, b) => a - b);
      for (const p of [...this.lagByPartition.keys()])
        if (!assignment.includes(p)) this.lagByPartition.delete(p);
      this.connected = true;
      this.options.log?.('info', 'kafka group joined', {
        groupId: this.options.groupId,
        topic: this.options.topic,
        partitions: this.assigned,
      });
      handler.onOwnershipChange?.();
    });
    consumer.on(consumer.events.REBALANCING, () => {
      handler.onOwnershipChange?.();
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.connected = false;
      this.options.log?.('error', 'kafka consumer crashed', {
        error: String(event.payload.error),
        restart: event.payload.restart,
      });
    });
    consumer.on(consumer.events.DISCONNECT, () => {
      this.connected = false;
    });
    await consumer.connect();
    await consumer.subscribe({
      topic: this.options.topic,
      fromBeginning: this.options.fromBeginning ?? false,
    });
    await consumer.run({
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        const ticks: QuoteUpdate[] = [];
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          this.records++;
          if (!message.value) {
            this.decodeErrors++;
            continue;
          }
          try {
            ticks.push(decodeTickRecord(message.value));
          } catch {
            this.decodeErrors++;
          }
        }
        if (ticks.length > 0) handler.onTicks(ticks);
        const lag = Number(batch.offsetLag());
        if (Number.isFinite(lag)) this.lagByPartition.set(batch.partition, lag);
        await heartbeat();
      },
    });
  }

  async stop(): Promise<void> {
    this.connected = false;
    const consumer = this.consumer;
    this.consumer = undefined;
    // disconnect() leaves the group, so the partitions move to the other pods at once.
    if (consumer) await consumer.disconnect();
  }

  isConnected(): boolean {
    return this.connected;
  }

  lag(): number {
    let sum = 0;
    for (const v of this.lagByPartition.values()) sum += v;
    return sum;
  }

  partitions(): number[] {
    return this.assigned;
  }
}
