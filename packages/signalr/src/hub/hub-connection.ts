import { type InboundLimit, InboundLimiter } from '../limits/inbound-limiter';
import {
  type CompletionMessage,
  type HubMessage,
  type HubMessageReader,
  type HubProtocol,
  type InvocationMessage,
  MessageType,
  readHandshake,
  type StreamInvocationMessage,
  writeHandshakeResponse,
} from '../protocol';
import {
  type ConnectionApplication,
  type SignalRConnection,
  TRANSFER_FORMATS,
} from '../transports/connection';
import { createCallerView } from './caller-view';
import { ClientResults } from './client-results';
import { ConnectionStreams } from './connection-streams';
import { type Hub, HubException, type HubMethodDefinition } from './hub';
import type { HubChannel } from './hub-channel';
import type { HubOptions } from './hub-options';
import type { HubConnectionHandle, HubLifetimeManager } from './lifetime-manager';
import { isSequenced, MessageBuffer } from './message-buffer';
import { bindCall, bindingFailed, invocationFailed } from './method-binding';

type State = 'handshake' | 'connected' | 'closed';

/** What one connection's hub protocol needs from the hub it serves (its HubEndpoint). */
export interface HubConnectionHost {
  readonly hub: Hub;
  readonly methods: ReadonlyMap<string, HubMethodDefinition>;
  readonly lifetime: HubLifetimeManager;
  readonly options: HubOptions;
  reportError(error: unknown, context: string): void;
}

const EMPTY = new Uint8Array(0);

/**
 * Reading pauses at `maxPendingInvocations`; messages already read (one WebSocket frame or one
 * POST chunk can hold many) still queue, up to this many times that before the connection closes.
 */
const PENDING_HARD_LIMIT_FACTOR = 64;

/**
 * The hub protocol on one connection: handshake, parsing, dispatch of invocations to the hub (one
 * at a time, in order, as ASP.NET Core does by default), completions, keep-alive and timeouts.
 */
export class HubConnectionContext implements ConnectionApplication, HubConnectionHandle {
  private state: State = 'handshake';
  private handshakeBuffer: Uint8Array = EMPTY;
  private reader: HubMessageReader | undefined;
  private selected: HubProtocol | undefined;
  private readonly startedAt: number;
  private lastReceived: number;
  private lastSent: number;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private view: Hub | undefined;
  private readonly inbound: InboundLimiter | undefined;
  private readonly streams: ConnectionStreams;
  private readonly clientResults: ClientResults;
  /** Set when the client negotiated stateful reconnect and speaks hub protocol version 2. */
  private buffer: MessageBuffer | undefined;
  readonly groups = new Set<string>();

  constructor(
    private readonly endpoint: HubConnectionHost,
    private readonly connection: SignalRConnection,
  ) {
    const now = Date.now();
    this.startedAt = now;
    this.lastReceived = now;
    this.lastSent = now;
    const limit = endpoint.options.inboundLimit;
    this.inbound = limit ? new InboundLimiter(limit, now) : undefined;
    // As many awaited client results as invocations may wait: both are bounded per connection.
    this.clientResults = new ClientResults(
      endpoint.options.clientResultTimeoutMs,
      endpoint.options.maxPendingInvocations,
    );
    this.streams = new ConnectionStreams(
      {
        item: (invocationId, item) => this.sendMessage({ type: MessageType.StreamItem, invocationId, item }),
        end: (invocationId, error) => this.complete(invocationId, error === undefined ? {} : { error }),
        report: (error) => endpoint.reportError(error, 'streaming'),
      },
      endpoint.options.maxStreams,
      endpoint.options.maxUploadItems,
    );
  }

  get connectionId(): string {
    return this.connection.connectionId;
  }

  get userId(): string | undefined {
    return this.connection.principal.userId;
  }

  get protocol(): HubProtocol {
    if (!this.selected) throw new Error('the handshake has not completed');
    return this.selected;
  }

  // ---------------------------------------------------------------- ConnectionApplication

  onData(data: Uint8Array): void {
    if (this.state === 'closed') return;
    this.lastReceived = Date.now();
    if (this.state === 'handshake') {
      this.readHandshake(data);
      return;
    }
    this.readMessages(data);
  }

