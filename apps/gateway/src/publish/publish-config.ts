import { bool, ConfigError, type Env, num, str } from '../config';

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

// Azure SignalR Service keys are 44 characters; a shorter HS256 key is guessable offline from one token.
const MIN_KEY_BYTES = 32;

function accessKey(env: Env, name: string): string | undefined {
  const key = env[name]?.trim() || undefined;
  if (key !== undefined && Buffer.byteLength(key) < MIN_KEY_BYTES) {
    throw new ConfigError(`${name} must be at least ${MIN_KEY_BYTES} bytes long`);
  }
  return key;
}

/** The PUBLISH_* settings of the server publish API (REST and Kafka ingress). */
export function publishConfig(env: Env): PublishConfig {
  const primary = accessKey(env, 'PUBLISH_ACCESS_KEY');
  const secondary = accessKey(env, 'PUBLISH_ACCESS_KEY_SECONDARY');
  if (secondary && !primary) {
    throw new ConfigError('PUBLISH_ACCESS_KEY_SECONDARY needs PUBLISH_ACCESS_KEY');
  }
  const kafkaTopic = str(env, 'PUBLISH_KAFKA_TOPIC', 'hub.messages');
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(kafkaTopic)) {
    throw new ConfigError('PUBLISH_KAFKA_TOPIC is not a valid topic name');
  }
  const kafka = bool(env, 'PUBLISH_KAFKA', false);
  if (kafka && !env.KAFKA_BROKERS?.trim()) throw new ConfigError('PUBLISH_KAFKA=true needs KAFKA_BROKERS');
  return {
    accessKeys: [primary, secondary].filter((key): key is string => key !== undefined),
    // Azure SignalR Service refuses messages above 1 MB.
    maxBodyBytes: num(env, 'PUBLISH_MAX_BODY_BYTES', 1024 * 1024, {
      min: 1024,
      max: 16 * 1024 * 1024,
      integer: true,
    }),
    kafka,
    kafkaTopic,
    kafkaPartitions: num(env, 'PUBLISH_KAFKA_PARTITIONS', 6, { min: 1, max: 10_000, integer: true }),
    kafkaReplicationFactor: num(env, 'PUBLISH_KAFKA_REPLICATION_FACTOR', 1, {
      min: 1,
      max: 100,
      integer: true,
    }),
  };
}
