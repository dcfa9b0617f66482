import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type {
  Backplane,
  BackplaneState,
  ClusterMessage,
  ClusterMessageHandler,
  ClusterPresence,
  PodPresence,
  SymbolUpdateHandler,
} from '@tickhub/backplane';
import { sumPresence, validateMessage, validatePayload, validateSymbol } from '@tickhub/backplane';
import type { Logger } from '@tickhub/log';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { decodeEnvelope, encodeEnvelope } from './envelope';

export interface RedisBackplaneOptions {
  /** `redis://[user:pass@]host:port[/db]`; in cluster mode a comma-separated list of seed nodes. */
  url: string;
  /** Unique in the cluster; defaults to `<hostname>-<pid>-<random>`. */
  podId?: string;
  /** Prepended to every key and channel (default `tickhub:`); must not contain `{` or `}`. */
  keyPrefix?: string;
  /** How long a presence report stays in the cluster view (default 15 000 ms). */
  presenceTtlMs?: number;
  /** Redis Cluster with sharded pub/sub (SSUBSCRIBE/SPUBLISH). */
  cluster?: boolean;
  /** Where the backplane reports outages and dropped input (the app's logger or a child of it). */
  logger: Logger;
  /**
   * Bound on writes queued or awaiting a reply. Past it, publishes and messages are dropped (and
   * counted): they are conflated updates, and the next one supersedes them. Default 50 000.
   */
  maxPendingWrites?: number;
  /** How long connect() waits for Redis before rejecting (default 10 000 ms). */
  connectTimeoutMs?: number;
}

/** Counters for metrics. */
export interface RedisBackplaneStats {
  published: number;
  droppedPublishes: number;
  droppedMessages: number;
  pipelines: number;
  failedWrites: number;
  updatesReceived: number;
  messagesReceived: number;
  badMessages: number;
  reconnects: number;
}

/** A write batch holds at most this many publishes; a larger burst is split into several pipelines. */
const MAX_BATCH = 1_000;
/** Channel names remembered for publishing; past it the memory starts afresh (a universe is smaller). */
const MAX_CACHED_CHANNELS = 100_000;
/** SUBSCRIBE and HMGET take at most this many arguments per command. */
const CHUNK = 500;
/**
 * Reconnect attempts are at most this far apart, so a pod is back within a quarter of a second of
 * Redis's return whatever the outage lasted (a refused connect costs Redis nothing).
 */
const RETRY_MAX_DELAY_MS = 250;

/**
 * Publishes a turn's updates in one command: ARGV holds channel, payload, channel, payload… Subscribers
 * see the same PUBLISH per channel as before; the writer builds, sends and parses the reply of one
 * command per turn instead of one per update.
 */
const PUBLISH_BATCH_LUA = `for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
return #ARGV / 2`;
const PUBLISH_BATCH = 'tickhubPublishBatch';

type PublishBatch = Record<typeof PUBLISH_BATCH, (...args: Array<string | Buffer>) => unknown>;

type Connection = Redis | Cluster;

/**
 * The backplane on Redis. Two connections per pod: one for writes and reads (pipelined per event-loop
 * turn), one in subscriber mode holding one channel per symbol of interest and one per message topic.
 * See the package README for the key layout and the failure behaviour.
 */
export class RedisBackplane implements Backplane {
  readonly podId: string;
  readonly keyPrefix: string;
  readonly presenceTtlMs: number;
  readonly clusterMode: boolean;

  private readonly logger: Logger;
  private readonly maxPendingWrites: number;
  private readonly connectTimeoutMs: number;
  private readonly pub: Connection;
  private readonly sub: Connection;
  private pubUp = false;
  private subUp = false;
  private state: BackplaneState = 'connecting';
  private readonly stateListeners: Array<(state: BackplaneState) => void> = [];
  /** Bumped on every resynchronisation so a stale one never marks the pod ready. */
  private epoch = 0;
  private closing: Promise<void> | undefined;

  private updateHandler: SymbolUpdateHandler | undefined;
  private readonly interestCounts = new Map<string, number>();
  private readonly subscribing = new Map<string, Promise<void>>();
  private readonly symbolByChannel = new Map<string, string>();
  /** The update channel of each symbol published, so that a publish builds no string. */
  private readonly channelBySymbol = new Map<string, string>();
  private readonly topicHandlers = new Map<string, ClusterMessageHandler[]>();
  private readonly topicByChannel = new Map<string, string>();

