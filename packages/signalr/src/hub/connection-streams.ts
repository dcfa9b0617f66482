import { HubChannel } from './hub-channel';

const CANCELLED = Symbol('cancelled');

/** How a stream of one connection reports to its HubConnectionContext. */
export interface StreamOutput {
  item(invocationId: string, item: unknown): void;
  /** The stream ended: by its end, an error (text for the client) or the client's cancel. */
  end(invocationId: string, error?: string): void;
  /** Errors thrown by hub code while streaming (never sent in detail). */
  report(error: unknown): void;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

/**
 * The streams of one connection: server-to-client streams (a hub method's AsyncIterable pumped into
 * StreamItem messages until it ends or the client sends CancelInvocation) and client-to-server
 * streams (StreamItem/Completion messages of the client's stream ids fed to HubChannels).
 */
export class ConnectionStreams {
  private readonly outgoing = new Map<string, () => void>();
  private readonly incoming = new Map<string, HubChannel<unknown>>();

  constructor(
    private readonly output: StreamOutput,
    /** Streams in each direction one connection may have open at once. */
    private readonly maxStreams: number,
    /** Items an upload stream may hold before the hub reads them. */
    private readonly uploadCapacity: number,
  ) {}

  get outgoingCount(): number {
    return this.outgoing.size;
  }

  /** Whether `count` more client-to-server streams fit. */
  canAcceptUploads(count: number): boolean {
    return this.incoming.size + count <= this.maxStreams;
  }

  /** Starts pumping a hub method's result to the client; runs in the background. */
  start(invocationId: string, result: unknown): void {
    if (!isAsyncIterable(result)) {
      this.output.end(
        invocationId,
        'The server failed to provide a stream: the hub method did not return one.',
      );
      return;
    }
    if (this.outgoing.has(invocationId)) {
      this.output.end(invocationId, `Invocation ID '${invocationId}' is already in use.`);
      return;
    }
    void this.pump(invocationId, result);
  }

  private async pump(invocationId: string, stream: AsyncIterable<unknown>): Promise<void> {
    let cancel!: () => void;
    const cancelled = new Promise<typeof CANCELLED>((resolve) => {
      cancel = () => resolve(CANCELLED);
    });
    this.outgoing.set(invocationId, cancel);
    let iterator: AsyncIterator<unknown> | undefined;
    let error: string | undefined;
    let wasCancelled = false;
    try {
      iterator = stream[Symbol.asyncIterator]();
      for (;;) {
        const next = await Promise.race([iterator.next(), cancelled]);
        if (next === CANCELLED) {
          wasCancelled = true;
          break;
        }
        if (next.done) break;
        this.output.item(invocationId, next.value);
      }
    } catch (e) {
      this.output.report(e);
      error = 'An error occurred on the server while streaming results.';
      if (e instanceof Error && e.name === 'HubException') error += ` HubException: ${e.message}`;
    } finally {
      this.outgoing.delete(invocationId);
    }
    if (wasCancelled) {
      // Not awaited: a generator stuck in an await would hold the completion back.
      iterator?.return?.()?.catch((e: unknown) => this.output.report(e));
    }
    this.output.end(invocationId, error);
  }

  /** The client's CancelInvocation: ends that stream only. */
  cancel(invocationId: string): void {
    this.outgoing.get(invocationId)?.();
  }

  /** Channels for the stream ids of an invocation, fed by the client's StreamItem messages. */
  openUploads(streamIds: readonly string[]): HubChannel<unknown>[] {
    return streamIds.map((id) => {
      const channel = new HubChannel<unknown>(this.uploadCapacity);
      this.incoming.set(id, channel);
      return channel;
    });
  }

  /** A StreamItem of an upload; false when the upload fell too far behind (it is then ended). */
  uploadItem(streamId: string, item: unknown): boolean {
    const channel = this.incoming.get(streamId);
    // Items of an unknown or finished stream are dropped, as ASP.NET Core does.
    if (!channel) return true;
    if (channel.write(item)) return true;
    this.incoming.delete(streamId);
    return false;
  }

  /** A Completion for an upload stream id; false when no upload has that id. */
  uploadComplete(streamId: string, error?: string): boolean {
    const channel = this.incoming.get(streamId);
    if (!channel) return false;
    this.incoming.delete(streamId);
    channel.complete(error === undefined ? undefined : new Error(error));
    return true;
  }

  /** The connection ended: every stream stops. */
  closeAll(): void {
    for (const cancel of this.outgoing.values()) cancel();
    for (const channel of this.incoming.values()) channel.complete(new Error('The connection ended.'));
    this.incoming.clear();
  }
}
