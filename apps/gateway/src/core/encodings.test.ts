import { encodeUpdateJson, frameTicksJson, type QuoteUpdate } from '@tickhub/protocol';
import { quote } from '../../test/support/core';
import { frameTicksJsonBytes, jsonBytesUpdateEncoding } from './encodings';

describe('JSON byte encoding', () => {
  it('frames exactly the text of frameTicksJson', () => {
    const updates: QuoteUpdate[] = [
      { ...quote('AAPL', 1), n: 1 },
      { ...quote('ÆØÅ', 2, { last: 1e21 }), n: 3 },
      { ...quote('MSFT', 3, { bid: Number.NaN }), n: 2 },
    ];
    for (let k = 0; k <= updates.length; k++) {
      const some = updates.slice(0, k);
      const bytes = frameTicksJsonBytes(some.map((u) => jsonBytesUpdateEncoding.encodeUpdate(u)));
      expect(bytes.toString('utf8')).toBe(frameTicksJson(some.map(encodeUpdateJson)));
      const roomy = frameTicksJsonBytes(
        some.map((u) => jsonBytesUpdateEncoding.encodeUpdate(u)),
        10,
      );
      expect(roomy.length).toBe(bytes.length + 10);
      expect(roomy.subarray(10).equals(bytes)).toBe(true);
      expect(JSON.parse(bytes.toString('utf8'))).toEqual(
        JSON.parse(frameTicksJson(some.map(encodeUpdateJson))),
      );
    }
  });
});
