import type { Quote, QuoteUpdate } from './types';

/** Kafka header carrying the producer's send time, in ms since the epoch, as a decimal string. */
export const TICK_HEADER_PRODUCED_AT = 'produced-at';

/** First byte of every tick record written by this version. */
export const TICK_RECORD_VERSION = 1;

/** Set in the flags byte when the record carries `n` (conflated updates on the backplane do). */
const FLAG_HAS_N = 0x01;
const KNOWN_FLAGS = FLAG_HAS_N;

/** Longest UTF-8 encoding of a symbol a record can hold (its length is one byte). */
export const MAX_TICK_RECORD_SYMBOL_BYTES = 255;

const HEADER_SIZE = 3; // version, flags, symbol length
const NUMBER_COUNT = 12; // seq, ts, bid, ask, bidSize, askSize, last, lastSize, volume, open, high, low
const NUMBERS_SIZE = NUMBER_COUNT * 8;

/** A tick record that cannot be written or read: wrong version, wrong length, bad symbol, non-finite number. */
export class TickRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TickRecordError';
  }
}

// Encoding and decoding are synchronous, so one scratch array serves every call without allocating.
const scratch = new Float64Array(NUMBER_COUNT + 1);
const scratchBytes = new Uint8Array(scratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;
const SURROGATE = /\p{Surrogate}/u;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function hasN(q: Quote | QuoteUpdate): q is QuoteUpdate {
  return (q as Partial<QuoteUpdate>).n !== undefined;
}

/**
 * Encodes a quote (as produced to Kafka) or an update with `n` (as published on the backplane) in the
 * versioned binary layout described in the package README. `n`, when given, is written instead of the
 * input's own: a conflating stage can then encode the latest quote it holds without copying it first.
 */
export function encodeTickRecord(q: Quote | QuoteUpdate, n?: number): Buffer {
  const symbol = q.symbol;
  if (typeof symbol !== 'string' || symbol.length === 0) {
    throw new TickRecordError('tick record symbol must be a non-empty string');
  }
  const ascii = isAscii(symbol);
  let symbolBytes: number;
  if (ascii) {
    symbolBytes = symbol.length;
  } else {
    if (SURROGATE.test(symbol)) throw new TickRecordError('tick record symbol is not well-formed Unicode');
    symbolBytes = Buffer.byteLength(symbol, 'utf8');
  }
  if (symbolBytes > MAX_TICK_RECORD_SYMBOL_BYTES) {
    throw new TickRecordError(`tick record symbol is longer than ${MAX_TICK_RECORD_SYMBOL_BYTES} bytes`);
  }
  const withN = n !== undefined || hasN(q);
  const count = withN ? NUMBER_COUNT + 1 : NUMBER_COUNT;
  const numbers = scratch;
  numbers[0] = checkFinite(q.seq, 'seq');
  numbers[1] = checkFinite(q.ts, 'ts');
  numbers[2] = checkFinite(q.bid, 'bid');
  numbers[3] = checkFinite(q.ask, 'ask');
  numbers[4] = checkFinite(q.bidSize, 'bidSize');
  numbers[5] = checkFinite(q.askSize, 'askSize');
  numbers[6] = checkFinite(q.last, 'last');
  numbers[7] = checkFinite(q.lastSize, 'lastSize');
  numbers[8] = checkFinite(q.volume, 'volume');
  numbers[9] = checkFinite(q.open, 'open');
  numbers[10] = checkFinite(q.high, 'high');
  numbers[11] = checkFinite(q.low, 'low');
  if (withN) numbers[12] = checkFinite(n ?? (q as QuoteUpdate).n, 'n');

  const out = Buffer.allocUnsafe(HEADER_SIZE + symbolBytes + count * 8);
  out[0] = TICK_RECORD_VERSION;
  out[1] = withN ? FLAG_HAS_N : 0;
  out[2] = symbolBytes;
  if (ascii) {
    for (let i = 0; i < symbolBytes; i++) out[HEADER_SIZE + i] = symbol.charCodeAt(i);
  } else {
    out.write(symbol, HEADER_SIZE, symbolBytes, 'utf8');
  }
  const pos = HEADER_SIZE + symbolBytes;
  if (LITTLE_ENDIAN) {
    // One copy of the little-endian doubles instead of a call per field.
    out.set(scratchBytes.subarray(0, count * 8), pos);
  } else {
    for (let i = 0; i < count; i++) out.writeDoubleLE(numbers[i]!, pos + i * 8);
  }
  return out;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) return false;
  }
  return true;
}

function checkFinite(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TickRecordError(`tick record field "${field}" must be a finite number`);
  }
  return value;
}

