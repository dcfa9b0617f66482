import type { Quote, QuoteUpdate, UpdateList } from '@tickhub/protocol';
import { type HubCallerContext, type HubChannel, HubException } from '@tickhub/signalr';
import { quoteFields, type SessionSink } from '../../core/edge-stage';
import { jsonUpdateEncoding } from '../../core/encodings';

/**
 * Feeds one `StreamQuotes` stream from its own feed session (same throttle, conflation and
 * slow-consumer guard as `ticks`): the snapshots of the subscription as the first item (sent once
 * every symbol's snapshot is in, or before the first updates), then each flush's updates as one
 * item. A snapshot that comes after that is an item of its own.
 */
export class QuoteStreamSink implements SessionSink {
  /**
   * A stream item is serialized by the hub protocol inside its StreamItem message, so the updates go
   * back to objects: read from the JSON bodies every JSON sink already shares (one parse per flush of
   * this stream, none per connection of the other transports).
   */
  readonly encoding = jsonUpdateEncoding;
  /** Snapshots gathered until the first item goes out; undefined after. */
  private snapshots: Quote[] | undefined = [];
  /** Symbols whose snapshot the first item still waits for; undefined until `expect`. */
  private awaiting: Set<string> | undefined;

  constructor(
    private readonly channel: HubChannel<Array<Quote | QuoteUpdate>>,
    private readonly context: HubCallerContext,
  ) {}

  writeSnapshot(quote: Quote): void {
    const fields = quoteFields(quote);
    if (!this.snapshots) {
      this.channel.write([fields]);
      return;
    }
    this.snapshots.push(fields);
    this.awaiting?.delete(fields.symbol);
    if (this.awaiting?.size === 0) this.flushSnapshots();
  }

  /** The subscription's symbols: the first item goes out once each has its snapshot. */
  expect(symbols: readonly string[]): void {
    const have = new Set(this.snapshots?.map((q) => q.symbol));
    this.awaiting = new Set(symbols.filter((s) => !have.has(s)));
    if (this.awaiting.size === 0) this.flushSnapshots();
  }

  /** Sends the snapshots gathered so far as the stream's first item. */
  private flushSnapshots(): void {
    const snapshots = this.snapshots;
    if (!snapshots) return;
    this.snapshots = undefined;
    this.channel.write(snapshots);
  }

  writeTicks(list: UpdateList): void {
    this.flushSnapshots();
    const json = Buffer.allocUnsafe(jsonUpdateEncoding.listSize(list));
    jsonUpdateEncoding.writeList(json, 0, list);
    this.channel.write(JSON.parse(json.toString('utf8')) as QuoteUpdate[]);
  }

  bufferedBytes(): number {
    return this.context.bufferedBytes();
  }

  close(code: number, reason: string): void {
    // A slow consumer loses this stream, not the connection's other subscriptions.
    this.channel.complete(new HubException(`${reason} (${code})`));
  }
}
