import { Packr, Unpackr } from 'msgpackr';
import { QUOTE_NUMBER_FIELDS } from './guards';
import { isWideInteger, widenIntegers } from './msgpack-integers';
import { type QuoteUpdate, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, type Subprotocol } from './types';

/** Turns protocol objects into WebSocket frames and back, for one subprotocol. */
export interface Codec {
  readonly subprotocol: Subprotocol;
  /** True when frames are binary (MessagePack), false for text frames (JSON). */
  readonly binary: boolean;
  encode(message: unknown): string | Uint8Array;
  /** Decodes one frame; throws on malformed input. */
  decode(data: string | Uint8Array): unknown;
}

// Text frames arrive from `ws` as Buffers; invalid UTF-8 must be refused, not replaced with U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export const jsonCodec: Codec = Object.freeze({
  subprotocol: SUBPROTOCOL_JSON,
  binary: false,
  encode(message: unknown): string {
    return JSON.stringify(message);
  },
  decode(data: string | Uint8Array): unknown {
    return JSON.parse(typeof data === 'string' ? data : utf8.decode(data));
  },
});

// Plain MessagePack maps (no msgpackr records or structures) so that any MessagePack library can read frames.
const packr = new Packr({ useRecords: false, moreTypes: false });
// structuredClone: false refuses msgpackr's object-reference extensions: left on, a frame of a few hundred
// bytes can reference the same array 2^n times and block the event loop while msgpackr prints it into an
// error message.
const unpackr = new Unpackr({
  useRecords: false,
  structuredClone: false,
  mapsAsObjects: true,
  int64AsType: 'number',
});

function packMsgpack(message: unknown): Uint8Array {
  return packr.pack(widenIntegers(message));
}

export const msgpackCodec: Codec = Object.freeze({
  subprotocol: SUBPROTOCOL_MSGPACK,
  binary: true,
  encode(message: unknown): Uint8Array {
    return packMsgpack(message);
  },
  decode(data: string | Uint8Array): unknown {
    if (typeof data === 'string') throw new TypeError('MessagePack frames must be binary');
    return unpackr.unpack(data);
  },
});

/**
 * The codec for a negotiated WebSocket subprotocol; JSON when the client offered none.
 * Undefined for a subprotocol tickhub does not speak.
 */
export function codecForSubprotocol(name: string | undefined): Codec | undefined {
  if (name === undefined || name === '' || name === SUBPROTOCOL_JSON) return jsonCodec;
  if (name === SUBPROTOCOL_MSGPACK) return msgpackCodec;
  return undefined;
}

// ---------------------------------------------------------------- encode once, write many

