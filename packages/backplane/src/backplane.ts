/**
 * The backplane joins gateway pods into one service. The source stage of the pod that owns a symbol
 * publishes that symbol's conflated updates and keeps its last value; the edge stage of every pod
 * subscribes, by interest, to the symbols its own clients want. Hubs use it for messages addressed
 * to every connection, to a group or to a user, wherever those connections live.
 *
 * Payloads are opaque bytes: the gateway encodes them (see @tickhub/protocol's tick record).
 */

/** Receives a symbol update published by any pod (including this one). */
export type SymbolUpdateHandler = (symbol: string, payload: Uint8Array) => void;

/** Who a cluster message is for. Pods deliver it to their own matching connections. */
export type MessageTarget =
  | { kind: 'all' }
  | { kind: 'group'; group: string }
  | { kind: 'user'; user: string }
  | { kind: 'connection'; connectionId: string };

export interface ClusterMessage {
  /** The hub (or other namespace) the message belongs to, e.g. "chathub". */
  topic: string;
  target: MessageTarget;
  payload: Uint8Array;
  /** Connection ids that must not receive it (e.g. the caller, for Clients.Others). */
  except?: string[];
  /** The pod that sent it. */
  origin: string;
}

export type ClusterMessageHandler = (message: ClusterMessage) => void;

/** What one pod reports about itself; the cluster view is the sum over live pods. */
export interface PodPresence {
  connections: number;
  /** Local subscriber count per symbol (only symbols with at least one subscriber). */
  subscribers: Record<string, number>;
  /** Free-form counters the pod wants summed cluster-wide, e.g. connections per IP or per user. */
  counters?: Record<string, number>;
}

export interface ClusterPresence {
  pods: number;
  connections: number;
  subscribers: Record<string, number>;
  counters: Record<string, number>;
}

export type BackplaneState = 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface Backplane {
  /** This pod's id, unique in the cluster. */
  readonly podId: string;

  /** Connects; resolves when the backplane can carry traffic. */
  connect(): Promise<void>;
  /** True while the backplane can carry traffic (readiness). */
  isReady(): boolean;
  /** Called on every state change (for readiness, logs and metrics). */
  onStateChange(listener: (state: BackplaneState) => void): void;

  // ---- symbol updates (source stage → edge stages)

  /** Publishes an update on the symbol's channel. Fire-and-forget; implementations may batch. */
  publish(symbol: string, payload: Uint8Array): void;
  /** Sets the handler that receives updates of every symbol this pod has interest in. */
  onUpdate(handler: SymbolUpdateHandler): void;
  /**
   * Declares interest in a symbol. Reference-counted per pod: the first call subscribes the channel,
   * later calls only count. Resolves when updates of the symbol will be delivered.
   */
  addInterest(symbol: string): Promise<void>;
  /** Drops one reference; the last one unsubscribes the channel. */
  removeInterest(symbol: string): Promise<void>;
  /** Symbols this pod currently has interest in. */
  interests(): string[];

  // ---- last-value cache

  setLastValue(symbol: string, payload: Uint8Array): void;
  getLastValue(symbol: string): Promise<Uint8Array | undefined>;
  /** Batched read; the result has an entry only for symbols that have a value. */
  getLastValues(symbols: readonly string[]): Promise<Map<string, Uint8Array>>;

  // ---- cluster messages (hubs)

  sendMessage(message: Omit<ClusterMessage, 'origin'>): void;
  /** Registers a handler for the messages of one topic, from every pod (including this one). */
  onMessage(topic: string, handler: ClusterMessageHandler): void;

  // ---- presence

  /** Reports this pod's presence; pods that stop reporting drop out of the cluster view. */
  reportPresence(presence: PodPresence): void;
  getClusterPresence(): Promise<ClusterPresence>;

  /** Unsubscribes everything, flushes pending writes and releases connections. */
  close(): Promise<void>;
}
