import fc from 'fast-check';
import { Unpackr } from 'msgpackr';
import {
  codecForSubprotocol,
  encodeUpdateJson,
  encodeUpdateJsonBody,
  encodeUpdateJsonBodyBytes,
  encodeUpdateMsgpack,
  encodeUpdateMsgpackBody,
  frameTicksJson,
  frameTicksMsgpack,
  jsonCodec,
  msgpackCodec,
  pickQuoteUpdate,
  type QuoteUpdate,
  SUBPROTOCOL_JSON,
  SUBPROTOCOL_MSGPACK,
  ticksMsgpackPrefix,
  updateListJsonSize,
  updateListMsgpackSize,
  writeUpdateListJson,
  writeUpdateListMsgpack,
} from '../src';
import { quoteUpdate, serverMessage } from './arbitraries';

const update: QuoteUpdate = {
  symbol: 'AAPL',
  seq: 1234,
  ts: 1764000000000,
  bid: 189.12,
  ask: 189.14,
  bidSize: 300,
  askSize: 100,
  last: 189.13,
  lastSize: 50,
  volume: 1234567,
  open: 188,
  high: 190.2,
  low: 187.5,
  n: 6,
};

/** A reader that knows nothing of msgpackr's own extensions, like a client library would. */
const strictReader = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

describe('codecForSubprotocol', () => {
  it.each<[string | undefined, unknown]>([
    [undefined, jsonCodec],
    ['', jsonCodec],
    [SUBPROTOCOL_JSON, jsonCodec],
    [SUBPROTOCOL_MSGPACK, msgpackCodec],
    ['tickhub.v2.json', undefined],
    ['json', undefined],
  ])('%p', (name, codec) => {
    expect(codecForSubprotocol(name)).toBe(codec);
  });

  it('describes each codec', () => {
    expect(jsonCodec).toMatchObject({ subprotocol: SUBPROTOCOL_JSON, binary: false });
    expect(msgpackCodec).toMatchObject({ subprotocol: SUBPROTOCOL_MSGPACK, binary: true });
  });
});

describe('server messages', () => {
  it('round-trip through both codecs', () => {
    fc.assert(
      fc.property(serverMessage, (message) => {
        const text = jsonCodec.encode(message);
        expect(typeof text).toBe('string');
        expect(jsonCodec.decode(text)).toEqual(message);
        const bytes = msgpackCodec.encode(message);
        expect(bytes).toBeInstanceOf(Uint8Array);
        expect(msgpackCodec.decode(bytes)).toEqual(message);
      }),
      { numRuns: 3_000 },
    );
  });

  it('MessagePack output uses plain maps that a generic reader decodes', () => {
    const bytes = msgpackCodec.encode({ type: 'ticks', updates: [update, update] }) as Uint8Array;
    expect(strictReader.unpack(bytes)).toEqual({ type: 'ticks', updates: [update, update] });
    // No msgpackr record extension (0xd4..0xd8/0xc7..0xc9 with type 0x72) anywhere in the frame.
    expect(Buffer.from(bytes).includes(Buffer.from([0xd4, 0x72]))).toBe(false);
  });

  it('earlier MessagePack frames stay intact after later encodes', () => {
    const first = msgpackCodec.encode({ type: 'pong', serverTime: 1 }) as Uint8Array;
    const copy = Uint8Array.from(first);
    for (let i = 0; i < 10_000; i++)
      msgpackCodec.encode({ type: 'pong', serverTime: i, pad: 'x'.repeat(i % 300) });
    expect(Buffer.compare(first, copy)).toBe(0);
  });
});

