import fc from 'fast-check';
import { isQuote, isQuoteUpdate } from '../src';
import { quote, quoteUpdate } from './arbitraries';

describe('guards', () => {
  it('accept generated quotes and updates', () => {
    fc.assert(
      fc.property(quote, quoteUpdate, (q, u) => {
        expect(isQuote(q)).toBe(true);
        expect(isQuoteUpdate(q)).toBe(false);
        expect(isQuoteUpdate(u)).toBe(true);
      }),
    );
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'AAPL'],
    ['an empty object', {}],
    [
      'a quote without low',
      {
        symbol: 'A',
        seq: 1,
        ts: 1,
        bid: 1,
        ask: 1,
        bidSize: 1,
        askSize: 1,
        last: 1,
        lastSize: 1,
        volume: 1,
        open: 1,
        high: 1,
      },
    ],
    [
      'a quote with a NaN bid',
      {
        symbol: 'A',
        seq: 1,
        ts: 1,
        bid: Number.NaN,
        ask: 1,
        bidSize: 1,
        askSize: 1,
        last: 1,
        lastSize: 1,
        volume: 1,
        open: 1,
        high: 1,
        low: 1,
      },
    ],
    [
      'a quote with an empty symbol',
      {
        symbol: '',
        seq: 1,
        ts: 1,
        bid: 1,
        ask: 1,
        bidSize: 1,
        askSize: 1,
        last: 1,
        lastSize: 1,
        volume: 1,
        open: 1,
        high: 1,
        low: 1,
      },
    ],
  ])('reject %s', (_name, value) => {
    expect(isQuote(value)).toBe(false);
  });

  it('never throw', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        expect(typeof isQuote(v)).toBe('boolean');
        expect(typeof isQuoteUpdate(v)).toBe('boolean');
      }),
      { numRuns: 5_000 },
    );
  });
});