  onTick(now: number): void {
    if (this.state === 'handshake') {
      if (now - this.startedAt > this.endpoint.options.handshakeTimeoutMs)
        this.failHandshake('Handshake was canceled.');
      return;
    }
    if (this.state !== 'connected') return;
    // Long polling has inherent keep-alive: the client neither pings nor expects pings, and the
    // server notices a vanished client by its missing polls.
    if (this.connection.transport === 'LongPolling') return;
    if (now - this.lastReceived > this.endpoint.options.clientTimeoutMs) {
      this.closeWithError('Connection closed with an error. The client timed out.');
      return;
    }
    const ack = this.buffer?.pendingAck();
    if (ack !== undefined) this.sendMessage({ type: MessageType.Ack, sequenceId: ack });
    if (now - this.lastSent >= this.endpoint.options.keepAliveIntervalMs) {
      this.sendMessage({ type: MessageType.Ping });
    }
  }

  shutdown(reason: string): void {
    if (this.state === 'connected') {
      this.sendMessage({ type: MessageType.Close, error: reason, allowReconnect: true });
    }
    this.connection.close(reason);
  }

  onClosed(error?: string): void {
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    if (!wasConnected) return;
    this.streams.closeAll();
    this.clientResults.failAll(new Error('The connection ended before the client answered.'));
    this.endpoint.lifetime.remove(this);
    const view = this.view;
    if (!view) return;
    // After every queued invocation, so that onDisconnected is the last thing the hub sees.
    this.queue = this.queue.then(async () => {
      try {
        await view.onDisconnected(error);
      } catch (e) {
        this.endpoint.reportError(e, 'onDisconnected');
      }
    });
  }

  // ---------------------------------------------------------------- sending

  /** Writes bytes already framed (invocations encoded once for many connections). */
  sendBytes(data: Uint8Array): void {
    if (this.state !== 'connected') return;
    this.write(data, true);
  }

  private sendMessage(message: HubMessage): void {
    if (this.state !== 'connected' || !this.selected) return;
    this.write(this.selected.write(message), isSequenced(message.type));
  }

  /**
   * Every hub message goes out here: under stateful reconnect a sequenced one is kept until the
   * client acknowledges it, and while the transport is away it is only kept; a connection that has
   * kept more than its buffer by then cannot resume and ends.
   */
  private write(bytes: Uint8Array, sequenced: boolean): void {
    this.lastSent = Date.now();
    if (this.buffer && sequenced) {
      this.buffer.add(bytes);
      if (this.connection.detached) {
        if (!this.buffer.resumable) this.connection.abort('The stateful reconnect buffer is full.');
        return;
      }
    }
    this.connection.send(bytes);
  }

  /** Client results: invokes a method of this client with an id and awaits its Completion. */
  invokeClient(method: string, args: unknown[]): Promise<unknown> {
    if (typeof method !== 'string' || method.length === 0) {
      return Promise.reject(new TypeError('method must be a non-empty string'));
    }
    if (this.state !== 'connected') return Promise.reject(new Error('The connection is not open.'));
    const pending = this.clientResults.open(method);
    if (!pending) return Promise.reject(new Error('Too many client results are awaited on this connection.'));
    try {
      this.sendMessage({
        type: MessageType.Invocation,
        invocationId: pending.invocationId,
        target: method,
        arguments: args,
      });
    } catch (error) {
      this.clientResults.fail(
        pending.invocationId,
        error instanceof Error ? error : new Error(String(error)),
      );
    }
    return pending.result;
  }

  // ---------------------------------------------------------------- stateful reconnect

  onTransportLost(): boolean {
    return this.state === 'connected' && this.buffer?.resumable === true;
  }

  onTransportRestored(): void {
    if (this.state !== 'connected' || !this.buffer || !this.selected) return;
    const now = Date.now();
    this.lastReceived = now;
    this.lastSent = now;
    // Whatever part of a message the old transport delivered is gone with it.
    this.reader = this.selected.createReader(this.endpoint.options.maxMessageSize);
    const { sequenceId, messages } = this.buffer.resume();
    this.connection.send(this.selected.write({ type: MessageType.Sequence, sequenceId }));
    for (const bytes of messages) this.connection.send(bytes);
  }

  /** `abusive`: the client floods; stop reading it at once (`SignalRConnection.closeAbusive`). */
  private closeWithError(error: string, options: { allowReconnect?: boolean; abusive?: boolean } = {}): void {
    if (this.state === 'closed') return;
    const { allowReconnect, abusive } = options;
    this.sendMessage({ type: MessageType.Close, error, ...(allowReconnect ? { allowReconnect } : {}) });
    if (abusive) this.connection.closeAbusive(error);
    else this.connection.close(error);
  }

