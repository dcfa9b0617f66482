import fc from 'fast-check';
import {
  entitledDirectory,
  entitlementsFor,
  intersectSymbolPatterns,
  symbolMatcher,
} from '../../src/core/entitlements';

const SYMBOLS = ['AAPL', 'AMZN', 'MSFT', 'EURUSD', 'EURGBP', 'GBPUSD', 'BTCUSD', 'BTC-PERP'];

/** The symbols of SYMBOLS that a connection with these server patterns and token claim may use. */
function allowed(server: string[] | undefined, token: string[] | undefined): string[] {
  const decided = entitlementsFor(server, token === undefined ? undefined : { symbols: token });
  return SYMBOLS.filter(symbolMatcher(decided?.symbols));
}

describe('entitlementsFor: ENTITLED_SYMBOLS narrowed by the token, one table for every entry point', () => {
  it.each<[string, string[] | undefined, string[] | undefined, string[]]>([
    ['no server list, no claim: everything', undefined, undefined, SYMBOLS],
    ['no server list: the claim decides', undefined, ['AAPL', 'EUR*'], ['AAPL', 'EURUSD', 'EURGBP']],
    ['no claim: the server list decides', ['AAPL', 'EUR*'], undefined, ['AAPL', 'EURUSD', 'EURGBP']],
    ['a claim cannot widen the server list', ['AAPL', 'EUR*'], ['*'], ['AAPL', 'EURUSD', 'EURGBP']],
    ['a claim of other symbols gets nothing', ['AAPL', 'EUR*'], ['MSFT', 'BTC*'], []],
    ['exact ∩ prefix', ['EUR*'], ['EURUSD', 'GBPUSD'], ['EURUSD']],
    ['prefix ∩ longer prefix', ['BTC*'], ['BTC-*'], ['BTC-PERP']],
    ['prefix ∩ prefix that does not extend it', ['BTC-*'], ['BTCU*'], []],
    ['exact ∩ exact', ['AAPL', 'MSFT'], ['MSFT', 'AMZN'], ['MSFT']],
    ['an empty claim list entitles to nothing', undefined, [], []],
    ['server `*` with a claim', ['*'], ['AAPL'], ['AAPL']],
  ])('%s', (_name, server, token, expected) => {
    expect(allowed(server, token)).toEqual(expected);
  });

  it('keeps the rate and subscription claims, and returns undefined when nothing restricts', () => {
    expect(entitlementsFor(undefined, undefined)).toBeUndefined();
    expect(entitlementsFor(undefined, {})).toBeUndefined();
    expect(entitlementsFor(['AAPL'], { maxHz: 2, maxSubscriptions: 5 })).toEqual({
      symbols: ['AAPL'],
      maxHz: 2,
      maxSubscriptions: 5,
    });
  });

  it('matches exactly the symbols both pattern lists match (any patterns, any symbol)', () => {
    const pattern = fc.oneof(
      fc.constantFrom('*', 'A*', 'AA*', 'AAPL', 'B*', 'AB*', 'A', 'AB', 'ABC*'),
      fc.stringMatching(/^[AB]{0,3}\*?$/),
    );
    const list = fc.option(fc.array(pattern, { maxLength: 4 }), { nil: undefined });
    fc.assert(
      fc.property(list, list, fc.stringMatching(/^[AB]{0,4}$/), (a, b, symbol) => {
        const both = symbolMatcher(intersectSymbolPatterns(a, b))(symbol);
        expect(both).toBe(symbolMatcher(a)(symbol) && symbolMatcher(b)(symbol));
      }),
      { numRuns: 2000 },
    );
  });

  it('filters a directory with the same decision', () => {
    const directory = SYMBOLS.map((symbol) => ({ symbol }));
    expect(entitledDirectory(directory, undefined)).toBe(directory);
    expect(entitledDirectory(directory, entitlementsFor(['EUR*'], { symbols: ['EURUSD', 'AAPL'] }))).toEqual([
      { symbol: 'EURUSD' },
    ]);
  });
});
