import { type IHeaders, Kafka, logLevel } from 'kafkajs';

/** Integration tests need a real broker: fail loudly (never skip) when the runner did not provide one. */
export function requireBrokers(): string {
  const brokers = process.env.KAFKA_BROKERS;
  if (brokers === undefined || brokers.trim() === '') {
    throw new Error(
      'KAFKA_BROKERS is not set: these tests need a real Kafka broker (npm test at the repo root starts one)',
    );
  }
  return brokers.trim();
}

export function uniqueName(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
}

export interface ConsumedRecord {
  partition: number;
  offset: number;
  key: string;
  value: Buffer;
  headers: IHeaders;
  /** Record timestamp, ms since the epoch. */
  timestamp: number;
}

function kafka(brokers: string): Kafka {
  return new Kafka({
    clientId: 'ingester-test',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 200 },
  });
}

export async function topicPartitions(brokers: string, topic: string): Promise<number> {
  const admin = kafka(brokers).admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]?.partitions.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopic(brokers: string, topic: string): Promise<void> {
  const admin = kafka(brokers).admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
  } catch {
    // best effort: the topic name is unique to the run
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Reads every record of `topic` up to the high watermarks at call time, in offset order per partition. */
export async function consumeAll(
  brokers: string,
  topic: string,
  timeoutMs = 120_000,
): Promise<ConsumedRecord[]> {
  const client = kafka(brokers);
  const admin = client.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map<number, number>();
  for (const o of offsets) {
    const end = Number(o.high);
    if (end > Number(o.low)) remaining.set(o.partition, end);
  }
  const records: ConsumedRecord[] = [];
  if (remaining.size === 0) return records;
  const consumer = client.consumer({ groupId: uniqueName('ingester-test'), maxBytes: 16 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`consumed ${records.length} records of ${topic} before timing out`)),
        timeoutMs,
      );
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            const end = remaining.get(batch.partition);
            for (const m of batch.messages) {
              const offset = Number(m.offset);
              if (end === undefined || offset >= end) continue;
              records.push({
                partition: batch.partition,
                offset,
                key: m.key?.toString('utf8') ?? '',
                value: m.value ?? Buffer.alloc(0),
                headers: m.headers ?? {},
                timestamp: Number(m.timestamp),
              });
              if (offset === end - 1) remaining.delete(batch.partition);
            }
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  return records;
}
