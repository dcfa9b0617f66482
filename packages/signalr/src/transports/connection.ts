import type { TransferFormat } from '../protocol';

export type TransportKind = 'WebSockets' | 'ServerSentEvents' | 'LongPolling';

export const ALL_TRANSPORTS: readonly TransportKind[] = ['WebSockets', 'ServerSentEvents', 'LongPolling'];

/** Transfer formats each transport can carry (SSE is a text protocol). */
export const TRANSFER_FORMATS: Record<TransportKind, readonly TransferFormat[]> = {
  WebSockets: ['Text', 'Binary'],
  ServerSentEvents: ['Text'],
  LongPolling: ['Text', 'Binary'],
};

/** Who the connection belongs to, as decided by the authentication hook. */
export interface ConnectionPrincipal {
  /** The user identifier used by `Clients.User(id)`. */
  userId?: string;
  /** Claims or other facts about the user, for hubs to read. */
  claims?: Record<string, unknown>;
  /**
   * When the credentials expire (ms since the epoch): the connection ends then, with a Close message
   * that lets the client reconnect (and fetch a fresh token).
   */
  expiresAt?: number;
}

/** How long an abusive client's transport may take to flush its Close before it is dropped. */
export const ABUSIVE_CLOSE_GRACE_MS = 1000;

/** The server-to-client half of a transport. */
export interface OutboundSink {
  write(data: Uint8Array): void;
  /** Bytes written but not yet handed to the network. */
  bufferedBytes(): number;
  /** Flushes what was written, then ends the transport. */
  end(): void;
  /** Ends the transport at once, dropping what was not sent. */
  abort(): void;
}

/** Stops and restarts reading from the client (backpressure while the hub is busy). */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

/** What runs on top of a connection (the hub layer). */
export interface ConnectionApplication {
  onData(data: Uint8Array): void;
  /** Called once a second by the connection manager (keep-alive, timeouts). */
  onTick(now: number): void;
  /** The server is going away: say goodbye in the application protocol, then close. */
  shutdown(reason: string): void;
  /** The connection is gone; `error` says why when it was not a normal close. */
  onClosed(error?: string): void;
  /**
   * The transport dropped on a connection negotiated with stateful reconnect: true when the
   * application can resume on a new transport (it buffers what it sends meanwhile).
   */
  onTransportLost?(): boolean;
  /** A new transport took over after `onTransportLost`. */
  onTransportRestored?(): void;
}

/**
 * One logical SignalR connection: created by negotiate (or by a WebSocket without negotiate), bound
 * to exactly one transport, and identified to HTTP requests by its secret connection token.
 */
export class SignalRConnection {
  transport: TransportKind | undefined;
  /** Frames sent on WebSockets use this format; the hub layer sets it once the protocol is known. */
  transferFormat: TransferFormat = 'Text';
  application: ConnectionApplication | undefined;
  private sink: OutboundSink | undefined;
  private closedFlag = false;
  readonly createdAt: number;
  readonly items = new Map<string, unknown>();
  private receivePaused = false;
  private resumeWaiters: Array<() => void> = [];
  private flowControl: FlowControl | undefined;
  /** Negotiated with `useStatefulReconnect`: a new WebSocket with the same token may take over. */
  statefulReconnect = false;
  /** Since when the connection waits for a new transport (stateful reconnect); undefined while it has one. */
  detachedSince: number | undefined;

