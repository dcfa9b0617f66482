import fc from 'fast-check';
import {
  decodeClientFrame,
  jsonCodec,
  MAX_REQUEST_ID_LENGTH,
  MAX_SYMBOL_LENGTH,
  MAX_SYMBOLS_PER_REQUEST,
  msgpackCodec,
  type ParseResult,
  parseClientRequest,
} from '../src';
import { clientRequest } from './arbitraries';

function expectWellFormed(result: ParseResult): void {
  if (result.ok) {
    expect(['subscribe', 'unsubscribe', 'ping', 'symbols', 'history']).toContain(result.request.type);
  } else {
    expect(['BAD_REQUEST', 'UNKNOWN_TYPE']).toContain(result.code);
    expect(typeof result.message).toBe('string');
    expect(result.message.length).toBeGreaterThan(0);
  }
}

describe('parseClientRequest: accepted requests', () => {
  it.each<[string, unknown, unknown]>([
    [
      'subscribe with all fields',
      { type: 'subscribe', id: '1', symbols: ['AAPL', 'MSFT'], maxHz: 4 },
      { type: 'subscribe', id: '1', symbols: ['AAPL', 'MSFT'], maxHz: 4 },
    ],
    [
      'subscribe without id and maxHz',
      { type: 'subscribe', symbols: ['AAPL'] },
      { type: 'subscribe', symbols: ['AAPL'] },
    ],
    [
      'maxHz outside the limits (range is the gateway’s job)',
      { type: 'subscribe', symbols: ['AAPL'], maxHz: 1000 },
      { type: 'subscribe', symbols: ['AAPL'], maxHz: 1000 },
    ],
    [
      'subscribe aligned (no leading edge)',
      { type: 'subscribe', symbols: ['AAPL'], maxHz: 4, leading: false },
      { type: 'subscribe', symbols: ['AAPL'], maxHz: 4, leading: false },
    ],
    [
      'subscribe with the leading edge asked for',
      { type: 'subscribe', symbols: ['AAPL'], leading: true },
      { type: 'subscribe', symbols: ['AAPL'], leading: true },
    ],
    [
      'unsubscribe',
      { type: 'unsubscribe', id: '2', symbols: ['AAPL'] },
      { type: 'unsubscribe', id: '2', symbols: ['AAPL'] },
    ],
    ['ping', { type: 'ping', id: '3' }, { type: 'ping', id: '3' }],
    ['symbols', { type: 'symbols', id: '4' }, { type: 'symbols', id: '4' }],
    ['empty id', { type: 'ping', id: '' }, { type: 'ping', id: '' }],
    ['id of 64 characters', { type: 'ping', id: 'i'.repeat(64) }, { type: 'ping', id: 'i'.repeat(64) }],
    [
      'symbol of 32 characters',
      { type: 'unsubscribe', symbols: ['S'.repeat(32)] },
      { type: 'unsubscribe', symbols: ['S'.repeat(32)] },
    ],
    [
      'non-ASCII symbol',
      { type: 'unsubscribe', symbols: ['日本株🙂'] },
      { type: 'unsubscribe', symbols: ['日本株🙂'] },
    ],
    [
      'extra fields are dropped',
      { type: 'subscribe', symbols: ['A'], extra: 1, maxHz: 2, nested: { deep: true } },
      { type: 'subscribe', symbols: ['A'], maxHz: 2 },
    ],
    ['symbols on ping are ignored', { type: 'ping', symbols: 42 }, { type: 'ping' }],
    [
      'duplicates are kept (deduplication is the gateway’s job)',
      { type: 'subscribe', symbols: ['A', 'A'] },
      { type: 'subscribe', symbols: ['A', 'A'] },
    ],
  ])('%s', (_name, input, expected) => {
    const result = parseClientRequest(input);
    expect(result).toEqual({ ok: true, request: expected });
  });

  it('accepts the most symbols a request may name', () => {
    const symbols = Array.from({ length: MAX_SYMBOLS_PER_REQUEST }, (_, i) => `S${i}`);
    const result = parseClientRequest({ type: 'subscribe', symbols });
    expect(result.ok && result.request.type === 'subscribe' && result.request.symbols).toEqual(symbols);
  });

  it('returns fresh objects that share nothing with the input', () => {
    const input = { type: 'subscribe', symbols: ['AAPL'] };
    const result = parseClientRequest(input);
    if (!result.ok || result.request.type !== 'subscribe') throw new Error('expected a subscribe');
    expect(result.request).not.toBe(input);
    expect(result.request.symbols).not.toBe(input.symbols);
    expect(Object.getPrototypeOf(result.request)).toBe(Object.prototype);
  });
});