/** JSON has no NaN or Infinity; JSON.stringify writes them as null, and so does this. */
function num(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/**
 * The JSON text of one `ticks` entry, holding exactly the fields of a QuoteUpdate in protocol order.
 * Equal to `JSON.stringify` of those fields.
 */
export function encodeUpdateJson(u: QuoteUpdate): string {
  return `${encodeUpdateJsonBody(u)},"n":${num(u.n)}}`;
}

/**
 * An entry of `encodeUpdateJson` up to and without its `n` and closing brace: the part every
 * subscriber of an update shares, whatever count of ticks it folds in (`writeUpdateTailJson`).
 */
export function encodeUpdateJsonBody(u: QuoteUpdate): string {
  return (
    `{"symbol":${JSON.stringify(u.symbol)},"seq":${num(u.seq)},"ts":${num(u.ts)},` +
    `"bid":${num(u.bid)},"ask":${num(u.ask)},"bidSize":${num(u.bidSize)},"askSize":${num(u.askSize)},` +
    `"last":${num(u.last)},"lastSize":${num(u.lastSize)},"volume":${num(u.volume)},` +
    `"open":${num(u.open)},"high":${num(u.high)},"low":${num(u.low)}`
  );
}

const JSON_N_KEY = Buffer.from(',"n":', 'latin1');
/** Longest symbol written by the byte encoder; longer ones take the string path. */
const MAX_JSON_SYMBOL = 64;
const CLOSE_BRACE = 0x7d;
const DIGIT_0 = 0x30;

function decimalDigits(n: number): number {
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  return digits;
}

const isCount = (n: number) => Number.isSafeInteger(n) && n >= 0;

/** Writes a JSON number as `num` formats it; returns the position after it. */
function writeJsonNumber(out: Buffer, pos: number, value: number): number {
  if (Number.isSafeInteger(value)) {
    let at = pos;
    let v = value;
    if (v < 0) {
      out[at++] = 0x2d; // -
      v = -v;
    }
    const digits = decimalDigits(v);
    for (let i = digits - 1; i >= 0; i--) {
      out[at + i] = DIGIT_0 + (v % 10);
      v = Math.floor(v / 10);
    }
    return at + digits;
  }
  // Fractions need JavaScript's shortest round-trip digits: one short string, written as ASCII by a
  // byte loop (Buffer#write costs a call into C++ for a handful of characters).
  const text = num(value);
  for (let i = 0; i < text.length; i++) out[pos + i] = text.charCodeAt(i);
  return pos + text.length;
}

// `{"symbol":` and then, before each later field, its key: `,"seq":` … `,"low":`.
const JSON_BODY_KEYS = ['{"symbol":', ...QUOTE_NUMBER_FIELDS.map((f) => `,"${f}":`)].map((k) =>
  Buffer.from(k, 'latin1'),
);
// A JSON number takes at most 24 characters (e.g. -1.2345678901234567e-300).
const JSON_SCRATCH_SIZE = JSON_BODY_KEYS.reduce((n, k) => n + k.length, 0) + 2 + MAX_JSON_SYMBOL + 12 * 24;
const jsonScratch = Buffer.allocUnsafe(JSON_SCRATCH_SIZE);

function writeKeyBytes(out: Buffer, pos: number, key: Buffer): number {
  // A byte loop: Buffer#copy costs more than it copies for a handful of bytes.
  for (let i = 0; i < key.length; i++) out[pos + i] = key[i]!;
  return pos + key.length;
}

/** True for a symbol JSON.stringify writes as its own characters between quotes. */
function isPlainJsonSymbol(text: string): boolean {
  if (text.length > MAX_JSON_SYMBOL) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * `encodeUpdateJsonBody` as UTF-8 bytes, written straight into a buffer: no string per field and no
 * concatenation, the garbage that an encode per update would otherwise leave behind.
 */
export function encodeUpdateJsonBodyBytes(u: QuoteUpdate): Buffer {
  const symbol = u.symbol;
  const { seq, ts, bid, ask, bidSize, askSize, last, lastSize, volume, open, high, low } = u;
  if (typeof symbol !== 'string' || !isPlainJsonSymbol(symbol) || !numericFields(u)) {
    return Buffer.from(encodeUpdateJsonBody(u), 'utf8');
  }
  const b = jsonScratch;
  const keys = JSON_BODY_KEYS;
  let pos = writeKeyBytes(b, 0, keys[0]!);
  b[pos++] = 0x22;
  for (let i = 0; i < symbol.length; i++) b[pos++] = symbol.charCodeAt(i);
  b[pos++] = 0x22;
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[1]!), seq);
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[2]!), ts);
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[3]!), bid);
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[4]!), ask);
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[5]!), bidSize);
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[6]!), askSize);
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[7]!), last);
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[8]!), lastSize);
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[9]!), volume);
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[10]!), open);
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[11]!), high);
  pos = writeJsonNumber(b, writeKeyBytes(b, pos, keys[12]!), low);
  const out = Buffer.allocUnsafe(pos);
  b.copy(out, 0, 0, pos);
  return out;
}

/** Bytes `writeUpdateTailJson` writes for `n`. */
export function updateTailJsonSize(n: number): number {
  return JSON_N_KEY.length + (isCount(n) ? decimalDigits(n) : Buffer.byteLength(num(n), 'latin1')) + 1;
}

/** Writes `,"n":<n>}` at `pos` (after a body of `encodeUpdateJsonBody`); returns the position after it. */
export function writeUpdateTailJson(out: Buffer, pos: number, n: number): number {
  // A byte loop: Buffer#copy costs more than it copies for five bytes.
  const key = JSON_N_KEY;
  for (let i = 0; i < key.length; i++) out[pos + i] = key[i]!;
  let at = pos + key.length;
  if (isCount(n)) {
    // Digits written in place, from the last: no string per update.
    const digits = decimalDigits(n);
    let v = n;
    for (let i = digits - 1; i >= 0; i--) {
      out[at + i] = DIGIT_0 + (v % 10);
      v = Math.floor(v / 10);
    }
    at += digits;
  } else {
    at += out.write(num(n), at, 'latin1');
  }
  out[at] = CLOSE_BRACE;
  return at + 1;
}

