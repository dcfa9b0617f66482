import { Inject } from '@nestjs/common';
import {
  type Candle,
  type Limits,
  MAX_SYMBOL_LENGTH,
  MAX_SYMBOLS_PER_REQUEST,
  type Quote,
  type QuoteUpdate,
  readHistoryParams,
  type SymbolInfo,
  type UpdateList,
} from '@tickhub/protocol';
import {
  Hub,
  type HubCallerContext,
  HubChannel,
  HubException,
  HubMethod,
  jsonHubProtocol,
  MessageType,
  messagePackHubProtocol,
} from '@tickhub/signalr';
import { type CandleHistory, entitledTo } from '../../candles/candle-history';
import type { FeedSession, SessionOptions, SessionSink, SubscribeResult } from '../../core/edge-stage';
import { quoteFields } from '../../core/edge-stage';
import {
  frameUpdates,
  jsonUpdateEncoding,
  msgpackUpdateEncoding,
  type UpdateEncoding,
} from '../../core/encodings';
import { type Entitlements, entitledDirectory } from '../../core/entitlements';
import { QuoteStreamSink } from './quote-stream';

/**
 * What the market hub needs from the gateway core: the symbol universe, the limits, the entitlement
 * decision and feed sessions.
 */
export interface MarketFeed {
  readonly symbols: readonly SymbolInfo[];
  readonly limits: Readonly<Limits>;
  /** What a connection whose token claims `token` may see and subscribe to. */
  entitlementsFor(token: Entitlements | undefined): Entitlements | undefined;
  openSession(sink: SessionSink, options: SessionOptions): FeedSession;
  readonly history?: CandleHistory;
}

export const MARKET_FEED = Symbol('MARKET_FEED');

const SESSION = 'market.session';
const DIRECTORY = 'market.directory';
/** The connection's entitlements as decided at connect (`MarketFeed.entitlementsFor`). */
const ENTITLEMENTS = 'market.entitlements';
const SESSION_OPTIONS = 'market.sessionOptions';

const TICKS_JSON_HEAD = Buffer.from('{"type":1,"target":"ticks","arguments":[', 'utf8');
const TICKS_JSON_TAIL = Buffer.from(']}\u001e', 'utf8');
// [1, {}, nil, "ticks", [ <updates array> ]]: an Invocation without id, one argument.
const TICKS_MSGPACK_HEAD = Uint8Array.from([
  0x95, 0x01, 0x80, 0xc0, 0xa5, 0x74, 0x69, 0x63, 0x6b, 0x73, 0x91,
]);
const NOTHING = new Uint8Array(0);
/** Room for the VarInt length prefix of a binary hub message (5 bytes reach 2^35). */
const LENGTH_PREFIX_ROOM = 5;

/**
 * Writes the VarInt length prefix of the MessagePack hub protocol (as `writeBinaryFrame` does) into the
 * room left before the message, and returns the framed message as a view: no second copy.
 */
function prefixLengthInPlace(buf: Buffer): Buffer {
  const length = buf.length - LENGTH_PREFIX_ROOM;
  let bytes = 1;
  for (let v = Math.floor(length / 128); v > 0; v = Math.floor(v / 128)) bytes++;
  let at = LENGTH_PREFIX_ROOM - bytes;
  const start = at;
  let v = length;
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    buf[at++] = byte;
  } while (v > 0);
  return buf.subarray(start);
}

/**
 * Feeds one hub connection from the edge stage: the same throttle, conflation and slow-consumer
 * guard as /ws. Update bodies are encoded once for every sink of the same encoding (shared with /ws
 * sinks of that format) and written here, in one buffer, into a `ticks` invocation of the protocol.
 */
abstract class HubSessionSink implements SessionSink {
  abstract readonly encoding: UpdateEncoding;

  constructor(protected readonly context: HubCallerContext) {}

  writeSnapshot(quote: Quote): void {
    this.context.sendEncoded(this.encodeSnapshot(quoteFields(quote)));
  }