describe('encode once, write many', () => {
  it('encodes an update as exactly its protocol fields', () => {
    const withExtra = { ...update, internal: 'not on the wire', conflated: true } as QuoteUpdate;
    expect(JSON.parse(encodeUpdateJson(withExtra))).toEqual(update);
    expect(msgpackCodec.decode(encodeUpdateMsgpack(withExtra))).toEqual(update);
  });

  it('writes non-finite numbers as null, like JSON.stringify', () => {
    const odd = { ...update, bid: Number.NaN, ask: Number.POSITIVE_INFINITY };
    expect(encodeUpdateJson(odd)).toBe(JSON.stringify(pickQuoteUpdate(odd)));
  });

  it('frames JSON ticks identical to encoding the whole message', () => {
    fc.assert(
      fc.property(fc.array(quoteUpdate, { maxLength: 30 }), (updates) => {
        const framed = frameTicksJson(updates.map(encodeUpdateJson));
        const plain = { type: 'ticks', updates: updates.map(pickQuoteUpdate) };
        expect(framed).toBe(JSON.stringify(plain));
        expect(jsonCodec.decode(framed)).toEqual(plain);
      }),
      { numRuns: 2_000 },
    );
  });

  it('frames MessagePack ticks byte-identical to encoding the whole message', () => {
    fc.assert(
      fc.property(fc.array(quoteUpdate, { maxLength: 40 }), (updates) => {
        const framed = frameTicksMsgpack(updates.map(encodeUpdateMsgpack));
        const plain = { type: 'ticks', updates: updates.map(pickQuoteUpdate) };
        expect(Buffer.compare(framed, msgpackCodec.encode(plain) as Uint8Array)).toBe(0);
        expect(strictReader.unpack(framed)).toEqual(plain);
        // With headroom: the same bytes after it.
        const roomy = frameTicksMsgpack(updates.map(encodeUpdateMsgpack), 10);
        expect(Buffer.compare(roomy.subarray(10), framed)).toBe(0);
      }),
      { numRuns: 1_000 },
    );
  });

  it.each([15, 16, 17, 65535, 65536])('frames %i MessagePack updates across array header sizes', (count) => {
    const updates = Array.from({ length: count }, (_, i) => ({
      ...update,
      seq: i,
      bid: update.bid + i / 100,
    }));
    const framed = frameTicksMsgpack(updates.map(encodeUpdateMsgpack));
    const plain = { type: 'ticks', updates };
    expect(Buffer.compare(framed, msgpackCodec.encode(plain) as Uint8Array)).toBe(0);
    expect(strictReader.unpack(framed)).toEqual(plain);
  });

  it('encodes updates byte-identical to msgpackr for every symbol length and number range', () => {
    const edgeNumbers = fc.constantFrom(
      0,
      -0,
      1,
      0x1f,
      0x7f,
      0x80,
      0xff,
      0x100,
      0xffff,
      0x10000,
      0xffffffff,
      0x100000000,
      -1,
      -0x20,
      -0x21,
      -0x80,
      -0x81,
      -0x8000,
      -0x8001,
      -0x80000000,
      -0x80000001,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      0.5,
      -1.25,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.MIN_VALUE,
    );
    const number = fc.oneof(edgeNumbers, fc.integer(), fc.double(), fc.maxSafeInteger());
    const anySymbol = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'ABCXYZ019./-_'), minLength: 1, maxLength: 300, size: 'max' }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    );
    const anyUpdate = fc.record({
      symbol: anySymbol,
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
    });
    fc.assert(
      fc.property(anyUpdate, (u) => {
        const fast = encodeUpdateMsgpack(u);
        expect(Buffer.compare(fast, msgpackCodec.encode(pickQuoteUpdate(u)) as Uint8Array)).toBe(0);
      }),
      { numRuns: 5_000 },
    );
  });

  it('encodes updates whose fields are not numbers through the general encoder', () => {
    const odd = { ...update, seq: '12' as unknown as number };
    expect(msgpackCodec.decode(encodeUpdateMsgpack(odd))).toEqual({ ...update, seq: '12' });
  });

  it('returns MessagePack updates that later encodes do not overwrite', () => {
    const first = encodeUpdateMsgpack(update);
    const copy = Uint8Array.from(first);
    for (let i = 0; i < 1000; i++) encodeUpdateMsgpack({ ...update, symbol: `S${i}`, seq: i });
    expect(Buffer.compare(first, copy)).toBe(0);
  });

  it('writes lists of shared bodies with their own n exactly as the whole message', () => {
    const counts = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.nat(), fc.constant(2 ** 40));
    fc.assert(
      fc.property(fc.array(fc.tuple(quoteUpdate, counts), { maxLength: 40 }), (entries) => {
        const updates = entries.map(([u, n]) => ({ ...pickQuoteUpdate(u), n }));
        const list = {
          // Longer arrays than `count`: reused scratch arrays hold leftovers past it.
          bodies: [...entries.map(([u]) => Buffer.from(encodeUpdateJsonBody(u))), Buffer.from('junk')],
          ns: [...entries.map(([, n]) => n), 7],
          count: entries.length,
        };
        const json = Buffer.alloc(updateListJsonSize(list) + 2);
        expect(writeUpdateListJson(json, 1, list)).toBe(json.length - 1);
        expect(json.subarray(1, -1).toString()).toBe(JSON.stringify(updates));
        const packed = { ...list, bodies: entries.map(([u]) => encodeUpdateMsgpackBody(u)) };
        const prefix = ticksMsgpackPrefix();
        const frame = Buffer.alloc(prefix.length + updateListMsgpackSize(packed));
        frame.set(prefix, 0);
        expect(writeUpdateListMsgpack(frame, prefix.length, packed)).toBe(frame.length);
        const plain = { type: 'ticks', updates };
        expect(Buffer.compare(frame, msgpackCodec.encode(plain) as Uint8Array)).toBe(0);
      }),
      { numRuns: 1_000 },
    );
  });

  it('writes JSON bodies as bytes exactly as the text of encodeUpdateJsonBody', () => {
    const numbers = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.constantFrom(0, -0, 2 ** 53 - 1, -(2 ** 53), 2 ** 53, 1e21, 5e-324, Number.NaN, -Infinity),
    );
    const symbols = fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom('A"B', 'C\\D', 'é', 'x\n'));
    fc.assert(
      fc.property(quoteUpdate, symbols, numbers, numbers, (u, symbol, a, b) => {
        for (const v of [u, { ...u, symbol, bid: a, volume: b, seq: b, low: a }]) {
          expect(encodeUpdateJsonBodyBytes(v).toString('utf8')).toBe(encodeUpdateJsonBody(v));
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it('writes the body of an update msgpackr cannot take the fast way for', () => {
    const odd = { ...update, symbol: 'Ünïcode', seq: '12' as unknown as number };
    const body = encodeUpdateMsgpackBody(odd);
    const frame = Buffer.alloc(1 + body.length + 3);
    const list = { bodies: [body], ns: [5], count: 1 };
    expect(writeUpdateListMsgpack(frame, 0, list)).toBe(updateListMsgpackSize(list));
    expect(msgpackCodec.decode(frame)).toEqual([{ ...odd, n: 5 }]);
  });

  it('frames an empty batch', () => {
    expect(frameTicksJson([])).toBe('{"type":"ticks","updates":[]}');
    expect(msgpackCodec.decode(frameTicksMsgpack([]))).toEqual({ type: 'ticks', updates: [] });
  });
});
