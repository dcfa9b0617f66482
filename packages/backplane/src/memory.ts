import type {
  Backplane,
  BackplaneState,
  ClusterMessage,
  ClusterMessageHandler,
  ClusterPresence,
  PodPresence,
  SymbolUpdateHandler,
} from './backplane';
import { sumPresence, validateMessage, validatePayload, validateSymbol } from './validate';

type Delivery =
  | { kind: 'update'; symbol: string; payload: Uint8Array }
  | { kind: 'message'; message: ClusterMessage };

export interface MemoryBusOptions {
  /** Receives errors thrown by update and message handlers (default: console.error). */
  onHandlerError?: (error: unknown) => void;
}

interface PresenceEntry {
  presence: PodPresence;
  expiresAt: number;
}

/**
 * The shared medium of a cluster of MemoryBackplanes: what one Redis server is to RedisBackplanes.
 * Deliveries queue here and drain in a later microtask, so publishers never see their own update
 * synchronously (as over a network) and order is kept per symbol.
 */
export class MemoryBus {
  /** Pods with interest, per symbol. An entry disappears with its last subscriber. */
  private readonly subscribers = new Map<string, Set<MemoryBackplane>>();
  private readonly pods = new Set<MemoryBackplane>();
  /** Bounded by the number of symbols: one entry per symbol, overwritten. */
  private readonly lastValues = new Map<string, Uint8Array>();
  private readonly presence = new Map<string, PresenceEntry>();
  private queue: Delivery[] = [];
  private draining = false;
  private readonly onHandlerError: (error: unknown) => void;

  constructor(options: MemoryBusOptions = {}) {
    this.onHandlerError =
      options.onHandlerError ?? ((error) => console.error('backplane handler failed', error));
  }

  /** @internal */
  attach(pod: MemoryBackplane): void {
    for (const other of this.pods) {
      if (other.podId === pod.podId) throw new Error(`backplane pod id "${pod.podId}" is already in use`);
    }
    this.pods.add(pod);
  }

  /** @internal */
  detach(pod: MemoryBackplane): void {
    this.pods.delete(pod);
    for (const [symbol, set] of this.subscribers) {
      set.delete(pod);
      if (set.size === 0) this.subscribers.delete(symbol);
    }
    this.presence.delete(pod.podId);
  }

  /** @internal */
  subscribe(pod: MemoryBackplane, symbol: string): void {
    let set = this.subscribers.get(symbol);
    if (!set) {
      set = new Set();
      this.subscribers.set(symbol, set);
    }
    set.add(pod);
  }

  /** @internal */
  unsubscribe(pod: MemoryBackplane, symbol: string): void {
    const set = this.subscribers.get(symbol);
    if (!set) return;
    set.delete(pod);
    if (set.size === 0) this.subscribers.delete(symbol);
  }

  /** Number of pods subscribed to a symbol (what PUBSUB NUMSUB is to Redis). */
  subscriberCount(symbol: string): number {
    return this.subscribers.get(symbol)?.size ?? 0;
  }

  /** Number of symbols in the last-value cache. */
  lastValueCount(): number {
    return this.lastValues.size;
  }

  /** @internal */
  enqueue(delivery: Delivery): void {
    this.queue.push(delivery);
    if (!this.draining) {
      this.draining = true;
      queueMicrotask(this.drain);
    }
  }

  private readonly drain = (): void => {
    // Swap the queue so deliveries published by handlers go out in a later drain, after these.
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      for (const delivery of batch) {
        if (delivery.kind === 'update') {
          const set = this.subscribers.get(delivery.symbol);
          if (!set) continue;
          for (const pod of set) {
            try {
              pod.deliverUpdate(delivery.symbol, delivery.payload);
            } catch (error) {
              // One failing handler must not stall the bus for every other pod.
              this.onHandlerError(error);
            }
          }
        } else {
          for (const pod of this.pods) {
            try {
              pod.deliverMessage(delivery.message);
            } catch (error) {
              this.onHandlerError(error);
            }
          }
        }
      }
    }
    this.draining = false;
  };

  /** @internal */
  setLastValue(symbol: string, payload: Uint8Array): void {
    this.lastValues.set(symbol, payload);
  }

  /** @internal */
  getLastValue(symbol: string): Uint8Array | undefined {
    return this.lastValues.get(symbol);
  }

  /** @internal */
  reportPresence(podId: string, presence: PodPresence, expiresAt: number): void {
    this.presence.set(podId, { presence, expiresAt });
  }

  /** @internal */
  clusterPresence(now: number): ClusterPresence {
    const live: PodPresence[] = [];
    for (const [podId, entry] of this.presence) {
      if (entry.expiresAt <= now) this.presence.delete(podId);
      else live.push(entry.presence);
    }
    return sumPresence(live);
  }
}

export interface MemoryBackplaneOptions {
  /** Unique in the bus; defaults to a random id. */
  podId?: string;
  /** Share one bus between instances to make them pods of one cluster; defaults to a private bus. */
  bus?: MemoryBus;
  /** How long a presence report stays in the cluster view (default 15 000 ms). */
  presenceTtlMs?: number;
  /** Clock for presence expiry (default Date.now). */
  now?: () => number;
}

let podSequence = 0;