  abstract writeTicks(list: UpdateList): void;
  protected abstract encodeSnapshot(quote: Quote): Uint8Array;

  bufferedBytes(): number {
    return this.context.bufferedBytes();
  }

  close(code: number, reason: string): void {
    // A slow consumer (4009) may come back and subscribe to less.
    this.context.abort(`Connection closed with an error. ${reason} (${code})`, true);
  }
}

class JsonHubSessionSink extends HubSessionSink {
  readonly encoding = jsonUpdateEncoding;

  writeTicks(list: UpdateList): void {
    this.context.sendEncoded(frameUpdates(this.encoding, TICKS_JSON_HEAD, list, TICKS_JSON_TAIL));
  }

  protected encodeSnapshot(quote: Quote): Uint8Array {
    return jsonHubProtocol.write({ type: MessageType.Invocation, target: 'snapshot', arguments: [quote] });
  }
}

class MessagePackHubSessionSink extends HubSessionSink {
  readonly encoding = msgpackUpdateEncoding;

  writeTicks(list: UpdateList): void {
    const message = frameUpdates(this.encoding, TICKS_MSGPACK_HEAD, list, NOTHING, LENGTH_PREFIX_ROOM);
    this.context.sendEncoded(prefixLengthInPlace(message));
  }

  protected encodeSnapshot(quote: Quote): Uint8Array {
    return messagePackHubProtocol.write({
      type: MessageType.Invocation,
      target: 'snapshot',
      arguments: [quote],
    });
  }
}

function describeErrors(result: SubscribeResult): string {
  return result.errors
    .map((e) => `${e.code}: ${e.message}${e.symbols ? ` (${e.symbols.join(', ')})` : ''}`)
    .join('; ');
}

function readSymbols(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_SYMBOLS_PER_REQUEST) {
    throw new HubException(
      `BAD_REQUEST: symbols must be an array of 1 to ${MAX_SYMBOLS_PER_REQUEST} strings.`,
    );
  }
  for (const symbol of value) {
    if (typeof symbol !== 'string' || symbol.length === 0 || symbol.length > MAX_SYMBOL_LENGTH) {
      throw new HubException(
        `BAD_REQUEST: each symbol must be a string of 1 to ${MAX_SYMBOL_LENGTH} characters.`,
      );
    }
  }
  return value as string[];
}

/** Subscribe and StreamQuotes: symbols, then an optional rate and an optional `leading` flag. */
const SUBSCRIBE_PARAMETERS = [
  'string[]',
  { type: 'number', optional: true },
  { type: 'boolean', optional: true },
] as const;

const optionalNumber = (value: unknown): number | undefined =>
  typeof value === 'number' ? value : undefined;
const optionalBoolean = (value: unknown): boolean | undefined =>
  typeof value === 'boolean' ? value : undefined;

/**
 * `/hubs/market`: the market feed as a SignalR hub. Clients call Subscribe, Unsubscribe and
 * ListSymbols; the server invokes `snapshot(quote)` and `ticks(updates[])` on them.
 */
@Hub('/hubs/market')
export class MarketHub extends Hub {
  constructor(@Inject(MARKET_FEED) private readonly feed: MarketFeed) {
    super();
  }

  override onConnected(): void {
    const entitlements = this.feed.entitlementsFor(
      this.context.principal.claims?.entitlements as Entitlements | undefined,
    );
    this.context.items.set(DIRECTORY, entitledDirectory(this.feed.symbols, entitlements));
    this.context.items.set(ENTITLEMENTS, entitlements);
    const options: SessionOptions = { limits: this.feed.limits, ...(entitlements ? { entitlements } : {}) };
    this.context.items.set(SESSION_OPTIONS, options);
    const session =
      this.context.protocol === 'messagepack'
        ? this.feed.openSession(new MessagePackHubSessionSink(this.context), options)
        : this.feed.openSession(new JsonHubSessionSink(this.context), options);
    this.context.items.set(SESSION, session);
  }

