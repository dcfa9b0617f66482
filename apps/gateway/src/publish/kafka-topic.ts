import type { Kafka } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
}

/**
 * Creates the topic when missing, as the ingester creates md.ticks: waiting for its leaders, and
 * keeping an existing topic whatever its partition count (changing it would reorder keys).
 * Returns the partition count.
 */
export async function ensureTopic(
  kafka: Kafka,
  spec: TopicSpec,
  log: (msg: string, fields: Record<string, unknown>) => void,
): Promise<number> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: spec.topic, numPartitions: spec.partitions, replicationFactor: spec.replicationFactor },
      ],
    });
    const meta = await admin.fetchTopicMetadata({ topics: [spec.topic] });
    const partitions = meta.topics[0]?.partitions.length ?? 0;
    if (partitions === 0) throw new Error(`topic ${spec.topic} has no partitions`);
    if (created) log('topic created', { topic: spec.topic, partitions });
    else if (partitions !== spec.partitions) {
      log('topic exists with a different partition count; keeping it', {
        topic: spec.topic,
        partitions,
        configured: spec.partitions,
      });
    }
    return partitions;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