/** A `ticks` frame from entries made by `encodeUpdateJson`. */
export function frameTicksJson(parts: readonly string[]): string {
  return `{"type":"ticks","updates":[${parts.join(',')}]}`;
}

/** The fields of a QuoteUpdate, in protocol order, as a fresh object (drops anything else the input holds). */
export function pickQuoteUpdate(u: QuoteUpdate): QuoteUpdate {
  return {
    symbol: u.symbol,
    seq: u.seq,
    ts: u.ts,
    bid: u.bid,
    ask: u.ask,
    bidSize: u.bidSize,
    askSize: u.askSize,
    last: u.last,
    lastSize: u.lastSize,
    volume: u.volume,
    open: u.open,
    high: u.high,
    low: u.low,
    n: u.n,
  };
}

// ---------------------------------------------------------------- MessagePack update encoder

// The map header and keys of an update as msgpackr writes them (map16, fixstr keys), so that a
// hand-encoded update is byte-identical to `msgpackCodec.encode(pickQuoteUpdate(u))`.
const UPDATE_KEYS = ['symbol', ...QUOTE_NUMBER_FIELDS, 'n'] as const;
const KEY_BYTES = UPDATE_KEYS.map((k) => Uint8Array.from([0xa0 | k.length, ...Buffer.from(k, 'latin1')]));
const MAX_ASCII_SYMBOL = 255;
// Header (3) + keys + str8 symbol + 13 numbers of at most 9 bytes each.
const SCRATCH_SIZE = 3 + KEY_BYTES.reduce((n, k) => n + k.length, 0) + 2 + MAX_ASCII_SYMBOL + 13 * 9;
const scratch = Buffer.allocUnsafe(SCRATCH_SIZE);
const scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);

function writeKey(pos: number, index: number): number {
  // A byte loop: TypedArray#set costs more than it copies for a handful of bytes.
  const key = KEY_BYTES[index]!;
  const b = scratch;
  for (let i = 0; i < key.length; i++) b[pos + i] = key[i]!;
  return pos + key.length;
}

/**
 * Writes a number exactly as `msgpackCodec` does: msgpackr's rule for 32-bit integers and floats, and
 * int64 (uint64 beyond 2^63) for wider whole numbers.
 */
function writeNumber(pos: number, value: number): number {
  const b = scratch;
  if (value >>> 0 === value) {
    if (value < 0x80) {
      b[pos] = value;
      return pos + 1;
    }
    if (value < 0x100) {
      b[pos] = 0xcc;
      b[pos + 1] = value;
      return pos + 2;
    }
    if (value < 0x10000) {
      b[pos] = 0xcd;
      scratchView.setUint16(pos + 1, value);
      return pos + 3;
    }
    b[pos] = 0xce;
    scratchView.setUint32(pos + 1, value);
    return pos + 5;
  }
  if (value >> 0 === value) {
    if (value >= -0x20) {
      b[pos] = 0x100 + value;
      return pos + 1;
    }
    if (value >= -0x80) {
      b[pos] = 0xd0;
      b[pos + 1] = value + 0x100;
      return pos + 2;
    }
    if (value >= -0x8000) {
      b[pos] = 0xd1;
      scratchView.setInt16(pos + 1, value);
      return pos + 3;
    }
    b[pos] = 0xd2;
    scratchView.setInt32(pos + 1, value);
    return pos + 5;
  }
  if (isWideInteger(value)) {
    if (value < 2 ** 63) {
      b[pos] = 0xd3;
      scratchView.setBigInt64(pos + 1, BigInt(value));
    } else {
      b[pos] = 0xcf;
      scratchView.setBigUint64(pos + 1, BigInt(value));
    }
    return pos + 9;
  }
  b[pos] = 0xcb;
  scratchView.setFloat64(pos + 1, value);
  return pos + 9;
}

function isShortAscii(text: string): boolean {
  if (text.length > MAX_ASCII_SYMBOL) return false;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) return false;
  }
  return true;
}

/** The MessagePack encoding of one `ticks` entry; same fields and order as `encodeUpdateJson`. */
export function encodeUpdateMsgpack(u: QuoteUpdate): Uint8Array {
  const end = writeUpdateFields(u, true);
  if (end < 0) return packMsgpack(pickQuoteUpdate(u));
  const out = Buffer.allocUnsafe(end);
  scratch.copy(out, 0, 0, end);
  return out;
}

