import fc from 'fast-check';
import {
  decodeTickRecord,
  encodeTickRecord,
  type Quote,
  readTickRecordSeq,
  TICK_HEADER_PRODUCED_AT,
  TICK_RECORD_VERSION,
  TickRecordError,
  widenIntegers,
} from '../src';
import { quote, quoteUpdate, safeText } from './arbitraries';

const aapl: Quote = {
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
};

const anyDouble = fc.double({ noNaN: true, noDefaultInfinity: true });

describe('tick record', () => {
  it('has the documented layout', () => {
    const bytes = encodeTickRecord(aapl);
    expect(bytes.length).toBe(3 + 4 + 12 * 8);
    expect(bytes[0]).toBe(TICK_RECORD_VERSION);
    expect(bytes[1]).toBe(0);
    expect(bytes[2]).toBe(4);
    expect(bytes.subarray(3, 7).toString('utf8')).toBe('AAPL');
    expect(bytes.readDoubleLE(7)).toBe(1234);
    expect(bytes.readDoubleLE(7 + 8)).toBe(1764000000000);
    expect(bytes.readDoubleLE(7 + 11 * 8)).toBe(187.5);

    const withN = encodeTickRecord({ ...aapl, n: 6 });
    expect(withN.length).toBe(bytes.length + 8);
    expect(withN[1]).toBe(1);
    expect(withN.readDoubleLE(7 + 12 * 8)).toBe(6);
    expect(TICK_HEADER_PRODUCED_AT).toBe('produced-at');
  });

  it("writes an explicit n instead of the input's own, byte for byte as a copy with that n", () => {
    expect(encodeTickRecord(aapl, 7)).toEqual(encodeTickRecord({ ...aapl, n: 7 }));
    expect(encodeTickRecord({ ...aapl, n: 2 }, 9)).toEqual(encodeTickRecord({ ...aapl, n: 9 }));
    expect(decodeTickRecord(encodeTickRecord(aapl, 3))).toEqual({ ...aapl, n: 3 });
    expect(() => encodeTickRecord(aapl, Number.NaN)).toThrow(TickRecordError);
  });

  it('decodes a quote with n = 1', () => {
    expect(decodeTickRecord(encodeTickRecord(aapl))).toEqual({ ...aapl, n: 1 });
  });

  it('decodes to a plain object, fields in the order of a Quote then n, that widenIntegers widens', () => {
    const decoded = decodeTickRecord(encodeTickRecord(aapl));
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toEqual([...Object.keys(aapl), 'n']);
    expect(JSON.stringify(decoded)).toBe(JSON.stringify({ ...aapl, n: 1 }));
    expect((widenIntegers(decoded) as { ts: unknown }).ts).toBe(BigInt(aapl.ts));
  });

  it('round-trips arbitrary quotes exactly', () => {
    const exactQuote = fc.record({
      symbol: fc.oneof(safeText(1, 32), fc.string({ unit: 'binary', minLength: 1, maxLength: 60 })),
      seq: anyDouble,
      ts: anyDouble,
      bid: anyDouble,
      ask: anyDouble,
      bidSize: anyDouble,
      askSize: anyDouble,
      last: anyDouble,
      lastSize: anyDouble,
      volume: anyDouble,
      open: anyDouble,
      high: anyDouble,
      low: anyDouble,
    });
    fc.assert(
      fc.property(exactQuote, fc.option(anyDouble, { nil: undefined }), (q, n) => {
        const input = n === undefined ? q : { ...q, n };
        const decoded = decodeTickRecord(encodeTickRecord(input));
        // toEqual tells -0 from 0, so this also checks signs survive.
        expect(decoded).toEqual({ ...q, n: n ?? 1 });
      }),
      { numRuns: 5_000 },
    );
  });

  it('round-trips safe integers for seq, ts and volume', () => {
    fc.assert(
      fc.property(
        quote,
        fc.maxSafeInteger(),
        fc.maxSafeInteger(),
        fc.maxSafeInteger(),
        (q, seq, ts, volume) => {
          const decoded = decodeTickRecord(encodeTickRecord({ ...q, seq, ts, volume }));
          expect([decoded.seq, decoded.ts, decoded.volume]).toEqual([seq, ts, volume]);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('decodes from a Uint8Array that is a view into a larger buffer', () => {
    const record = encodeTickRecord({ ...aapl, n: 3 });
    const big = new Uint8Array(record.length + 13);
    big.set(record, 5);
    expect(decodeTickRecord(big.subarray(5, 5 + record.length))).toEqual({ ...aapl, n: 3 });
  });

  it('decodes non-ASCII symbols', () => {
    const q = { ...aapl, symbol: 'ÆØÅ株🙂' };
    expect(decodeTickRecord(encodeTickRecord(q)).symbol).toBe('ÆØÅ株🙂');
  });

  describe('rejects malformed records with TickRecordError', () => {
    const good = encodeTickRecord(aapl);
    const mutate = (f: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(good);
      f(b);
      return b;
    };
    it.each<[string, Uint8Array, RegExp]>([
      ['empty', new Uint8Array(0), /too short/],
      ['two bytes', Uint8Array.from([1, 0]), /too short/],
      ['version 0', mutate((b) => (b[0] = 0)), /unknown tick record version 0/],
      ['version 2', mutate((b) => (b[0] = 2)), /unknown tick record version 2/],
      ['unknown flags', mutate((b) => (b[1] = 0x82)), /flags/],
      ['empty symbol', mutate((b) => (b[2] = 0)), /empty symbol/],
      ['symbol length past the end', mutate((b) => (b[2] = 200)), /bytes, expected/],
      ['truncated', good.subarray(0, good.length - 1), /bytes, expected/],
      ['trailing bytes', Buffer.concat([good, Buffer.from([0])]), /bytes, expected/],
      ['n flag without n', mutate((b) => (b[1] = 1)), /bytes, expected/],
      ['invalid UTF-8 symbol', mutate((b) => (b[3] = 0xff)), /UTF-8/],
      ['NaN price', mutate((b) => b.writeDoubleLE(Number.NaN, 7 + 16)), /non-finite/],
      ['Infinity volume', mutate((b) => b.writeDoubleLE(Number.POSITIVE_INFINITY, 7 + 64)), /non-finite/],
    ])('%s', (_name, bytes, message) => {
      expect(() => decodeTickRecord(bytes)).toThrow(TickRecordError);
      expect(() => decodeTickRecord(bytes)).toThrow(message);
    });

    it('not bytes at all', () => {
      expect(() => decodeTickRecord('hello' as unknown as Uint8Array)).toThrow(TickRecordError);
    });

    it('random bytes either decode to finite numbers or throw TickRecordError', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 160 }), (bytes) => {
          try {
            const u = decodeTickRecord(bytes);
            expect(Number.isFinite(u.seq) && u.symbol.length > 0).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(TickRecordError);
          }
        }),
        { numRuns: 10_000 },
      );
    });

    it('mutated records either decode or throw TickRecordError', () => {
      fc.assert(
        fc.property(quoteUpdate, fc.nat(), fc.integer({ min: 0, max: 255 }), (u, at, value) => {
          const bytes = encodeTickRecord(u);
          bytes[at % bytes.length] = value;
          try {
            decodeTickRecord(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(TickRecordError);
          }
        }),
        { numRuns: 5_000 },
      );
    });
  });

  describe('refuses to encode what it cannot decode', () => {
    it.each<[string, Quote, RegExp]>([
      ['empty symbol', { ...aapl, symbol: '' }, /non-empty/],
      ['lone surrogate', { ...aapl, symbol: 'A\ud800' }, /well-formed/],
      ['symbol over 255 bytes', { ...aapl, symbol: '€'.repeat(86) }, /255 bytes/],
      ['NaN bid', { ...aapl, bid: Number.NaN }, /"bid"/],
      ['Infinity ts', { ...aapl, ts: Number.POSITIVE_INFINITY }, /"ts"/],
      ['string seq', { ...aapl, seq: '1' as unknown as number }, /"seq"/],
    ])('%s', (_name, q, message) => {
      expect(() => encodeTickRecord(q)).toThrow(TickRecordError);
      expect(() => encodeTickRecord(q)).toThrow(message);
    });

    it('NaN n', () => {
      expect(() => encodeTickRecord({ ...aapl, n: Number.NaN })).toThrow(/"n"/);
    });
  });
});

describe('readTickRecordSeq', () => {
  it('reads the seq that decodeTickRecord reads, with or without n, from a view into a larger buffer', () => {
    fc.assert(
      fc.property(fc.oneof(quote, quoteUpdate), fc.nat(16), (q, before) => {
        const record = encodeTickRecord(q);
        const larger = new Uint8Array(before + record.length + 3);
        larger.set(record, before);
        const view = larger.subarray(before, before + record.length);
        expect(readTickRecordSeq(view)).toBe(decodeTickRecord(view).seq);
      }),
    );
  });

  it('rejects what decodeTickRecord rejects in the header, the length and the seq', () => {
    const good = encodeTickRecord(aapl);
    const bad = [
      new Uint8Array(0),
      Uint8Array.from([2, ...good.subarray(1)]),
      Uint8Array.from([1, 0x82, ...good.subarray(2)]),
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.from([0])]),
      (() => {
        const b = Buffer.from(good);
        b.writeDoubleLE(Number.NaN, 7);
        return b;
      })(),
    ];
    for (const bytes of bad) expect(() => readTickRecordSeq(bytes)).toThrow(TickRecordError);
  });
});
