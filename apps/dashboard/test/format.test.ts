import {
  cryptoDecimals,
  DASH,
  direction,
  formatChange,
  formatMs,
  formatPercent,
  formatPrice,
  formatRate,
  formatVolume,
  priceDecimals,
} from '../src/format';

describe('price decimals per asset class', () => {
  it('uses pips for FX, cents for equities and the price level for crypto', () => {
    expect(priceDecimals({ assetClass: 'fx' }, 1.0842)).toBe(5);
    expect(priceDecimals({ assetClass: 'fx', priceDecimals: 3 }, 151.37)).toBe(3);
    expect(priceDecimals({ assetClass: 'equity' }, 189.5)).toBe(2);
    expect(priceDecimals({ assetClass: 'crypto', priceDecimals: 8 }, 67250)).toBe(2);
    expect(priceDecimals({ assetClass: 'crypto' }, 152.3)).toBe(3);
    expect(priceDecimals({ assetClass: 'crypto' }, 7.123)).toBe(4);
    expect(priceDecimals(undefined, 10)).toBe(2);
  });

  it('keeps four significant digits for coins below one', () => {
    expect(cryptoDecimals(0.5234)).toBe(4);
    expect(cryptoDecimals(0.1563)).toBe(4);
    expect(cryptoDecimals(0.00002431)).toBe(8);
    expect(formatPrice(0.00002431, cryptoDecimals(0.00002431))).toBe('0.00002431');
    expect(cryptoDecimals(0)).toBe(2);
    expect(cryptoDecimals(Number.NaN)).toBe(2);
  });
});

describe('formatting', () => {
  it('formats prices with separators and fixed decimals', () => {
    expect(formatPrice(67250, 2)).toBe('67,250.00');
    expect(formatPrice(1.084215, 5)).toBe('1.08422');
    expect(formatPrice(undefined, 2)).toBe(DASH);
    expect(formatPrice(Number.NaN, 2)).toBe(DASH);
  });

  it('signs changes with a plus or a true minus, and shows zero unsigned', () => {
    expect(formatChange(1.25, 2)).toBe('+1.25');
    expect(formatChange(-0.00042, 5)).toBe('−0.00042');
    expect(formatChange(0.001, 2)).toBe('0.00');
    expect(formatPercent(0.4249)).toBe('+0.42%');
    expect(formatPercent(-12.5)).toBe('−12.50%');
    expect(formatPercent(undefined)).toBe(DASH);
  });

  it('abbreviates volumes', () => {
    expect(formatVolume(930)).toBe('930');
    expect(formatVolume(845_200)).toBe('845.20K');
    expect(formatVolume(12_345_678)).toBe('12.35M');
    expect(formatVolume(2.5e9)).toBe('2.50B');
    expect(formatVolume(0.5)).toBe('0.50');
  });

  it('formats rates and round-trip times', () => {
    expect(formatRate(0)).toBe(DASH);
    expect(formatRate(9.84)).toBe('9.8');
    expect(formatRate(1234)).toBe('1,234');
    expect(formatMs(0.42)).toBe('0.4 ms');
    expect(formatMs(23.4)).toBe('23 ms');
    expect(formatMs(undefined)).toBe(DASH);
  });

  it('tells the direction of a move', () => {
    expect(direction(undefined, 1)).toBe(0);
    expect(direction(1, 1)).toBe(0);
    expect(direction(1, 2)).toBe(1);
    expect(direction(2, 1)).toBe(-1);
  });
});