/**
 * An entry of `encodeUpdateMsgpack` without its last key and value (`n`): the map header still counts
 * 14 entries, and `writeUpdateTailMsgpack` completes it for each subscriber's count of ticks.
 */
export function encodeUpdateMsgpackBody(u: QuoteUpdate): Uint8Array {
  const end = writeUpdateFields(u, false);
  if (end >= 0) {
    const out = Buffer.allocUnsafe(end);
    scratch.copy(out, 0, 0, end);
    return out;
  }
  // msgpackr writes `n` last, as key (2 bytes) and the fixint 0 (1 byte): dropping them leaves the body.
  const whole = packMsgpack({ ...pickQuoteUpdate(u), n: 0 });
  return whole.subarray(0, whole.length - 3);
}

/** Bytes `writeUpdateTailMsgpack` writes for `n`. */
export function updateTailMsgpackSize(n: number): number {
  return KEY_BYTES[13]!.length + writeNumber(0, n);
}

/** Writes the key `n` and its value at `pos` (after a body of `encodeUpdateMsgpackBody`). */
export function writeUpdateTailMsgpack(out: Buffer, pos: number, n: number): number {
  const key = KEY_BYTES[13]!;
  for (let i = 0; i < key.length; i++) out[pos + i] = key[i]!;
  const size = writeNumber(0, n);
  scratch.copy(out, pos + key.length, 0, size);
  return pos + key.length + size;
}

/** True when every numeric field of an update is a number: the precondition of the byte-level encoders. */
function numericFields(u: QuoteUpdate): boolean {
  return (
    typeof u.seq === 'number' &&
    typeof u.ts === 'number' &&
    typeof u.bid === 'number' &&
    typeof u.ask === 'number' &&
    typeof u.bidSize === 'number' &&
    typeof u.askSize === 'number' &&
    typeof u.last === 'number' &&
    typeof u.lastSize === 'number' &&
    typeof u.volume === 'number' &&
    typeof u.open === 'number' &&
    typeof u.high === 'number' &&
    typeof u.low === 'number'
  );
}

/**
 * Writes an update as MessagePack into the scratch buffer, `n` included or not; returns the end, or -1
 * when it needs msgpackr itself (non-ASCII or very long symbols, fields that are not numbers).
 */
function writeUpdateFields(u: QuoteUpdate, withN: boolean): number {
  const symbol = u.symbol;
  if (typeof symbol !== 'string' || !isShortAscii(symbol)) return -1;
  const seq = u.seq;
  const ts = u.ts;
  const bid = u.bid;
  const ask = u.ask;
  const bidSize = u.bidSize;
  const askSize = u.askSize;
  const last = u.last;
  const lastSize = u.lastSize;
  const volume = u.volume;
  const open = u.open;
  const high = u.high;
  const low = u.low;
  const n = u.n;
  if (!numericFields(u) || (withN && typeof n !== 'number')) {
    return -1;
  }

  const b = scratch;
  b[0] = 0xde;
  b[1] = 0;
  b[2] = UPDATE_KEYS.length;
  let pos = writeKey(3, 0);
  const length = symbol.length;
  if (length < 32) {
    b[pos++] = 0xa0 | length;
  } else {
    b[pos++] = 0xd9;
    b[pos++] = length;
  }
  for (let i = 0; i < length; i++) b[pos++] = symbol.charCodeAt(i);
  pos = writeNumber(writeKey(pos, 1), seq);
  pos = writeNumber(writeKey(pos, 2), ts);
  pos = writeNumber(writeKey(pos, 3), bid);
  pos = writeNumber(writeKey(pos, 4), ask);
  pos = writeNumber(writeKey(pos, 5), bidSize);
  pos = writeNumber(writeKey(pos, 6), askSize);
  pos = writeNumber(writeKey(pos, 7), last);
  pos = writeNumber(writeKey(pos, 8), lastSize);
  pos = writeNumber(writeKey(pos, 9), volume);
  pos = writeNumber(writeKey(pos, 10), open);
  pos = writeNumber(writeKey(pos, 11), high);
  pos = writeNumber(writeKey(pos, 12), low);
  if (withN) pos = writeNumber(writeKey(pos, 13), n);
  return pos;
}

