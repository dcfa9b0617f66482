import { createUniverse, DEFAULT_UNIVERSE_SIZE, MAX_UNIVERSE_SIZE } from '../src';

describe('createUniverse', () => {
  it('has at least 500 symbols by default, with unique names', () => {
    const universe = createUniverse();
    expect(universe.length).toBe(DEFAULT_UNIVERSE_SIZE);
    expect(universe.length).toBeGreaterThanOrEqual(500);
    expect(new Set(universe.map((s) => s.symbol)).size).toBe(universe.length);
  });

  it('is deterministic, and smaller universes are prefixes of larger ones', () => {
    expect(createUniverse(700)).toEqual(createUniverse(700));
    expect(createUniverse(700).slice(0, 500)).toEqual(createUniverse(500));
    expect(createUniverse(10)).toEqual(createUniverse(500).slice(0, 10));
  });

  it('mixes equities, FX and crypto among the most active symbols', () => {
    const top = createUniverse(10);
    const classes = new Set(top.map((s) => s.assetClass));
    expect(classes).toEqual(new Set(['equity', 'fx', 'crypto']));
    expect(top[0]).toEqual({
      symbol: 'AAPL',
      name: 'Apple Inc.',
      assetClass: 'equity',
      priceDecimals: 2,
      currency: 'USD',
    });
  });

  it('describes well-known symbols realistically', () => {
    const bySymbol = new Map(createUniverse().map((s) => [s.symbol, s]));
    for (const s of ['AAPL', 'MSFT', 'NVDA', 'EURUSD', 'GBPUSD', 'USDJPY', 'BTCUSD', 'ETHUSD']) {
      expect(bySymbol.has(s)).toBe(true);
    }
    expect(bySymbol.get('EURUSD')).toMatchObject({
      assetClass: 'fx',
      priceDecimals: 5,
      currency: 'USD',
      name: 'Euro / US Dollar',
    });
    expect(bySymbol.get('USDJPY')).toMatchObject({ assetClass: 'fx', priceDecimals: 3, currency: 'JPY' });
    expect(bySymbol.get('BTCUSD')).toMatchObject({ assetClass: 'crypto', priceDecimals: 2, currency: 'USD' });
    expect(bySymbol.get('XRPUSD')?.priceDecimals).toBeGreaterThan(2);
    expect(bySymbol.get('SHIBUSD')?.priceDecimals).toBe(8);
  });

  it('gives every symbol a valid description', () => {
    for (const s of createUniverse(5000)) {
      expect(s.symbol).toMatch(/^[A-Z]{1,8}$/);
      expect(s.name.length).toBeGreaterThan(0);
      expect(['equity', 'fx', 'crypto']).toContain(s.assetClass);
      expect(Number.isInteger(s.priceDecimals)).toBe(true);
      expect(s.currency).toMatch(/^[A-Z]{3}$/);
    }
  });

  it('builds large universes with unique names', () => {
    const big = createUniverse(20_000);
    expect(new Set(big.map((s) => s.symbol)).size).toBe(20_000);
  });

  it.each([0, -1, 1.5, Number.NaN, MAX_UNIVERSE_SIZE + 1])('rejects size %p', (size) => {
    expect(() => createUniverse(size)).toThrow(RangeError);
  });
});
