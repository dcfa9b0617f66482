import type { ConfigProblem, ValuesOf } from '@tickhub/config';
import type { GATEWAY_VARIABLES } from '../variables';

export interface PublishConfig {
  /**
   * Keys that sign the REST publish API's tokens (PUBLISH_ACCESS_KEY, and PUBLISH_ACCESS_KEY_SECONDARY
   * while a key is rotated); empty = the API is not served.
   */
  accessKeys: string[];
  /** Largest request body of the REST API, in bytes. */
  maxBodyBytes: number;
  /** Consume server-published messages from Kafka (needs KAFKA_BROKERS). */
  kafka: boolean;
  kafkaTopic: string;
  /** Partitions of the topic when the gateway creates it. */
  kafkaPartitions: number;
  kafkaReplicationFactor: number;
}

type Values = ValuesOf<typeof GATEWAY_VARIABLES>;

/** The PUBLISH_* settings of the server publish API (REST and Kafka ingress), checked against each other. */
export function publishConfig(v: Values, problems: ConfigProblem[]): PublishConfig {
  const primary = v.PUBLISH_ACCESS_KEY;
  const secondary = v.PUBLISH_ACCESS_KEY_SECONDARY;
  if (secondary && !primary) {
    problems.push({
      variable: 'PUBLISH_ACCESS_KEY_SECONDARY',
      message: 'PUBLISH_ACCESS_KEY_SECONDARY needs PUBLISH_ACCESS_KEY',
    });
  }
  const brokersWrong = problems.some((p) => p.variable === 'KAFKA_BROKERS');
  if (v.PUBLISH_KAFKA && !v.KAFKA_BROKERS?.length && !brokersWrong) {
    problems.push({ variable: 'PUBLISH_KAFKA', message: 'PUBLISH_KAFKA=true needs KAFKA_BROKERS' });
  }
  return {
    accessKeys: [primary, secondary].filter((key): key is string => key !== undefined),
    maxBodyBytes: v.PUBLISH_MAX_BODY_BYTES,
    kafka: v.PUBLISH_KAFKA,
    kafkaTopic: v.PUBLISH_KAFKA_TOPIC,
    kafkaPartitions: v.PUBLISH_KAFKA_PARTITIONS,
    kafkaReplicationFactor: v.PUBLISH_KAFKA_REPLICATION_FACTOR,
  };
}
