import { Unpackr } from 'msgpackr';
import {
  encodeUpdateMsgpack,
  frameTicksMsgpack,
  msgpackCodec,
  type QuoteUpdate,
  widenIntegers,
} from '../src';

/** Reads 64-bit integers as BigInt, so that a float64 cannot pass for an integer. */
const typedReader = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

const big: QuoteUpdate = {
  symbol: 'AAPL',
  seq: 2 ** 32 + 7,
  ts: 1764000000000,
  bid: 189.12,
  ask: 189.14,
  bidSize: 300,
  askSize: 100,
  last: 189.13,
  lastSize: 50,
  volume: 5_000_000_000,
  open: 188,
  high: 190.2,
  low: 187.5,
  n: 6,
};

/** The bytes that follow a fixstr key in a MessagePack map. */
function afterKey(bytes: Uint8Array, key: string, length: number): number[] {
  const needle = Buffer.from([0xa0 | key.length, ...Buffer.from(key, 'latin1')]);
  const at = Buffer.from(bytes).indexOf(needle);
  expect(at).toBeGreaterThanOrEqual(0);
  return [...bytes.subarray(at + needle.length, at + needle.length + length)];
}

describe('MessagePack integers', () => {
  it.each([
    ['the hand-made update encoder', () => encodeUpdateMsgpack(big)],
    ['the general encoder', () => msgpackCodec.encode(big) as Uint8Array],
    ['a ticks frame', () => frameTicksMsgpack([encodeUpdateMsgpack(big)])],
  ])('writes seq, ts and volume beyond 2^32 as int64 in %s', (_name, encode) => {
    const bytes = encode();
    expect(afterKey(bytes, 'seq', 9)).toEqual([0xd3, 0, 0, 0, 1, 0, 0, 0, 7]);
    expect(afterKey(bytes, 'ts', 9)).toEqual([0xd3, ...Buffer.from('0000019ab697e800', 'hex')]);
    expect(afterKey(bytes, 'volume', 9)).toEqual([0xd3, ...Buffer.from('000000012a05f200', 'hex')]);
  });

  it('keeps 32-bit integers in their smallest form and fractions as float64', () => {
    const bytes = encodeUpdateMsgpack(big);
    expect(afterKey(bytes, 'n', 1)).toEqual([0x06]);
    expect(afterKey(bytes, 'bidSize', 3)).toEqual([0xcd, 0x01, 0x2c]);
    expect(afterKey(bytes, 'bid', 1)).toEqual([0xcb]);
  });

  it('is read back as 64-bit integers by a reader that tells them from floats', () => {
    const decoded = typedReader.unpack(encodeUpdateMsgpack(big)) as Record<string, unknown>;
    expect(decoded.seq).toBe(BigInt(2 ** 32 + 7));
    expect(decoded.ts).toBe(1764000000000n);
    expect(decoded.volume).toBe(5_000_000_000n);
  });

  it('writes negative and unsigned 64-bit extremes as integers', () => {
    expect([...(msgpackCodec.encode(-(2 ** 40)) as Uint8Array)]).toEqual([
      0xd3,
      ...Buffer.from('ffffff0000000000', 'hex'),
    ]);
    expect([...(msgpackCodec.encode(2 ** 63) as Uint8Array)]).toEqual([
      0xcf,
      ...Buffer.from('8000000000000000', 'hex'),
    ]);
    // Beyond 64 bits no integer form exists.
    expect((msgpackCodec.encode(2 ** 64) as Uint8Array)[0]).toBe(0xcb);
  });

  it('copies only what it widens', () => {
    const small = { a: [1, 2], b: { c: 'x' } };
    expect(widenIntegers(small)).toBe(small);
    const mixed = { a: [1, 2 ** 40], b: { c: 'x' } };
    const widened = widenIntegers(mixed) as typeof mixed;
    expect(widened).not.toBe(mixed);
    expect(widened.a).toEqual([1, BigInt(2 ** 40)]);
    expect(widened.b).toBe(mixed.b);
    expect(mixed.a[1]).toBe(2 ** 40);
  });
});
