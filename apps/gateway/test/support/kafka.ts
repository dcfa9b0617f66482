import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';

/** A topic of its own on the test broker, with a connected producer. */
export interface TestTopic {
  brokers: string[];
  topic: string;
  /** Unique per topic: for group and client ids. */
  run: string;
  producer: Producer;
  /** Disconnects the producer and deletes the topic. */
  remove(): Promise<void>;
}

/** Creates `test.gateway.<name>.<run>` with `partitions` partitions on KAFKA_BROKERS (fails without it). */
export async function createTestTopic(name: string, partitions: number): Promise<TestTopic> {
  const list = process.env.KAFKA_BROKERS;
  if (!list) throw new Error('KAFKA_BROKERS is not set: this test needs the Kafka broker');
  const brokers = list.split(',');
  const run = `${Date.now()}-${randomBytes(3).toString('hex')}`;
  const topic = `test.gateway.${name}.${run}`;
  const kafka = new Kafka({ clientId: `${name}-${run}`, brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  const producer = kafka.producer();
  await producer.connect();
  return {
    brokers,
    topic,
    run,
    producer,
    remove: async () => {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
