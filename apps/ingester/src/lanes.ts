import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { LOG_LEVELS, type LogFormat, type Logger, logFormat } from '@tickhub/log';
import { TICK_HEADER_PRODUCED_AT } from '@tickhub/protocol';
import {
  CompressionTypes,
  Kafka,
  logLevel as KafkaLogLevel,
  type LogEntry,
  type Message,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { IngesterConfig, LogLevel } from './config';
import { errorText } from './error-text';

export type LaneConfig = Pick<
  IngesterConfig,
  'brokers' | 'clientId' | 'topic' | 'acks' | 'compression' | 'batchMaxMessages' | 'producedAtHeader'
>;

export const REQUEST_TIMEOUT_MS = 10_000;
/** Symbol keys are cached as bytes up to this many symbols; beyond it they are converted per record. */
const KEY_CACHE_LIMIT = 100_000;

/**
 * The records of one batch that go through one producer lane: encoded tick records back to back in
 * `values`, with their keys, partitions and producedAt stamps. Plain data, so it can cross to a worker.
 */
export interface LaneSlice {
  count: number;
  /** Key + value bytes. */
  bytes: number;
  /** Oldest producedAt stamp in the slice (ms since the epoch). */
  oldestProducedAt: number;
  values: Uint8Array;
  /** `count + 1` offsets into `values`. */
  offsets: Uint32Array;
  keys: string[];
  partitions: Int32Array;
  producedAt: Float64Array;
}

/** One kafkajs producer with at most one request in flight, in this thread or in a worker. */
export interface ProducerLane {
  readonly connected: boolean;
  connect(): Promise<void>;
  /** Rejects when the send failed; the lane is then disconnected and must be connected again. */
  send(slice: LaneSlice): Promise<void>;
  disconnect(): Promise<void>;
}

export function kafkaClient(config: LaneConfig, log: Logger): Kafka {
  const kafkaLog = log.child('kafkajs');
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: 3000,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // The publisher has its own reconnect loop; kafkajs only retries briefly inside one attempt.
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 2 },
    logLevel: KafkaLogLevel.WARN,
    // kafkajs reports every broken connection loudly; the publisher logs outages itself, once.
    logCreator: () => (entry: LogEntry) => {
      if (!kafkaLog.enabled('debug')) return;
      const { message, ...rest } = entry.log;
      kafkaLog.debug(message, { namespace: entry.namespace, kafkaLevel: entry.label, ...rest });
    },
  });
}

/** A kafkajs producer in the current thread. */
export class LocalLane implements ProducerLane {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private readonly idempotent: boolean;
  private readonly compression: CompressionTypes;
  private readonly keys = new Map<string, Buffer>();
  private stampMs = -1;
  private stamp = '';
  private header: Record<string, Buffer> | undefined;

  constructor(
    private readonly config: LaneConfig,
    log: Logger,
    private readonly onDisconnect: () => void = () => undefined,
  ) {
    this.kafka = kafkaClient(config, log);
    this.idempotent = config.acks === -1;
    this.compression = config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  }

  get connected(): boolean {
    return this.producer !== undefined;
  }

  async connect(): Promise<void> {
    if (this.producer !== undefined) return;
    const producer = this.kafka.producer({
      idempotent: this.idempotent,
      // One request in flight keeps per-partition order across retries.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Records carry their partition (murmur2 of the key, as the Java client computes it).
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 2 },
    });
    producer.on(producer.events.DISCONNECT, () => {
      if (this.producer === producer) {
        this.producer = undefined;
        this.onDisconnect();
      }
    });
    try {
      await producer.connect();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
    this.producer = producer;
  }

