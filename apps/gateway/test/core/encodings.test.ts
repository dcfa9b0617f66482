import {
  encodeUpdateJson,
  encodeUpdateMsgpack,
  frameTicksJson,
  frameTicksMsgpack,
  type QuoteUpdate,
} from '@tickhub/protocol';
import { frameTicks, jsonUpdateEncoding, msgpackUpdateEncoding } from '../../src/core/encodings';
import { quote } from '../support/core';

describe('ticks frames from shared bodies', () => {
  const updates: QuoteUpdate[] = [
    { ...quote('AAPL', 1), n: 1 },
    { ...quote('ÆØÅ', 2, { last: 1e21 }), n: 3 },
    { ...quote('MSFT', 3, { bid: Number.NaN }), n: 12_345 },
  ];

  it('writes the same bytes as encoding each whole update, for every encoding and headroom', () => {
    for (let k = 0; k <= updates.length; k++) {
      const some = updates.slice(0, k);
      const ns = some.map((u) => u.n);
      const json = frameTicks(jsonUpdateEncoding, {
        bodies: some.map((u) => jsonUpdateEncoding.encodeBody(u)),
        ns,
        count: k,
      });
      expect(json.toString('utf8')).toBe(frameTicksJson(some.map(encodeUpdateJson)));
      const packedList = { bodies: some.map((u) => msgpackUpdateEncoding.encodeBody(u)), ns, count: k };
      const packed = frameTicks(msgpackUpdateEncoding, packedList);
      expect(packed.equals(frameTicksMsgpack(some.map(encodeUpdateMsgpack)))).toBe(true);
      const roomy = frameTicks(msgpackUpdateEncoding, packedList, 10);
      expect(roomy.length).toBe(packed.length + 10);
      expect(roomy.subarray(10).equals(packed)).toBe(true);
    }
  });

  it('gives each entry its own n over one shared body', () => {
    const body = jsonUpdateEncoding.encodeBody(updates[0]!);
    const frame = frameTicks(jsonUpdateEncoding, { bodies: [body, body], ns: [4, 9], count: 2 });
    const parsed = JSON.parse(frame.toString('utf8')) as { updates: QuoteUpdate[] };
    expect(parsed.updates.map((u) => u.n)).toEqual([4, 9]);
  });

  it('never lets a later frame overwrite an earlier one, whatever their sizes', () => {
    const bodies = updates.map((u) => jsonUpdateEncoding.encodeBody(u));
    const frames: Array<[Buffer, string]> = [];
    for (let i = 0; i < 400; i++) {
      const count = 1 + ((i * 37) % 120);
      const list = {
        bodies: Array.from({ length: count }, (_, k) => bodies[k % bodies.length]!),
        ns: Array.from({ length: count }, (_, k) => i + k),
        count,
      };
      const frame = frameTicks(jsonUpdateEncoding, list, 10);
      frames.push([frame, frame.toString('latin1')]);
    }
    for (const [frame, text] of frames) expect(frame.toString('latin1')).toBe(text);
  });
});