describe('parseClientRequest: rejected requests', () => {
  const longId = 'i'.repeat(MAX_REQUEST_ID_LENGTH + 1);
  it.each<[string, unknown, 'BAD_REQUEST' | 'UNKNOWN_TYPE', string | undefined, RegExp]>([
    ['null', null, 'BAD_REQUEST', undefined, /object/],
    ['a number', 42, 'BAD_REQUEST', undefined, /object/],
    ['a string', 'subscribe', 'BAD_REQUEST', undefined, /object/],
    ['an array', [{ type: 'ping' }], 'BAD_REQUEST', undefined, /object/],
    ['no type', { id: '1' }, 'BAD_REQUEST', '1', /"type"/],
    ['numeric type', { type: 1, id: '1' }, 'BAD_REQUEST', '1', /"type"/],
    ['unknown type', { type: 'hello', id: '7' }, 'UNKNOWN_TYPE', '7', /unknown request type "hello"/],
    ['type differs in case', { type: 'PING' }, 'UNKNOWN_TYPE', undefined, /unknown request type/],
    ['server message type', { type: 'welcome' }, 'UNKNOWN_TYPE', undefined, /unknown/],
    ['id too long', { type: 'ping', id: longId }, 'BAD_REQUEST', undefined, /"id"/],
    ['numeric id', { type: 'ping', id: 5 }, 'BAD_REQUEST', undefined, /"id"/],
    ['null id', { type: 'ping', id: null }, 'BAD_REQUEST', undefined, /"id"/],
    ['id with control character', { type: 'ping', id: 'a\nb' }, 'BAD_REQUEST', undefined, /"id"/],
    ['id with lone surrogate', { type: 'ping', id: 'a\ud800' }, 'BAD_REQUEST', undefined, /"id"/],
    ['subscribe without symbols', { type: 'subscribe', id: 'x' }, 'BAD_REQUEST', 'x', /"symbols"/],
    [
      'leading not a boolean',
      { type: 'subscribe', id: 'l', symbols: ['AAPL'], leading: 'no' },
      'BAD_REQUEST',
      'l',
      /"leading"/,
    ],
    ['symbols not an array', { type: 'subscribe', symbols: 'AAPL' }, 'BAD_REQUEST', undefined, /"symbols"/],
    ['symbols empty', { type: 'unsubscribe', symbols: [] }, 'BAD_REQUEST', undefined, /empty/],
    [
      'symbol not a string',
      { type: 'subscribe', symbols: ['A', 1] },
      'BAD_REQUEST',
      undefined,
      /symbols\[1\]/,
    ],
    ['symbol null', { type: 'subscribe', symbols: [null] }, 'BAD_REQUEST', undefined, /symbols\[0\]/],
    ['empty symbol', { type: 'subscribe', symbols: [''] }, 'BAD_REQUEST', undefined, /symbols\[0\]/],
    [
      'symbol too long',
      { type: 'subscribe', symbols: ['S'.repeat(MAX_SYMBOL_LENGTH + 1)] },
      'BAD_REQUEST',
      undefined,
      /symbols\[0\]/,
    ],
    ['symbol with NUL', { type: 'subscribe', symbols: ['A\u0000'] }, 'BAD_REQUEST', undefined, /not allowed/],
    [
      'symbol with lone surrogate',
      { type: 'subscribe', symbols: ['\udc00'] },
      'BAD_REQUEST',
      undefined,
      /not allowed/,
    ],
    [
      'too many symbols',
      { type: 'subscribe', symbols: Array.from({ length: MAX_SYMBOLS_PER_REQUEST + 1 }, (_, i) => `S${i}`) },
      'BAD_REQUEST',
      undefined,
      /at most/,
    ],
    [
      'maxHz a string',
      { type: 'subscribe', symbols: ['A'], maxHz: '4' },
      'BAD_REQUEST',
      undefined,
      /"maxHz"/,
    ],
    ['maxHz null', { type: 'subscribe', symbols: ['A'], maxHz: null }, 'BAD_REQUEST', undefined, /"maxHz"/],
    [
      'maxHz NaN',
      { type: 'subscribe', symbols: ['A'], maxHz: Number.NaN },
      'BAD_REQUEST',
      undefined,
      /"maxHz"/,
    ],
    [
      'maxHz Infinity',
      { type: 'subscribe', symbols: ['A'], maxHz: Number.POSITIVE_INFINITY },
      'BAD_REQUEST',
      undefined,
      /"maxHz"/,
    ],
    [
      'unsubscribe with bad symbols',
      { type: 'unsubscribe', id: 'u', symbols: [{}] },
      'BAD_REQUEST',
      'u',
      /symbols/,
    ],
  ])('%s', (_name, input, code, id, message) => {
    const result = parseClientRequest(input);
    if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.request)}`);
    expect(result.code).toBe(code);
    expect(result.id).toBe(id);
    expect(result.message).toMatch(message);
  });

  it('does not echo an unknown type of arbitrary length', () => {
    const result = parseClientRequest({ type: 'x'.repeat(10_000) });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message.length).toBeLessThan(100);
  });

  it('ignores fields inherited from a prototype', () => {
    const proto = { type: 'ping' };
    expect(parseClientRequest(Object.create(proto)).ok).toBe(false);
    const withSymbols = Object.assign(Object.create({ symbols: ['AAPL'] }), { type: 'subscribe' });
    expect(parseClientRequest(withSymbols).ok).toBe(false);
  });

  it('never lets __proto__ or constructor keys pollute prototypes', () => {
    const frames = [
      '{"type":"subscribe","symbols":["A"],"__proto__":{"polluted":"yes","type":"x"}}',
      '{"__proto__":{"type":"ping"}}',
      '{"type":"ping","constructor":{"prototype":{"polluted":"yes"}}}',
      '{"type":"subscribe","symbols":{"__proto__":["A"]}}',
    ];
    const results = frames.map((f) => decodeClientFrame(f, jsonCodec));
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false]);
    for (const r of results) {
      if (r.ok) expect(Object.keys(r.request).sort()).not.toContain('__proto__');
    }
    const packed = msgpackCodec.encode(JSON.parse(frames[0]!)) as Uint8Array;
    expect(decodeClientFrame(packed, msgpackCodec)).toEqual({
      ok: true,
      request: { type: 'subscribe', symbols: ['A'] },
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('answers exotic objects (throwing getters, proxies) without throwing', () => {
    const getter = Object.defineProperty({}, 'type', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const proxy = new Proxy(
      {},
      {
        getOwnPropertyDescriptor() {
          throw new Error('boom');
        },
        has() {
          throw new Error('boom');
        },
      },
    );
    expect(parseClientRequest(getter)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(parseClientRequest(proxy)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
  });
});

describe('decodeClientFrame', () => {
  it('decodes JSON text frames given as strings or UTF-8 bytes', () => {
    const text = '{"type":"subscribe","id":"é","symbols":["AAPL"],"maxHz":4}';
    const expected = { ok: true, request: { type: 'subscribe', id: 'é', symbols: ['AAPL'], maxHz: 4 } };
    expect(decodeClientFrame(text, jsonCodec)).toEqual(expected);
    expect(decodeClientFrame(Buffer.from(text, 'utf8'), jsonCodec)).toEqual(expected);
    expect(decodeClientFrame(new TextEncoder().encode(text), jsonCodec)).toEqual(expected);
  });

  it.each<[string, string | Uint8Array, RegExp]>([
    ['not JSON', 'hello', /JSON/],
    ['truncated JSON', '{"type":"ping"', /JSON/],
    ['empty frame', '', /JSON/],
    ['invalid UTF-8', Uint8Array.from([0x7b, 0xff, 0x7d]), /JSON/],
    ['JSON with trailing garbage', '{"type":"ping"}x', /JSON/],
  ])('JSON codec answers %s with BAD_REQUEST', (_name, frame, message) => {
    const result = decodeClientFrame(frame, jsonCodec);
    expect(result).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it.each<[string, string | Uint8Array, RegExp]>([
    ['a text frame', '{"type":"ping"}', /binary/],
    ['truncated MessagePack', Uint8Array.from([0x82, 0xa4]), /MessagePack/],
    ['empty frame', new Uint8Array(0), /MessagePack/],
    ['trailing bytes', Uint8Array.from([0x80, 0x80]), /MessagePack/],
    // msgpackr decodes the never-used byte to a marker object, which is not a request either.
    ['reserved byte 0xc1', Uint8Array.from([0xc1]), /./],
    ['array32 claiming 4 billion entries', Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]), /MessagePack/],
    ['str32 claiming 4 GB', Uint8Array.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]), /MessagePack/],
  ])('MessagePack codec answers %s with BAD_REQUEST', (_name, frame, message) => {
    const result = decodeClientFrame(frame, msgpackCodec);
    expect(result).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it('answers a valid MessagePack value that is not a request', () => {
    expect(decodeClientFrame(Uint8Array.from([0x2a]), msgpackCodec)).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    });
    // A map with a non-string key and a type field.
    const withIntKey = Uint8Array.from([
      0x82,
      0x01,
      0x02,
      0xa4,
      ...Buffer.from('type'),
      0xa4,
      ...Buffer.from('ping'),
    ]);
    expect(decodeClientFrame(withIntKey, msgpackCodec)).toEqual({ ok: true, request: { type: 'ping' } });
  });

  it('survives deep nesting on both codecs', () => {
    const depth = 200_000;
    const jsonArrays = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const jsonObjects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    expect(decodeClientFrame(jsonArrays, jsonCodec).ok).toBe(false);
    expect(decodeClientFrame(jsonObjects, jsonCodec).ok).toBe(false);
    expect(decodeClientFrame(`{"type":"ping","x":${jsonArrays}}`, jsonCodec).ok).toBe(true);

    const nestedArrays = new Uint8Array(depth + 1).fill(0x91);
    nestedArrays[depth] = 0xc0;
    expect(decodeClientFrame(nestedArrays, msgpackCodec).ok).toBe(false);
    const nestedMaps = Buffer.concat([
      ...Array.from({ length: depth }, () => Buffer.from([0x81, 0xa1, 0x61])),
      Buffer.from([0xc0]),
    ]);
    expect(decodeClientFrame(nestedMaps, msgpackCodec).ok).toBe(false);
  });

  it('refuses object references, so a tiny frame cannot expand exponentially', () => {
    // msgpackr's id (0x69) and pointer (0x70) extensions: level k is [level k-1, pointer to level k-1].
    const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    const define = (k: number): number[] =>
      k === 0
        ? [0xd6, 0x69, ...u32(0), 0xa1, 0x78]
        : [0xd6, 0x69, ...u32(k), 0x92, ...define(k - 1), 0xd6, 0x70, ...u32(k - 1)];
    const laughs = Uint8Array.from([...define(40), 0xc0]);
    expect(laughs.length).toBeLessThan(600);
    expect(decodeClientFrame(laughs, msgpackCodec)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    const wrapped = Uint8Array.from([
      0x82,
      0xa4,
      ...Buffer.from('type'),
      0xa4,
      ...Buffer.from('ping'),
      0xa1,
      0x78,
      ...define(40),
    ]);
    expect(decodeClientFrame(wrapped, msgpackCodec)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
  });

  it('decodes normally after failures that unwind the decoder', () => {
    const deep = new Uint8Array(100_001).fill(0x91);
    deep[100_000] = 0xc0;
    expect(decodeClientFrame(deep, msgpackCodec).ok).toBe(false);
    expect(decodeClientFrame(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]), msgpackCodec).ok).toBe(false);
    const ping = msgpackCodec.encode({ type: 'ping', id: 'after' }) as Uint8Array;
    expect(decodeClientFrame(ping, msgpackCodec)).toEqual({
      ok: true,
      request: { type: 'ping', id: 'after' },
    });
  });

  it('survives huge strings', () => {
    const huge = 'A'.repeat(8 * 1024 * 1024);
    const json = JSON.stringify({ type: 'subscribe', id: huge, symbols: [huge] });
    expect(decodeClientFrame(json, jsonCodec)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    const packed = msgpackCodec.encode({ type: 'subscribe', symbols: [huge] }) as Uint8Array;
    expect(decodeClientFrame(packed, msgpackCodec)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(decodeClientFrame(JSON.stringify({ type: huge }), jsonCodec)).toMatchObject({
      ok: false,
      code: 'UNKNOWN_TYPE',
    });
  });
});

describe('parser fuzzing', () => {
  it('never throws on any value', () => {
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true }),
        (v) => {
          expectWellFormed(parseClientRequest(v));
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it('never throws on objects that look almost like requests', () => {
    const field = fc.oneof(fc.anything(), fc.string(), fc.array(fc.oneof(fc.string(), fc.anything())));
    const almost = fc.record(
      {
        type: fc.oneof(fc.constantFrom('subscribe', 'unsubscribe', 'ping', 'symbols'), fc.anything()),
        id: fc.oneof(fc.string({ maxLength: 70 }), fc.anything()),
        symbols: field,
        maxHz: fc.oneof(fc.double(), fc.anything()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(almost, (v) => {
        const result = parseClientRequest(v);
        expectWellFormed(result);
        if (result.ok) {
          const r = result.request;
          expect(Object.keys(r).every((k) => ['type', 'id', 'symbols', 'maxHz'].includes(k))).toBe(true);
          if (r.id !== undefined) expect(r.id.length).toBeLessThanOrEqual(MAX_REQUEST_ID_LENGTH);
          if (r.type === 'subscribe' || r.type === 'unsubscribe') {
            expect(r.symbols.length).toBeGreaterThan(0);
            for (const s of r.symbols) {
              expect(typeof s).toBe('string');
              expect(s.length).toBeGreaterThan(0);
              expect(s.length).toBeLessThanOrEqual(MAX_SYMBOL_LENGTH);
            }
          }
          if (r.type === 'subscribe' && r.maxHz !== undefined) expect(Number.isFinite(r.maxHz)).toBe(true);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  it('never throws on random bytes with either codec', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expectWellFormed(decodeClientFrame(bytes, msgpackCodec));
        expectWellFormed(decodeClientFrame(bytes, jsonCodec));
      }),
      { numRuns: 5_000 },
    );
  });

  it('never throws on random text with either codec', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          expectWellFormed(decodeClientFrame(text, jsonCodec));
          expectWellFormed(decodeClientFrame(text, msgpackCodec));
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('never throws on mutated valid frames', () => {
    const mutated = fc
      .tuple(
        clientRequest,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      )
      .map(([request, edits]) => {
        const bytes = Buffer.from(msgpackCodec.encode(request) as Uint8Array);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        return bytes;
      });
    fc.assert(
      fc.property(mutated, (bytes) => {
        expectWellFormed(decodeClientFrame(bytes, msgpackCodec));
        expectWellFormed(decodeClientFrame(bytes, jsonCodec));
      }),
      { numRuns: 5_000 },
    );
  });

  it('round-trips every valid request through both codecs', () => {
    fc.assert(
      fc.property(clientRequest, (request) => {
        for (const codec of [jsonCodec, msgpackCodec]) {
          expect(decodeClientFrame(codec.encode(request), codec)).toEqual({ ok: true, request });
        }
      }),
      { numRuns: 3_000 },
    );
  });
});
