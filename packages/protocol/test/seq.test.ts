import fc from 'fast-check';
import {
  decodeTickRecord,
  encodeTickRecord,
  encodeUpdateJson,
  encodeUpdateMsgpack,
  firstSeqAt,
  frameTicksJson,
  frameTicksMsgpack,
  jsonCodec,
  msgpackCodec,
  type QuoteUpdate,
} from '../src';

// 2026-11-26 and the last millisecond before the first seq would pass 2^53.
const NOW = Date.UTC(2026, 10, 26);
const LAST_SAFE_START = Math.floor((Number.MAX_SAFE_INTEGER - 1) / 1000) - 1;

const update = (seq: number): QuoteUpdate => ({
  symbol: 'AAPL',
  seq,
  ts: NOW,
  bid: 1,
  ask: 2,
  bidSize: 3,
  askSize: 4,
  last: 1.5,
  lastSize: 5,
  volume: 6,
  open: 1,
  high: 2,
  low: 1,
  n: 1,
});

describe('firstSeqAt', () => {
  it('puts a later start above everything a run started a millisecond earlier could reach below a million ticks a second', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: LAST_SAFE_START - 60_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        (startedAt, ranForMs) => {
          const reached = firstSeqAt(startedAt) + ranForMs * 1000 - 1; // 1M ticks/s, minus one
          return firstSeqAt(startedAt + ranForMs) > reached;
        },
      ),
    );
  });

  it('stays an exact integer (a safe integer) up to the year 2255', () => {
    expect(Number.isSafeInteger(firstSeqAt(NOW))).toBe(true);
    expect(Number.isSafeInteger(firstSeqAt(LAST_SAFE_START) + 999)).toBe(true);
    expect(new Date(LAST_SAFE_START).getUTCFullYear()).toBe(2255);
  });

  it('round-trips exactly through the tick record, the JSON frame and the MessagePack frame', () => {
    const seq = firstSeqAt(NOW) + 123_456_789;
    const q = update(seq);
    expect(decodeTickRecord(encodeTickRecord(q)).seq).toBe(seq);
    const json = jsonCodec.decode(frameTicksJson([encodeUpdateJson(q)])) as { updates: QuoteUpdate[] };
    expect(json.updates[0]!.seq).toBe(seq);
    const packed = msgpackCodec.decode(frameTicksMsgpack([encodeUpdateMsgpack(q)])) as {
      updates: QuoteUpdate[];
    };
    expect(packed.updates[0]!.seq).toBe(seq);
  });

  it('refuses a time that is not one', () => {
    expect(() => firstSeqAt(Number.NaN)).toThrow(RangeError);
    expect(() => firstSeqAt(-1)).toThrow(RangeError);
  });
});