  // ---------------------------------------------------------------- handshake

  private readHandshake(data: Uint8Array): void {
    const buffer = joinBytes(this.handshakeBuffer, data);
    const transport = this.connection.transport ?? 'WebSockets';
    const result = readHandshake(buffer, this.endpoint.options.protocols, TRANSFER_FORMATS[transport]);
    if (result.state === 'incomplete') {
      this.handshakeBuffer = buffer.slice();
      return;
    }
    this.handshakeBuffer = EMPTY;
    if (result.state === 'error') {
      this.failHandshake(result.error);
      return;
    }
    const protocol = result.protocol;
    this.selected = protocol;
    // Acks and Sequence messages exist from hub protocol version 2 on.
    if (this.connection.statefulReconnect && result.version >= 2) {
      this.buffer = new MessageBuffer(this.endpoint.options.statefulReconnectBufferBytes);
    }
    this.reader = protocol.createReader(this.endpoint.options.maxMessageSize);
    // WebSocket frames follow the protocol's format from the handshake response on.
    this.connection.transferFormat = protocol.transferFormat;
    this.state = 'connected';
    this.lastSent = Date.now();
    this.connection.send(writeHandshakeResponse());
    this.endpoint.lifetime.add(this);
    this.view = this.createView();
    const view = this.view;
    this.enqueue(async () => {
      try {
        await view.onConnected();
      } catch (error) {
        this.endpoint.reportError(error, 'onConnected');
        this.closeWithError(
          error instanceof HubException
            ? `Connection closed with an error. HubException: ${error.message}`
            : 'Connection closed with an error.',
        );
      }
    });
    if (result.rest.length > 0) this.readMessages(result.rest);
  }

  private failHandshake(error: string): void {
    if (this.state !== 'handshake') return;
    this.state = 'closed';
    this.connection.send(writeHandshakeResponse(error));
    this.connection.close(error);
  }

  // ---------------------------------------------------------------- messages

  private readMessages(data: Uint8Array): void {
    if (!this.reader) return;
    const result = this.reader.read(data);
    for (const message of result.messages) {
      if (this.state !== 'connected') return;
      // Under stateful reconnect, messages the client resends after a reconnect are dropped here.
      if (this.buffer && !this.buffer.accept(message)) continue;
      this.dispatch(message);
    }
    if (result.error !== undefined && this.state === 'connected') {
      this.closeWithError(`Connection closed with an error. InvalidDataException: ${result.error}`);
    }
  }

  /**
   * Applies the inbound limit to an invocation read from the client: false when it must not run
   * (answered with RATE_LIMITED, or the connection closed for sustained abuse).
   */
  private admit(invocationId: string | undefined): boolean {
    const verdict = this.inbound?.check(Date.now()) ?? 'accept';
    if (verdict === 'accept') return true;
    const limit = this.endpoint.options.inboundLimit as InboundLimit;
    this.endpoint.options.onInboundLimit?.(verdict === 'close' ? 'closed' : 'refused', this.connectionId);
    if (verdict === 'close') {
      this.closeWithError('Connection closed with an error. RATE_LIMITED: rate limit abuse.', {
        abusive: true,
      });
    } else {
      this.complete(invocationId, {
        error: `RATE_LIMITED: more than ${limit.perSec} invocations per second.`,
      });
    }
    return false;
  }

