import type { Logger } from '@tickhub/log';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import type { HubDirectory } from './hub-directory';
import { HubMessageError, parseHubMessage } from './hub-message';
import { publish } from './hub-publisher';
import { ensureTopic, type TopicSpec } from './kafka-topic';

/** What became of one record: routed onto the backplane, unreadable, or for a hub nobody serves. */
export type RecordOutcome = 'routed' | 'malformed' | 'unknown_hub';

export interface HubMessageConsumerOptions extends TopicSpec {
  brokers: string[];
  clientId: string;
  /** A group of its own next to the tick source's: each record is routed by one pod of the cluster. */
  groupId: string;
  sessionTimeoutMs: number;
  hubs: HubDirectory;
  logger: Logger;
  onRecord: (outcome: RecordOutcome) => void;
}

/** Waits between attempts to start (brokers away, topic not creatable yet). */
const RESTART_DELAY_MS = 2000;

/**
 * The Kafka ingress of server-published messages: consumes `hub.messages` in the gateway's consumer
 * group, so each record is routed once, by the pod that owns its partition, onto the backplane as a
 * hub send. Records of one partition are routed in order, so one key's messages keep their order.
 * A malformed record is counted and skipped; nothing in a record can stop the partition.
 */
export class HubMessageConsumer {
  private readonly kafka: Kafka;
  private consumer: Consumer | undefined;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private joined = false;

  constructor(private readonly options: HubMessageConsumerOptions) {
    const logger = options.logger;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      retry: { retries: 10, initialRetryTime: 200 },
      logCreator: () => (entry) => {
        const { message, ...rest } = entry.log;
        logger[entry.level === logLevel.ERROR ? 'error' : 'warn'](`kafka: ${message}`, {
          namespace: entry.namespace,
          ...rest,
        });
      },
    });
  }

  /** True while the consumer is a member of its group. */
  isJoined(): boolean {
    return this.joined;
  }

  /** Starts in the background and keeps trying until stopped. */
  start(): void {
    this.run().catch((error: unknown) => this.restartLater(error));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.joined = false;
    clearTimeout(this.restartTimer);
    const consumer = this.consumer;
    this.consumer = undefined;
    // Leaving the group hands the partitions to the other pods at once.
    if (consumer) await consumer.disconnect().catch(() => undefined);
  }

  private restartLater(error: unknown): void {
    this.joined = false;
    if (this.stopped) return;
    this.options.logger.warn('hub messages consumer failed; restarting', { error: String(error) });
    const consumer = this.consumer;
    this.consumer = undefined;
    void consumer?.disconnect().catch(() => undefined);
    this.restartTimer = setTimeout(() => this.start(), RESTART_DELAY_MS);
    this.restartTimer.unref();
  }

  private async run(): Promise<void> {
    const { logger, topic } = this.options;
    await ensureTopic(this.kafka, this.options, (msg, fields) => logger.info(msg, fields));
    if (this.stopped) return;
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(this.options.sessionTimeoutMs / 3)),
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.joined = true;
      logger.info('hub messages consumer joined', {
        groupId: this.options.groupId,
        topic,
        partitions: event.payload.memberAssignment[topic] ?? [],
      });
    });
    consumer.on(consumer.events.CRASH, (event) => {
      // kafkajs restarts a consumer after a retriable crash itself; after any other we do.
      if (!event.payload.restart) this.restartLater(event.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          this.options.onRecord(this.route(message.value));
          resolveOffset(message.offset);
        }
        await heartbeat();
      },
    });
  }

  private route(value: Buffer | null): RecordOutcome {
    let message: ReturnType<typeof parseHubMessage>;
    try {
      if (!value) throw new HubMessageError('empty record');
      message = parseHubMessage(JSON.parse(value.toString('utf8')));
    } catch (error) {
      if (error instanceof HubMessageError || error instanceof SyntaxError) return 'malformed';
      throw error;
    }
    const endpoint = this.options.hubs.get(message.hub);
    if (!endpoint) return 'unknown_hub';
    // Sending only queues onto the backplane; a failure there is the backplane's to report.
    publish(endpoint, message.to, message, message.excluded).catch((error: unknown) =>
      this.options.logger.warn('hub message not routed', { error: String(error) }),
    );
    return 'routed';
  }
}