// The prefix msgpackr writes for `{ type: 'ticks', updates: [...] }`: map16 of 2 entries, "type", "ticks",
// "updates". Writing the same bytes keeps framed output byte-identical to encoding the whole message.
const TICKS_PREFIX = Uint8Array.from([
  0xde, 0x00, 0x02, 0xa4, 0x74, 0x79, 0x70, 0x65, 0xa5, 0x74, 0x69, 0x63, 0x6b, 0x73, 0xa7, 0x75, 0x70, 0x64,
  0x61, 0x74, 0x65, 0x73,
]);

/**
 * A `ticks` frame from entries made by `encodeUpdateMsgpack`: one allocation, parts copied once.
 * `headroom` bytes are left free before the message, for a transport header written in place.
 */
export function frameTicksMsgpack(parts: readonly Uint8Array[], headroom = 0): Uint8Array {
  const count = parts.length;
  let size = headroom + TICKS_PREFIX.length + msgpackArrayHeaderSize(count);
  for (let i = 0; i < count; i++) size += parts[i]!.length;

  const out = Buffer.allocUnsafe(size);
  out.set(TICKS_PREFIX, headroom);
  let pos = writeMsgpackArrayHeader(out, headroom + TICKS_PREFIX.length, count);
  for (let i = 0; i < count; i++) {
    const part = parts[i]!;
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

// ---------------------------------------------------------------- lists of shared bodies

/**
 * A list of `ticks` entries made of shared bodies (`encodeUpdate…Body`, as bytes) and each entry's own
 * `n`: the bodies are encoded once per update, the lists once per connection, into one buffer.
 */
export interface UpdateList {
  readonly bodies: readonly Uint8Array[];
  readonly ns: readonly number[];
  /** Entries used, from the start of `bodies` and `ns` (the arrays may be longer, and reused). */
  readonly count: number;
}

/** Bytes of the JSON array `[entry,entry,…]` of a list. */
export function updateListJsonSize(list: UpdateList): number {
  const { bodies, ns, count } = list;
  let size = 2 + Math.max(0, count - 1);
  for (let i = 0; i < count; i++) size += bodies[i]!.length + updateTailJsonSize(ns[i]!);
  return size;
}

/** Writes the JSON array of a list at `pos`; returns the position after it. */
export function writeUpdateListJson(out: Buffer, pos: number, list: UpdateList): number {
  const { bodies, ns, count } = list;
  let at = pos;
  out[at++] = 0x5b; // [
  for (let i = 0; i < count; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    const body = bodies[i]!;
    out.set(body, at);
    at = writeUpdateTailJson(out, at + body.length, ns[i]!);
  }
  out[at++] = 0x5d; // ]
  return at;
}

function msgpackArrayHeaderSize(count: number): number {
  if (count < 16) return 1;
  return count < 0x10000 ? 3 : 5;
}

function writeMsgpackArrayHeader(out: Uint8Array, pos: number, count: number): number {
  if (count < 16) {
    out[pos] = 0x90 | count;
    return pos + 1;
  }
  if (count < 0x10000) {
    out[pos] = 0xdc;
    out[pos + 1] = count >>> 8;
    out[pos + 2] = count & 0xff;
    return pos + 3;
  }
  out[pos] = 0xdd;
  out[pos + 1] = count >>> 24;
  out[pos + 2] = (count >>> 16) & 0xff;
  out[pos + 3] = (count >>> 8) & 0xff;
  out[pos + 4] = count & 0xff;
  return pos + 5;
}

/** Bytes of the MessagePack array of a list. */
export function updateListMsgpackSize(list: UpdateList): number {
  const { bodies, ns, count } = list;
  let size = msgpackArrayHeaderSize(count);
  for (let i = 0; i < count; i++) size += bodies[i]!.length + updateTailMsgpackSize(ns[i]!);
  return size;
}

/** Writes the MessagePack array of a list at `pos`; returns the position after it. */
export function writeUpdateListMsgpack(out: Buffer, pos: number, list: UpdateList): number {
  const { bodies, ns, count } = list;
  let at = writeMsgpackArrayHeader(out, pos, count);
  for (let i = 0; i < count; i++) {
    const body = bodies[i]!;
    out.set(body, at);
    at = writeUpdateTailMsgpack(out, at + body.length, ns[i]!);
  }
  return at;
}

/** The bytes msgpackr writes for `{ type: 'ticks', updates: ` before the array (see TICKS_PREFIX). */
export function ticksMsgpackPrefix(): Uint8Array {
  return TICKS_PREFIX.slice();
}