  // Writes collected during one event-loop turn, flushed as one pipeline.
  private pendingChannels: string[] = [];
  private pendingPayloads: Buffer[] = [];
  /** One entry per symbol: also what is rewritten after Redis comes back empty. Bounded by symbols. */
  private pendingLastValues = new Map<string, Buffer>();
  private presenceJson: string | undefined;
  private presenceDirty = false;
  private flushScheduled = false;
  private inFlight = 0;
  private loggedWriteFailure = false;

  private readonly counters: RedisBackplaneStats = {
    published: 0,
    droppedPublishes: 0,
    droppedMessages: 0,
    pipelines: 0,
    failedWrites: 0,
    updatesReceived: 0,
    messagesReceived: 0,
    badMessages: 0,
    reconnects: 0,
  };

  private readonly lastValueHash: string;
  private readonly presenceSetKey: string;
  private readonly presenceKey: string;

  constructor(options: RedisBackplaneOptions) {
    if (typeof options?.url !== 'string' || options.url.length === 0) {
      throw new TypeError('RedisBackplane needs a url (REDIS_URL), e.g. redis://127.0.0.1:6379');
    }
    this.podId = options.podId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    if (typeof this.podId !== 'string' || this.podId.length === 0 || this.podId.length > 200) {
      throw new TypeError('backplane podId must be a string of 1..200 characters');
    }
    this.keyPrefix = options.keyPrefix ?? 'tickhub:';
    if (typeof this.keyPrefix !== 'string' || /[{}]/.test(this.keyPrefix)) {
      throw new TypeError('backplane keyPrefix must be a string without "{" or "}" (they make hash tags)');
    }
    this.presenceTtlMs = options.presenceTtlMs ?? 15_000;
    if (!Number.isInteger(this.presenceTtlMs) || this.presenceTtlMs <= 0) {
      throw new RangeError('backplane presenceTtlMs must be a positive integer');
    }
    this.maxPendingWrites = options.maxPendingWrites ?? 50_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.clusterMode = options.cluster === true;
    this.logger = options.logger;

    const p = this.keyPrefix;
    this.lastValueHash = `${p}lv`;
    // One hash tag for every presence key, so that SMEMBERS + MGET stay on one slot in a cluster.
    this.presenceSetKey = `${p}{presence}:pods`;
    this.presenceKey = `${p}{presence}:pod:${this.podId}`;

    this.pub = this.createConnection(options.url, 'pub');
    this.sub = this.createConnection(options.url, 'sub');
    this.watch(this.pub, 'publisher');
    this.watch(this.sub, 'subscriber');
    const onMessage = (channel: Buffer, message: Buffer) => this.onChannelMessage(channel, message);
    this.sub.on(this.clusterMode ? 'smessageBuffer' : 'messageBuffer', onMessage);
    // A script's keys must share a slot in a cluster: there, publishes stay one command each.
    if (!this.clusterMode)
      (this.pub as Redis).defineCommand(PUBLISH_BATCH, { numberOfKeys: 0, lua: PUBLISH_BATCH_LUA });
  }

  // ---------------------------------------------------------------- naming

  /** Channel of a symbol's updates. In cluster mode the symbol is the hash tag, shared with its key. */
  updateChannel(symbol: string): string {
    return this.clusterMode ? `${this.keyPrefix}u:{${symbol}}` : `${this.keyPrefix}u:${symbol}`;
  }

  messageChannel(topic: string): string {
    return this.clusterMode ? `${this.keyPrefix}m:{${topic}}` : `${this.keyPrefix}m:${topic}`;
  }

  /** Cluster mode only: the last-value key of a symbol (same slot as its channel). */
  lastValueKey(symbol: string): string {
    return `${this.keyPrefix}lv:{${symbol}}`;
  }

  // ---------------------------------------------------------------- lifecycle