function readSymbol(bytes: Uint8Array, start: number, length: number): string {
  // Symbols are nearly always ASCII: decoding them by hand avoids TextDecoder's per-call cost.
  let ascii = true;
  for (let i = start; i < start + length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (!ascii) {
    try {
      return utf8.decode(bytes.subarray(start, start + length));
    } catch {
      throw new TickRecordError('tick record symbol is not valid UTF-8');
    }
  }
  let s = '';
  for (let i = start; i < start + length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/**
 * Checks a record's header and length; returns where its numbers start, negated when it carries `n`
 * (a sign rather than an object, so that checking allocates nothing).
 */
function checkRecord(bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array)) throw new TickRecordError('tick record must be bytes');
  if (bytes.length < HEADER_SIZE) throw new TickRecordError(`tick record too short (${bytes.length} bytes)`);
  const version = bytes[0]!;
  if (version !== TICK_RECORD_VERSION) throw new TickRecordError(`unknown tick record version ${version}`);
  const flags = bytes[1]!;
  if ((flags & ~KNOWN_FLAGS) !== 0)
    throw new TickRecordError(`unknown tick record flags 0x${flags.toString(16)}`);
  const symbolBytes = bytes[2]!;
  if (symbolBytes === 0) throw new TickRecordError('tick record has an empty symbol');
  const withN = (flags & FLAG_HAS_N) !== 0;
  const expected = HEADER_SIZE + symbolBytes + NUMBERS_SIZE + (withN ? 8 : 0);
  if (bytes.length !== expected) {
    throw new TickRecordError(`tick record has ${bytes.length} bytes, expected ${expected}`);
  }
  const pos = HEADER_SIZE + symbolBytes;
  return withN ? -pos : pos;
}

/**
 * The seq of a tick record, without decoding the rest: a stage that only needs to know how far a
 * symbol's publications went reads this instead of building a whole update. Throws TickRecordError as
 * decodeTickRecord does on a record of another version or a malformed one.
 */
export function readTickRecordSeq(bytes: Uint8Array): number {
  const pos = Math.abs(checkRecord(bytes));
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(pos, true);
  if (!Number.isFinite(seq)) throw new TickRecordError('tick record holds a non-finite number');
  return seq;
}

/**
 * Decodes a tick record. Throws TickRecordError on a record of another version or a malformed one;
 * `n` is 1 when the record carries none.
 */
export function decodeTickRecord(bytes: Uint8Array): QuoteUpdate {
  const checked = checkRecord(bytes);
  const withN = checked < 0;
  const symbolBytes = Math.abs(checked) - HEADER_SIZE;
  const symbol = readSymbol(bytes, HEADER_SIZE, symbolBytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = HEADER_SIZE + symbolBytes;
  const numbers = scratch;
  const count = withN ? NUMBER_COUNT + 1 : NUMBER_COUNT;
  for (let i = 0; i < count; i++, pos += 8) {
    const value = view.getFloat64(pos, true);
    if (!Number.isFinite(value)) throw new TickRecordError('tick record holds a non-finite number');
    numbers[i] = value;
  }
  return new DecodedTick(
    symbol,
    numbers[0]!,
    numbers[1]!,
    numbers[2]!,
    numbers[3]!,
    numbers[4]!,
    numbers[5]!,
    numbers[6]!,
    numbers[7]!,
    numbers[8]!,
    numbers[9]!,
    numbers[10]!,
    numbers[11]!,
    withN ? numbers[12]! : 1,
  );
}

/**
 * What decodeTickRecord returns: a plain object (its prototype is Object.prototype, as a literal's),
 * made by a constructor rather than by an object literal. V8 decides per object literal whether to
 * allocate its objects in the old generation (allocation-site pretenuring), from the first scavenge
 * that finds many of them alive; a batch of ticks still being handled at that moment decides it for
 * the life of the process, and every later tick then costs a full collection's work instead of a
 * scavenge's (a source stage ran at half its speed). Objects made by a constructor are always young.
 */
function DecodedTickObject(
  this: QuoteUpdate,
  symbol: string,
  seq: number,
  ts: number,
  bid: number,
  ask: number,
  bidSize: number,
  askSize: number,
  last: number,
  lastSize: number,
  volume: number,
  open: number,
  high: number,
  low: number,
  n: number,
): void {
  this.symbol = symbol;
  this.seq = seq;
  this.ts = ts;
  this.bid = bid;
  this.ask = ask;
  this.bidSize = bidSize;
  this.askSize = askSize;
  this.last = last;
  this.lastSize = lastSize;
  this.volume = volume;
  this.open = open;
  this.high = high;
  this.low = low;
  this.n = n;
}
DecodedTickObject.prototype = Object.prototype;
const DecodedTick = DecodedTickObject as unknown as new (
  ...args: Parameters<typeof DecodedTickObject>
) => QuoteUpdate;