  override onDisconnected(): void {
    (this.context.items.get(SESSION) as FeedSession | undefined)?.close();
    this.context.items.delete(SESSION);
    this.context.items.delete(DIRECTORY);
    this.context.items.delete(ENTITLEMENTS);
    this.context.items.delete(SESSION_OPTIONS);
  }

  /**
   * Subscribes (or changes the rate or mode of) symbols; returns the accepted ones. `leading` as the
   * native subscribe's: false puts the symbols on the connection's aligned clock.
   */
  @HubMethod({ name: 'Subscribe', parameters: SUBSCRIBE_PARAMETERS })
  subscribe(symbols: unknown, maxHz?: unknown, leading?: unknown): string[] {
    const list = readSymbols(symbols);
    const result = this.session().subscribe(list, optionalNumber(maxHz), optionalBoolean(leading));
    if (result.accepted.length === 0) {
      throw new HubException(describeErrors(result) || 'No symbol was accepted.');
    }
    return result.accepted;
  }

  @HubMethod({ name: 'Unsubscribe', parameters: ['string[]'] })
  unsubscribe(symbols: unknown): string[] {
    return this.session().unsubscribe(readSymbols(symbols));
  }

  /**
   * A stream of the symbols' quotes on a feed session of its own: first item the snapshots, then the
   * throttled updates; the client's cancel ends this subscription only.
   */
  @HubMethod({
    name: 'StreamQuotes',
    stream: true,
    parameters: SUBSCRIBE_PARAMETERS,
  })
  streamQuotes(symbols: unknown, maxHz?: unknown, leading?: unknown): HubChannel<Array<Quote | QuoteUpdate>> {
    const list = readSymbols(symbols);
    const options = this.context.items.get(SESSION_OPTIONS) as SessionOptions | undefined;
    if (!options) throw new HubException('The market session is not open.');
    const channel = new HubChannel<Array<Quote | QuoteUpdate>>();
    const sink = new QuoteStreamSink(channel, this.context);
    const session = this.feed.openSession(sink, options);
    channel.onCancel(() => session.close());
    const result = session.subscribe(list, optionalNumber(maxHz), optionalBoolean(leading));
    if (result.accepted.length === 0) {
      session.close();
      throw new HubException(describeErrors(result) || 'No symbol was accepted.');
    }
    sink.expect(result.accepted);
    return channel;
  }

  @HubMethod({ name: 'ListSymbols' })
  listSymbols(): readonly SymbolInfo[] {
    return (this.context.items.get(DIRECTORY) as readonly SymbolInfo[] | undefined) ?? [];
  }

  /** Candle history, as `GET /api/candles` and the native `history` request serve it. */
  @HubMethod({ name: 'GetCandles', minArgs: 2, maxArgs: 3 })
  async getCandles(symbol: unknown, tf: unknown, limit?: unknown): Promise<Candle[]> {
    if (typeof symbol !== 'string' || symbol.length === 0 || symbol.length > MAX_SYMBOL_LENGTH) {
      throw new HubException(`BAD_REQUEST: symbol must be a string of 1 to ${MAX_SYMBOL_LENGTH} characters.`);
    }
    if (limit !== undefined && limit !== null && typeof limit !== 'number') {
      throw new HubException('BAD_REQUEST: limit must be a number.');
    }
    const params = readHistoryParams(tf, limit ?? undefined);
    if (!params.ok) throw new HubException(`BAD_REQUEST: ${params.message}.`);
    if (!this.feed.history) throw new HubException('Candle history is not served here.');
    // The entitlements subscribe applies: decided once, at connect.
    const entitlements = this.context.items.get(ENTITLEMENTS) as Entitlements | undefined;
    const result = await this.feed.history.read(
      symbol,
      params.tf,
      params.limit,
      entitledTo(entitlements, symbol),
    );
    if (!result.ok) throw new HubException(`${result.code}: ${result.message} (${symbol})`);
    return result.candles;
  }

  private session(): FeedSession {
    const session = this.context.items.get(SESSION) as FeedSession | undefined;
    if (!session) throw new HubException('The market session is not open.');
    return session;
  }
}