  async connect(): Promise<void> {
    if (this.state === 'closed') throw new Error('backplane is closed');
    if (this.state === 'ready') return;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `backplane could not reach Redis at ${redact(this.urlForLogs)} within ${this.connectTimeoutMs} ms (REDIS_URL); still retrying`,
          ),
        );
      }, this.connectTimeoutMs);
      this.onStateChange((state) => {
        if (state === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (state === 'closed') {
          clearTimeout(timer);
          reject(new Error('backplane was closed while connecting'));
        }
      });
    });
    // A failed first attempt is retried by ioredis' retryStrategy; `ready` settles the outcome.
    if (this.pub.status === 'wait') this.pub.connect().catch(() => {});
    if (this.sub.status === 'wait') this.sub.connect().catch(() => {});
    await ready;
  }

  isReady(): boolean {
    return this.state === 'ready';
  }

  /**
   * Redis Cluster only: the masters that hold slots but have no ready connection from this pod
   * (`host:port`, sorted). The symbols of their slots neither publish nor deliver meanwhile, while the
   * others do, so the pod stays ready (every pod would see the same, and taking all of them out of the
   * load balancer would stop every symbol); this says which part is missing. Empty without a cluster.
   */
  unreachableShards(): string[] {
    if (!this.clusterMode || this.state === 'closed') return [];
    const cluster = this.pub as Cluster;
    const masters = new Set<string>();
    for (const owners of cluster.slots) if (owners?.[0]) masters.add(owners[0]);
    // A master's connection leaves ioredis's pool when it ends, so a missing one is unreachable too.
    const ready = new Set<string>();
    for (const node of cluster.nodes('master'))
      if (node.status === 'ready') ready.add(`${node.options.host}:${node.options.port}`);
    return [...masters].filter((key) => !ready.has(key)).sort();
  }

  getState(): BackplaneState {
    return this.state;
  }

  onStateChange(listener: (state: BackplaneState) => void): void {
    this.stateListeners.push(listener);
  }

  stats(): RedisBackplaneStats {
    return { ...this.counters };
  }

  /** Channels this pod is subscribed to (or will resubscribe after a reconnect). */
  subscribedChannels(): string[] {
    return [...this.symbolByChannel.keys(), ...this.topicByChannel.keys()];
  }

  /**
   * Round trip to Redis in milliseconds: a PING on the writer connection, so it also measures the
   * queue in front of publishes. Rejects while the writer is down or the backplane is closed.
   */
  async ping(): Promise<number> {
    if (this.closing || !this.pubUp) throw new Error(`backplane not connected (state ${this.state})`);
    const started = performance.now();
    await this.pub.ping();
    return performance.now() - started;
  }

  async close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.setState('closed');
    this.epoch++;
    this.interestCounts.clear();
    this.symbolByChannel.clear();
    this.topicByChannel.clear();
    if (this.pubUp) {
      this.flush();
      const removal = this.clusterMode
        ? Promise.all([this.pub.del(this.presenceKey), this.pub.srem(this.presenceSetKey, this.podId)])
        : this.pub.multi().del(this.presenceKey).srem(this.presenceSetKey, this.podId).exec();
      await removal.catch((error: unknown) =>
        this.logger.warn('backplane could not remove its presence on close', { error: String(error) }),
      );
    }
    this.pendingChannels = [];
    this.pendingPayloads = [];
    this.pendingLastValues.clear();
    await Promise.all([quit(this.pub), quit(this.sub)]);
  }

  // ---------------------------------------------------------------- symbol updates

  publish(symbol: string, payload: Uint8Array): void {
    validateSymbol(symbol);
    validatePayload(payload);
    if (this.state === 'closed') return;
    if (!this.pubUp || this.inFlight + this.pendingChannels.length >= this.maxPendingWrites) {
      this.counters.droppedPublishes++;
      return;
    }
    let channel = this.channelBySymbol.get(symbol);
    if (channel === undefined) {
      if (this.channelBySymbol.size >= MAX_CACHED_CHANNELS) this.channelBySymbol.clear();
      channel = this.updateChannel(symbol);
      this.channelBySymbol.set(symbol, channel);
    }
    this.enqueue(channel, toBuffer(payload));
  }

  onUpdate(handler: SymbolUpdateHandler): void {
    this.updateHandler = handler;
  }

  async addInterest(symbol: string): Promise<void> {
    validateSymbol(symbol);
    this.assertOpen();
    const count = this.interestCounts.get(symbol) ?? 0;
    this.interestCounts.set(symbol, count + 1);
    if (count > 0) {
      // The first caller's SUBSCRIBE may still be on its way: later callers wait for it too.
      await this.subscribing.get(symbol);
      return;
    }
    const channel = this.updateChannel(symbol);
    this.symbolByChannel.set(channel, symbol);
    // While reconnecting the interest is only recorded: the resubscription on `ready` covers it.
    if (!this.subUp) return;
    const done = this.subscribeChannels([channel])
      .catch((error: unknown) => {
        // Lost the connection on the way: the interest stays and the resubscription covers it.
        if (!this.subUp || this.state === 'closed') return;
        this.releaseInterest(symbol);
        throw error;
      })
      .finally(() => {
        if (this.subscribing.get(symbol) === done) this.subscribing.delete(symbol);
      });
    this.subscribing.set(symbol, done);
    await done;
  }

  /** Undoes one addInterest whose SUBSCRIBE Redis refused. */
  private releaseInterest(symbol: string): void {
    const count = this.interestCounts.get(symbol) ?? 0;
    if (count > 1) {
      this.interestCounts.set(symbol, count - 1);
      return;
    }
    this.interestCounts.delete(symbol);
    this.symbolByChannel.delete(this.updateChannel(symbol));
  }

  async removeInterest(symbol: string): Promise<void> {
    validateSymbol(symbol);
    const count = this.interestCounts.get(symbol);
    if (count === undefined) return;
    if (count > 1) {
      this.interestCounts.set(symbol, count - 1);
      return;
    }
    this.interestCounts.delete(symbol);
    const channel = this.updateChannel(symbol);
    this.symbolByChannel.delete(channel);
    if (!this.subUp || this.state === 'closed') return;
    try {
      await this.unsubscribeChannels([channel]);
    } catch (error) {
      // Harmless: updates of symbols without interest are discarded on arrival.
      this.logger.warn('backplane unsubscribe failed', { channel, error: String(error) });
    }
  }

  interests(): string[] {
    return [...this.interestCounts.keys()];
  }

  // ---------------------------------------------------------------- last-value cache

  setLastValue(symbol: string, payload: Uint8Array): void {
    validateSymbol(symbol);
    validatePayload(payload);
    if (this.state === 'closed') return;
    // Kept even while Redis is down (one entry per symbol) and written once it is back.
    this.pendingLastValues.set(symbol, toBuffer(payload));
    if (this.pubUp) this.scheduleFlush();
  }

  async getLastValue(symbol: string): Promise<Uint8Array | undefined> {
    validateSymbol(symbol);
    this.assertOpen();
    const pending = this.pendingLastValues.get(symbol);
    if (pending) return pending;
    this.assertConnected();
    const value = this.clusterMode
      ? await this.pub.getBuffer(this.lastValueKey(symbol))
      : await this.pub.hgetBuffer(this.lastValueHash, symbol);
    return value ?? undefined;
  }

  async getLastValues(symbols: readonly string[]): Promise<Map<string, Uint8Array>> {
    this.assertOpen();
    if (!Array.isArray(symbols)) throw new TypeError('getLastValues needs an array of symbols');
    for (const symbol of symbols) validateSymbol(symbol);
    const result = new Map<string, Uint8Array>();
    if (symbols.length === 0) return result;
    this.assertConnected();
    if (this.clusterMode) {
      // Keys live on many slots: one GET each, grouped per node by auto-pipelining.
      const values = await Promise.all(symbols.map((s) => this.pub.getBuffer(this.lastValueKey(s))));
      values.forEach((value, i) => {
        if (value) result.set(symbols[i]!, value);
      });
    } else {
      for (let start = 0; start < symbols.length; start += CHUNK) {
        const chunk = symbols.slice(start, start + CHUNK);
        const values = await (this.pub as Redis).hmgetBuffer(this.lastValueHash, ...chunk);
        values.forEach((value, i) => {
          if (value) result.set(chunk[i]!, value);
        });
      }
    }
    // Values written on this pod but not flushed yet are newer than what Redis has.
    for (const symbol of symbols) {
      const pending = this.pendingLastValues.get(symbol);
      if (pending) result.set(symbol, pending);
    }
    return result;
  }

  // ---------------------------------------------------------------- cluster messages

  sendMessage(message: Omit<ClusterMessage, 'origin'>): void {
    validateMessage(message);
    if (this.state === 'closed') return;
    const envelope = encodeEnvelope({ ...message, origin: this.podId });
    if (!this.pubUp || this.inFlight + this.pendingChannels.length >= this.maxPendingWrites) {
      this.counters.droppedMessages++;
      return;
    }
    this.enqueue(this.messageChannel(message.topic), envelope);
  }

  onMessage(topic: string, handler: ClusterMessageHandler): void {
    if (typeof topic !== 'string' || topic.length === 0) {
      throw new TypeError('backplane message topic must be a non-empty string');
    }
    const handlers = this.topicHandlers.get(topic);
    if (handlers) {
      handlers.push(handler);
      return;
    }
    this.topicHandlers.set(topic, [handler]);
    const channel = this.messageChannel(topic);
    this.topicByChannel.set(channel, topic);
    if (this.subUp && this.state !== 'closed') {
      this.subscribeChannels([channel]).catch((error: unknown) =>
        this.logger.error('backplane could not subscribe a message topic', { topic, error: String(error) }),
      );
    }
  }

  // ---------------------------------------------------------------- presence

  reportPresence(presence: PodPresence): void {
    if (typeof presence !== 'object' || presence === null) {
      throw new TypeError('backplane presence must be an object');
    }
    if (this.state === 'closed') return;
    this.presenceJson = JSON.stringify({
      connections: presence.connections,
      subscribers: presence.subscribers,
      counters: presence.counters,
    });
    this.presenceDirty = true;
    if (this.pubUp) this.scheduleFlush();
  }

  async getClusterPresence(): Promise<ClusterPresence> {
    this.assertOpen();
    this.assertConnected();
    const ids = await this.pub.smembers(this.presenceSetKey);
    if (ids.length === 0) return sumPresence([]);
    const keys = ids.map((id) => `${this.keyPrefix}{presence}:pod:${id}`);
    const values = await this.pub.mget(...keys);
    const live: PodPresence[] = [];
    const expired: string[] = [];
    values.forEach((value, i) => {
      if (value === null) {
        expired.push(ids[i]!);
        return;
      }
      try {
        live.push(JSON.parse(value) as PodPresence);
      } catch {
        this.logger.warn('backplane ignored an unreadable presence report', { pod: ids[i] });
      }
    });
    // Pods whose key expired leave the set here, so it stays bounded by the live pods.
    if (expired.length > 0) {
      this.pub.srem(this.presenceSetKey, ...expired).catch(() => {});
    }
    return sumPresence(live);
  }

  // ---------------------------------------------------------------- writes

  private enqueue(channel: string, payload: Buffer): void {
    this.pendingChannels.push(channel);
    this.pendingPayloads.push(payload);
    if (this.pendingChannels.length >= MAX_BATCH) this.flush();
    else this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushTurn);
  }

  private readonly flushTurn = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** Sends everything collected so far as one pipeline (last values first, then publishes). */
  private flush(): void {
    const channels = this.pendingChannels;
    const payloads = this.pendingPayloads;
    this.pendingChannels = [];
    this.pendingPayloads = [];
    if (!this.pubUp) {
      this.counters.droppedPublishes += channels.length;
      return;
    }
    const lastValues = this.pendingLastValues;
    if (lastValues.size > 0) this.pendingLastValues = new Map();
    const presence = this.presenceDirty ? this.presenceJson : undefined;
    this.presenceDirty = false;
    if (channels.length === 0 && lastValues.size === 0 && presence === undefined) return;

    const onFailure = (error: unknown) => {
      this.counters.failedWrites++;
      // Last values are state, not events: put back the ones not superseded since, for the next flush.
      for (const [symbol, value] of lastValues) {
        if (!this.pendingLastValues.has(symbol)) this.pendingLastValues.set(symbol, value);
      }
      if (presence !== undefined && !this.presenceDirty) this.presenceDirty = true;
      if (!this.loggedWriteFailure) {
        this.loggedWriteFailure = true;
        this.logger.warn('backplane write failed; updates are dropped until Redis is back', {
          error: String(error),
        });
      }
    };
    const onSuccess = () => {
      this.loggedWriteFailure = false;
    };

    const commands = channels.length + lastValues.size + (presence === undefined ? 0 : 2);
    this.inFlight += commands;
    this.counters.pipelines++;
    this.counters.published += channels.length;
    const done = () => {
      this.inFlight -= commands;
    };

    if (this.clusterMode) {
      // Auto-pipelining groups these per node within this turn (a cluster pipeline must stay on one node).
      const cluster = this.pub as Cluster;
      const writes: Promise<unknown>[] = [];
      for (const [symbol, value] of lastValues) writes.push(cluster.set(this.lastValueKey(symbol), value));
      if (presence !== undefined) {
        writes.push(cluster.set(this.presenceKey, presence, 'PX', this.presenceTtlMs));
        writes.push(cluster.sadd(this.presenceSetKey, this.podId));
      }
      for (let i = 0; i < channels.length; i++) writes.push(cluster.spublish(channels[i]!, payloads[i]!));
      Promise.all(writes).then(onSuccess, onFailure).finally(done);
      return;
    }

    const pipeline = (this.pub as Redis).pipeline();
    if (lastValues.size > 0) {
      const args: Array<string | Buffer> = [];
      for (const [symbol, value] of lastValues) args.push(symbol, value);
      pipeline.hset(this.lastValueHash, ...args);
    }
    if (presence !== undefined) {
      pipeline.set(this.presenceKey, presence, 'PX', this.presenceTtlMs);
      pipeline.sadd(this.presenceSetKey, this.podId);
    }
    if (channels.length === 1) pipeline.publish(channels[0]!, payloads[0]!);
    else if (channels.length > 1) {
      const args: Array<string | Buffer> = new Array(channels.length * 2);
      for (let i = 0; i < channels.length; i++) {
        args[2 * i] = channels[i]!;
        args[2 * i + 1] = payloads[i]!;
      }
      (pipeline as unknown as PublishBatch)[PUBLISH_BATCH](...args);
    }
    pipeline
      .exec()
      .then((results) => {
        const failed = results?.find(([error]) => error);
        if (failed) onFailure(failed[0]);
        else onSuccess();
      }, onFailure)
      .finally(done);
  }

  // ---------------------------------------------------------------- subscriptions

  private async subscribeChannels(channels: readonly string[]): Promise<void> {
    if (this.clusterMode) {
      // SSUBSCRIBE takes channels of one slot only; ioredis routes each to its shard's subscriber.
      await Promise.all(channels.map((channel) => (this.sub as Cluster).ssubscribe(channel)));
      return;
    }
    for (let start = 0; start < channels.length; start += CHUNK) {
      await (this.sub as Redis).subscribe(...channels.slice(start, start + CHUNK));
    }
  }

  private async unsubscribeChannels(channels: readonly string[]): Promise<void> {
    if (this.clusterMode) {
      await Promise.all(channels.map((channel) => (this.sub as Cluster).sunsubscribe(channel)));
      return;
    }
    await (this.sub as Redis).unsubscribe(...channels);
  }

  private onChannelMessage(channelBytes: Buffer, data: Buffer): void {
    if (this.state === 'closed') return;
    const channel = channelBytes.toString('utf8');
    const symbol = this.symbolByChannel.get(channel);
    if (symbol !== undefined) {
      // Interest dropped while the update was in flight: symbolByChannel no longer has it.
      this.counters.updatesReceived++;
      try {
        this.updateHandler?.(symbol, data);
      } catch (error) {
        this.logger.error('backplane update handler failed', { symbol, error: String(error) });
      }
      return;
    }
    const topic = this.topicByChannel.get(channel);
    if (topic === undefined) return;
    let message: ClusterMessage;
    try {
      message = decodeEnvelope(topic, data);
    } catch (error) {
      this.counters.badMessages++;
      this.logger.warn('backplane dropped an unreadable cluster message', { topic, error: String(error) });
      return;
    }
    this.counters.messagesReceived++;
    for (const handler of this.topicHandlers.get(topic) ?? []) {
      try {
        handler(message);
      } catch (error) {
        this.logger.error('backplane message handler failed', { topic, error: String(error) });
      }
    }
  }

  // ---------------------------------------------------------------- connection state

  private urlForLogs = '';

  private createConnection(url: string, role: 'pub' | 'sub'): Connection {
    this.urlForLogs = url;
    const common: RedisOptions = {
      lazyConnect: true,
      // Never queue commands while disconnected: the queue would grow with the tick rate.
      enableOfflineQueue: false,
      // Resubscription is done here, on `ready`, so that readiness waits for it (see resync).
      autoResubscribe: false,
      // Stale publishes are not worth resending on a new connection.
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 100, RETRY_MAX_DELAY_MS),
      connectionName: `tickhub-backplane-${role}-${this.podId}`.replace(/\s/g, '_'),
    };
    if (!this.clusterMode) return new Redis(url, common);

    const seeds = url
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    const first = new URL(seeds[0]!.includes('://') ? seeds[0]! : `redis://${seeds[0]}`);
    const nodes = seeds.map((seed) => {
      const u = new URL(seed.includes('://') ? seed : `redis://${seed}`);
      return { host: u.hostname, port: Number(u.port || 6379) };
    });
    const redisOptions: RedisOptions = { ...common };
    delete redisOptions.lazyConnect;
    if (first.password) redisOptions.password = decodeURIComponent(first.password);
    if (first.username) redisOptions.username = decodeURIComponent(first.username);
    const clusterOptions: ClusterOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: role === 'pub',
      shardedSubscribers: role === 'sub',
      clusterRetryStrategy: (times) => Math.min(times * 100, RETRY_MAX_DELAY_MS),
      redisOptions,
    };
    return new Cluster(nodes, clusterOptions);
  }

  private watch(connection: Connection, role: 'publisher' | 'subscriber'): void {
    let loggedError = false;
    connection.on('error', (error: unknown) => {
      // A down Redis errors on every retry; one line per outage is enough.
      if (loggedError) return;
      loggedError = true;
      this.logger.warn(`backplane ${role} connection error`, { error: String(error) });
    });
    connection.on('ready', () => {
      loggedError = false;
      if (role === 'publisher') this.pubUp = true;
      else this.subUp = true;
      this.onConnectionUp();
    });
    const down = () => {
      const wasUp = role === 'publisher' ? this.pubUp : this.subUp;
      if (role === 'publisher') this.pubUp = false;
      else this.subUp = false;
      if (wasUp) this.onConnectionDown(role);
    };
    connection.on('close', down);
    connection.on('end', down);
  }

  private onConnectionDown(role: string): void {
    this.epoch++;
    if (this.state !== 'ready') return;
    this.counters.reconnects++;
    this.logger.warn('backplane lost Redis; reconnecting', { pod: this.podId, connection: role });
    this.setState('reconnecting');
  }

  private onConnectionUp(): void {
    if (!this.pubUp || !this.subUp || this.state === 'closed') return;
    void this.resync();
  }

  /** Resubscribes every channel held before the outage, then rewrites state and reports ready. */
  private async resync(): Promise<void> {
    const epoch = ++this.epoch;
    try {
      await this.subscribeChannels(this.subscribedChannels());
    } catch (error) {
      // The connection dropped again: the next `ready` starts over.
      this.logger.warn('backplane resubscription failed', { error: String(error) });
      return;
    }
    if (epoch !== this.epoch || !this.pubUp || !this.subUp || this.state === 'closed') return;
    if (this.presenceJson !== undefined) this.presenceDirty = true;
    if (this.presenceDirty || this.pendingLastValues.size > 0) this.scheduleFlush();
    const recovered = this.state === 'reconnecting';
    this.setState('ready');
    if (recovered) this.logger.info('backplane reconnected and resubscribed', { pod: this.podId });
  }

  private assertOpen(): void {
    if (this.state === 'closed') throw new Error('backplane is closed');
  }

  private assertConnected(): void {
    if (!this.pubUp) throw new Error(`backplane is ${this.state}: Redis is not reachable`);
  }

  private setState(state: BackplaneState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) {
      try {
        listener(state);
      } catch (error) {
        this.logger.error('backplane state listener failed', { error: String(error) });
      }
    }
  }
}

function toBuffer(payload: Uint8Array): Buffer {
  return Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/g, '//***@');
}

async function quit(connection: Connection): Promise<void> {
  if (connection.status !== 'ready') {
    // Nothing to flush on a connection that is down; QUIT would only wait for the timeout.
    connection.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 2_000);
  });
  // QUIT waits for the replies of everything sent before it; a dead connection is just dropped.
  await Promise.race([connection.quit().catch(() => {}), timeout]);
  clearTimeout(timer);
  connection.disconnect();
}