  async send(slice: LaneSlice): Promise<void> {
    const producer = this.producer;
    if (producer === undefined) throw new Error('producer lane is not connected');
    const messages: Message[] = new Array(slice.count);
    const { values, offsets } = slice;
    const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    const withHeader = this.config.producedAtHeader;
    for (let i = 0; i < slice.count; i++) {
      this.stampFor(slice.producedAt[i]!);
      messages[i] = {
        key: this.keyOf(slice.keys[i]!),
        value: bytes.subarray(offsets[i]!, offsets[i + 1]!),
        partition: slice.partitions[i]!,
        // The record's own timestamp (CreateTime) carries producedAt too, for consumers that prefer it.
        timestamp: this.stamp,
        headers: withHeader ? this.header : undefined,
      };
    }
    try {
      await producer.send({
        topic: this.config.topic,
        messages,
        acks: this.config.acks,
        timeout: REQUEST_TIMEOUT_MS,
        compression: this.compression,
      });
    } catch (err) {
      // A fresh producer (new connection, new producer id) is the simplest sound state after a failure.
      await this.disconnect();
      throw err;
    }
  }

  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer !== undefined) await producer.disconnect().catch(() => undefined);
  }

  private keyOf(symbol: string): Buffer {
    let key = this.keys.get(symbol);
    if (key === undefined) {
      key = Buffer.from(symbol, 'utf8');
      if (this.keys.size < KEY_CACHE_LIMIT) this.keys.set(symbol, key);
    }
    return key;
  }

  /** Headers are read-only to kafkajs, so records stamped in the same millisecond share one object. */
  private stampFor(ms: number): void {
    if (ms === this.stampMs) return;
    this.stampMs = ms;
    this.stamp = String(ms);
    // Bytes rather than a string: kafkajs would otherwise convert the string for every record.
    if (this.config.producedAtHeader)
      this.header = { [TICK_HEADER_PRODUCED_AT]: Buffer.from(this.stamp, 'latin1') };
  }
}

export interface WorkerInit {
  config: LaneConfig;
  logLevel: LogLevel;
  /** The main thread's: a worker's stdout is never a terminal, so it cannot tell by itself. */
  logFormat: LogFormat;
  lane: number;
}

export type WorkerRequest =
  | { id: number; op: 'connect' }
  | { id: number; op: 'send'; slice: LaneSlice }
  | { id: number; op: 'disconnect' };

export type WorkerReply =
  | { id: number; ok: true }
  | { id: number; ok: false; error: string }
  | { event: 'disconnect' };

const WORKER_FILE = path.join(__dirname, 'producer-worker.js');

/**
 * A kafkajs producer in a worker thread: kafkajs spends most of its time encoding records, so lanes in
 * workers let one ingester use several cores. The worker is started on connect and started again if
 * it ever dies.
 */
export class WorkerLane implements ProducerLane {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private isConnected = false;

  constructor(
    private readonly init: WorkerInit,
    private readonly log: Logger,
    private readonly onDisconnect: () => void = () => undefined,
  ) {}

  get connected(): boolean {
    return this.isConnected;
  }

  async connect(): Promise<void> {
    if (this.isConnected) return;
    await this.call({ op: 'connect' });
    this.isConnected = true;
  }

  async send(slice: LaneSlice): Promise<void> {
    try {
      await this.call({ op: 'send', slice });
    } catch (err) {
      this.isConnected = false;
      throw err;
    }
  }

  async disconnect(): Promise<void> {
    this.isConnected = false;
    const worker = this.worker;
    if (worker === undefined) return;
    await this.call({ op: 'disconnect' }).catch(() => undefined);
    this.worker = undefined;
    await worker.terminate().catch(() => undefined);
  }

  private call(
    request: { op: 'connect' } | { op: 'send'; slice: LaneSlice } | { op: 'disconnect' },
  ): Promise<void> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      worker.postMessage({ id, ...request } as WorkerRequest);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER_FILE, { workerData: this.init });
    worker.on('message', (reply: WorkerReply) => {
      if ('event' in reply) {
        this.isConnected = false;
        this.onDisconnect();
        return;
      }
      const call = this.calls.get(reply.id);
      if (call === undefined) return;
      this.calls.delete(reply.id);
      if (reply.ok) call.resolve();
      else call.reject(new Error(reply.error));
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.isConnected = false;
      this.log.error('producer worker died', { lane: this.init.lane, error: errorText(err) });
      for (const call of this.calls.values()) call.reject(err);
      this.calls.clear();
      this.onDisconnect();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`producer worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

export function createLane(
  config: LaneConfig,
  lane: number,
  inWorker: boolean,
  log: Logger,
  onDisconnect: () => void,
): ProducerLane {
  if (!inWorker) return new LocalLane(config, log, onDisconnect);
  const level = LOG_LEVELS.find((l) => log.enabled(l)) ?? 'error';
  return new WorkerLane({ config, logLevel: level, logFormat: logFormat(), lane }, log, onDisconnect);
}