  constructor(
    readonly connectionId: string,
    readonly connectionToken: string,
    readonly hubPath: string,
    readonly principal: ConnectionPrincipal,
    /** Unsent bytes above which the connection is dropped (a backstop; hubs conflate well below it). */
    private readonly maxBufferedBytes: number,
    now: number,
    private readonly onDispose: (connection: SignalRConnection) => void,
  ) {
    this.createdAt = now;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get started(): boolean {
    return this.transport !== undefined;
  }

  /** True while a stateful-reconnect connection waits for its client to come back. */
  get detached(): boolean {
    return this.detachedSince !== undefined;
  }

  /** Whether a new WebSocket may take this started connection over (stateful reconnect). */
  get resumable(): boolean {
    return this.statefulReconnect && this.transport === 'WebSockets' && !this.closedFlag;
  }

  /**
   * A new WebSocket takes over a stateful-reconnect connection: an old one still open is dropped
   * (the client would not reconnect while it works), then the application resends what it kept.
   */
  replaceTransport(sink: OutboundSink, flowControl: FlowControl): void {
    const old = this.sink;
    this.sink = sink;
    this.flowControl = flowControl;
    this.detachedSince = undefined;
    old?.abort();
    if (this.receivePaused) flowControl.pause();
    this.application?.onTransportRestored?.();
  }

  /** Binds the transport; a connection takes exactly one. */
  start(transport: TransportKind, sink: OutboundSink, application: ConnectionApplication): void {
    this.transport = transport;
    this.sink = sink;
    this.application = application;
  }

  /** How the transport stops reading from the client (WebSockets); HTTP POSTs await `whenReceiving()`. */
  setFlowControl(flowControl: FlowControl): void {
    this.flowControl = flowControl;
  }

  /** The application has enough work queued: stop reading from the client until `resumeReceiving()`. */
  pauseReceiving(): void {
    if (this.receivePaused || this.closedFlag) return;
    this.receivePaused = true;
    this.flowControl?.pause();
  }

  resumeReceiving(): void {
    if (!this.receivePaused) return;
    this.receivePaused = false;
    this.flowControl?.resume();
    for (const waiter of this.resumeWaiters.splice(0)) waiter();
  }

  /** Resolves when the application accepts more data (at once unless paused). */
  whenReceiving(): Promise<void> {
    if (!this.receivePaused || this.closedFlag) return Promise.resolve();
    return new Promise((resolve) => this.resumeWaiters.push(resolve));
  }

  send(data: Uint8Array): void {
    if (this.closedFlag || !this.sink) return;
    this.sink.write(data);
    if (this.sink.bufferedBytes() > this.maxBufferedBytes) {
      this.abort('The client is not reading fast enough: too many unsent bytes.');
    }
  }

  /** Drops the connection at once without flushing (slow consumer, broken transport). */
  abort(error?: string): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.sink?.abort();
    this.dispose(error);
  }

  bufferedBytes(): number {
    return this.sink ? this.sink.bufferedBytes() : 0;
  }

  receive(data: Uint8Array): void {
    if (this.closedFlag) return;
    this.application?.onData(data);
  }

  /** Ends the connection from the server side after flushing what was sent. */
  close(error?: string): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.sink?.end();
    this.dispose(error);
  }

  /**
   * Ends the connection of an abusive client: as `close`, but reading stops at once, so that what the
   * client keeps sending (a flood may have megabytes in flight) is not read, unmasked and dropped at
   * the server's expense while the transport closes; the transport is dropped `graceMs` later, time
   * for what was sent (the Close message) to leave.
   */
  closeAbusive(error: string, graceMs = ABUSIVE_CLOSE_GRACE_MS): void {
    if (this.closedFlag) return;
    this.flowControl?.pause();
    const sink = this.sink;
    this.close(error);
    if (sink) setTimeout(() => sink.abort(), graceMs).unref();
  }

  /**
   * The transport went away (socket closed, event stream dropped, client stopped polling). `from`
   * names the sink whose transport it was: a late close of a transport already replaced is ignored.
   * A stateful-reconnect connection whose application can resume waits for a new transport instead
   * of ending (for at most the disconnect timeout).
   */
  transportClosed(error?: string, from?: OutboundSink): void {
    if (this.closedFlag || (from !== undefined && from !== this.sink)) return;
    if (this.resumable && this.application?.onTransportLost?.() === true) {
      this.sink = undefined;
      this.flowControl = undefined;
      this.detachedSince = Date.now();
      return;
    }
    this.closedFlag = true;
    this.dispose(error);
  }

  private dispose(error?: string): void {
    for (const waiter of this.resumeWaiters.splice(0)) waiter();
    this.onDispose(this);
    const application = this.application;
    this.application = undefined;
    application?.onClosed(error);
  }
}