  private dispatch(message: HubMessage): void {
    switch (message.type) {
      case MessageType.Invocation:
      case MessageType.StreamInvocation: {
        if (!this.admit(message.invocationId)) return;
        if (this.pending >= this.endpoint.options.maxPendingInvocations * PENDING_HARD_LIMIT_FACTOR) {
          this.closeWithError('Connection closed with an error. Too many pending invocations.');
          return;
        }
        const streamIds = message.streamIds ?? [];
        if (!this.streams.canAcceptUploads(streamIds.length)) {
          this.complete(message.invocationId, {
            error: bindingFailed(message.target, 'Too many upload streams are open on this connection.'),
          });
          return;
        }
        // Opened now: the client sends the streams' items right after the invocation, before it runs.
        const uploads = this.streams.openUploads(streamIds);
        this.enqueue(() => this.invoke(message, uploads));
        return;
      }
      case MessageType.CancelInvocation:
        this.streams.cancel(message.invocationId);
        return;
      case MessageType.StreamItem:
        if (!this.streams.uploadItem(message.invocationId, message.item)) {
          this.closeWithError(
            'Connection closed with an error. An upload stream ran too far ahead of the hub.',
          );
        }
        return;
      case MessageType.Completion:
        // The end of an upload stream, or the answer to a client result.
        if (!this.streams.uploadComplete(message.invocationId, message.error)) {
          this.clientResults.complete(message.invocationId, message);
        }
        return;
      case MessageType.Close:
        // The client is leaving; nothing more is sent.
        this.connection.close();
        return;
      case MessageType.Ack:
        this.buffer?.ack(message.sequenceId);
        return;
      case MessageType.Sequence:
        if (this.buffer && !this.buffer.resetSequence(message.sequenceId)) {
          this.closeWithError(
            "Connection closed with an error. Sequence ID greater than amount of messages we've received.",
          );
        }
        return;
      case MessageType.Ping:
        return;
    }
  }

  private enqueue(work: () => Promise<void>): void {
    this.pending++;
    if (this.pending >= this.endpoint.options.maxPendingInvocations) this.connection.pauseReceiving();
    const done = () => {
      this.pending--;
      if (this.pending <= this.endpoint.options.maxPendingInvocations / 2) this.connection.resumeReceiving();
    };
    this.queue = this.queue.then(work).then(done, (error: unknown) => {
      done();
      this.endpoint.reportError(error, 'invocation');
    });
  }

  private async invoke(
    message: InvocationMessage | StreamInvocationMessage,
    uploads: readonly HubChannel<unknown>[],
  ): Promise<void> {
    const failed = (error: string) => {
      for (const upload of uploads) upload.complete(new Error(error));
      this.complete(message.invocationId, { error });
    };
    if (this.state !== 'connected' || !this.view) return failed('The connection ended.');
    const { target, invocationId } = message;
    const streaming = message.type === MessageType.StreamInvocation;
    const call = bindCall(this.endpoint.methods, this.view, { ...message, streaming }, uploads);
    if ('error' in call) return failed(call.error);
    if (streaming && this.streams.outgoingCount >= this.endpoint.options.maxStreams) {
      return failed(
        `Failed to invoke '${target}': at most ${this.endpoint.options.maxStreams} streams per connection.`,
      );
    }
    let result: unknown;
    try {
      result = await call.fn.apply(this.view, call.args);
    } catch (error) {
      if (!(error instanceof HubException)) this.endpoint.reportError(error, `invoking ${call.method.name}`);
      for (const upload of uploads) upload.complete(new Error('The hub method failed.'));
      this.complete(invocationId, { error: invocationFailed(target, error) });
      return;
    }
    if (streaming && invocationId !== undefined) {
      // Streams run beside the connection's queue: later invocations do not wait for them.
      this.streams.start(invocationId, result);
      return;
    }
    this.complete(invocationId, { result });
  }

  /** Answers an invocation; non-blocking invocations (no id) get no answer, errors included. */
  private complete(invocationId: string | undefined, outcome: { result?: unknown; error?: string }): void {
    if (invocationId === undefined || this.state !== 'connected' || !this.selected) return;
    const message: CompletionMessage = { type: MessageType.Completion, invocationId };
    if (outcome.error !== undefined) message.error = outcome.error;
    else if (outcome.result !== undefined) message.result = outcome.result;
    let bytes: Uint8Array;
    try {
      bytes = this.selected.write(message);
    } catch (error) {
      this.endpoint.reportError(error, 'serializing a result');
      bytes = this.selected.write({
        type: MessageType.Completion,
        invocationId,
        error: 'An unexpected error occurred: the result could not be serialized.',
      });
    }
    this.write(bytes, true);
  }

  private createView(): Hub {
    return createCallerView(this.endpoint.hub, this.endpoint.lifetime, {
      connection: this.connection,
      protocol: this.protocol.name,
      sendInvocation: (target, args) =>
        this.sendMessage({ type: MessageType.Invocation, target, arguments: args }),
      sendBytes: (data) => this.sendBytes(data),
      invokeClient: (method, args) => this.invokeClient(method, args),
      closeWithError: (error, allowReconnect) =>
        this.closeWithError(error, allowReconnect ? { allowReconnect } : {}),
    });
  }
}

function joinBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