/** The in-memory backplane: embedded mode, tests and multi-pod simulations in one process. */
export class MemoryBackplane implements Backplane {
  readonly podId: string;
  readonly bus: MemoryBus;
  readonly presenceTtlMs: number;
  private readonly now: () => number;
  private state: BackplaneState = 'connecting';
  private readonly stateListeners: Array<(state: BackplaneState) => void> = [];
  private updateHandler: SymbolUpdateHandler | undefined;
  private readonly interestCounts = new Map<string, number>();
  private readonly messageHandlers = new Map<string, ClusterMessageHandler[]>();

  constructor(options: MemoryBackplaneOptions = {}) {
    this.podId = options.podId ?? `mem-${process.pid}-${++podSequence}`;
    if (typeof this.podId !== 'string' || this.podId.length === 0) {
      throw new TypeError('backplane podId must be a non-empty string');
    }
    this.presenceTtlMs = options.presenceTtlMs ?? 15_000;
    if (!Number.isFinite(this.presenceTtlMs) || this.presenceTtlMs <= 0) {
      throw new RangeError('backplane presenceTtlMs must be a positive number');
    }
    this.now = options.now ?? Date.now;
    this.bus = options.bus ?? new MemoryBus();
    this.bus.attach(this);
  }

  async connect(): Promise<void> {
    if (this.state === 'closed') throw new Error('backplane is closed');
    this.setState('ready');
  }

  isReady(): boolean {
    return this.state === 'ready';
  }

  getState(): BackplaneState {
    return this.state;
  }

  onStateChange(listener: (state: BackplaneState) => void): void {
    this.stateListeners.push(listener);
  }

  publish(symbol: string, payload: Uint8Array): void {
    validateSymbol(symbol);
    validatePayload(payload);
    // As with Redis PUBLISH, a pod that subscribes later does not get the update; in embedded mode
    // most symbols have no local subscriber, and this spares them a queued delivery per tick.
    if (this.state === 'closed' || this.bus.subscriberCount(symbol) === 0) return;
    this.bus.enqueue({ kind: 'update', symbol, payload });
  }

  onUpdate(handler: SymbolUpdateHandler): void {
    this.updateHandler = handler;
  }

  async addInterest(symbol: string): Promise<void> {
    validateSymbol(symbol);
    this.assertOpen();
    const count = this.interestCounts.get(symbol) ?? 0;
    this.interestCounts.set(symbol, count + 1);
    if (count === 0) this.bus.subscribe(this, symbol);
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
    this.bus.unsubscribe(this, symbol);
  }

  interests(): string[] {
    return [...this.interestCounts.keys()];
  }

  setLastValue(symbol: string, payload: Uint8Array): void {
    validateSymbol(symbol);
    validatePayload(payload);
    if (this.state === 'closed') return;
    this.bus.setLastValue(symbol, payload);
  }

  async getLastValue(symbol: string): Promise<Uint8Array | undefined> {
    validateSymbol(symbol);
    this.assertOpen();
    return this.bus.getLastValue(symbol);
  }

  async getLastValues(symbols: readonly string[]): Promise<Map<string, Uint8Array>> {
    this.assertOpen();
    const result = new Map<string, Uint8Array>();
    for (const symbol of symbols) {
      validateSymbol(symbol);
      const value = this.bus.getLastValue(symbol);
      if (value !== undefined) result.set(symbol, value);
    }
    return result;
  }

  sendMessage(message: Omit<ClusterMessage, 'origin'>): void {
    validateMessage(message);
    if (this.state === 'closed') return;
    const full: ClusterMessage = {
      topic: message.topic,
      target: message.target,
      payload: message.payload,
      origin: this.podId,
    };
    if (message.except && message.except.length > 0) full.except = [...message.except];
    this.bus.enqueue({ kind: 'message', message: full });
  }

  onMessage(topic: string, handler: ClusterMessageHandler): void {
    if (typeof topic !== 'string' || topic.length === 0) {
      throw new TypeError('backplane message topic must be a non-empty string');
    }
    const handlers = this.messageHandlers.get(topic);
    if (handlers) handlers.push(handler);
    else this.messageHandlers.set(topic, [handler]);
  }

  reportPresence(presence: PodPresence): void {
    if (this.state === 'closed') return;
    this.bus.reportPresence(this.podId, clonePresence(presence), this.now() + this.presenceTtlMs);
  }

  async getClusterPresence(): Promise<ClusterPresence> {
    this.assertOpen();
    return this.bus.clusterPresence(this.now());
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.interestCounts.clear();
    this.bus.detach(this);
    this.setState('closed');
  }

  /** @internal Called by the bus. */
  deliverUpdate(symbol: string, payload: Uint8Array): void {
    // A pod that dropped its interest after the publish was queued must not see the update.
    if (this.state === 'closed' || !this.interestCounts.has(symbol)) return;
    this.updateHandler?.(symbol, payload);
  }

  /** @internal Called by the bus. */
  deliverMessage(message: ClusterMessage): void {
    if (this.state === 'closed') return;
    const handlers = this.messageHandlers.get(message.topic);
    if (!handlers) return;
    for (const handler of handlers) handler(message);
  }

  private assertOpen(): void {
    if (this.state === 'closed') throw new Error('backplane is closed');
  }

  private setState(state: BackplaneState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

function clonePresence(presence: PodPresence): PodPresence {
  if (typeof presence !== 'object' || presence === null) {
    throw new TypeError('backplane presence must be an object');
  }
  // The pod keeps mutating its own maps; the bus must hold the values as reported.
  const copy: PodPresence = {
    connections: presence.connections,
    subscribers: { ...presence.subscribers },
  };
  if (presence.counters) copy.counters = { ...presence.counters };
  return copy;
}
