import type { SymbolInfo } from '@tickhub/protocol';
import { searchSymbols } from '../src/symbol-search';

const universe: SymbolInfo[] = [
  { symbol: 'AAPL', name: 'Apple Inc.', assetClass: 'equity', priceDecimals: 2, currency: 'USD' },
  { symbol: 'MSFT', name: 'Microsoft Corp.', assetClass: 'equity', priceDecimals: 2, currency: 'USD' },
  { symbol: 'EURUSD', name: 'Euro / US Dollar', assetClass: 'fx', priceDecimals: 5, currency: 'USD' },
  { symbol: 'USDJPY', name: 'US Dollar / Japanese Yen', assetClass: 'fx', priceDecimals: 3, currency: 'JPY' },
  { symbol: 'BTCUSD', name: 'Bitcoin / US Dollar', assetClass: 'crypto', priceDecimals: 2, currency: 'USD' },
  { symbol: 'AA', name: 'Alcoa Corp.', assetClass: 'equity', priceDecimals: 2, currency: 'USD' },
];

const symbols = (q: string) => searchSymbols(universe, q).map((s) => s.symbol);

describe('symbol search', () => {
  it('ranks the exact ticker first, then ticker prefixes', () => {
    expect(symbols('aa')).toEqual(['AA', 'AAPL']);
    expect(symbols('AAPL')[0]).toBe('AAPL');
  });

  it('finds by name words and substrings', () => {
    expect(symbols('bitcoin')).toEqual(['BTCUSD']);
    expect(symbols('yen')).toEqual(['USDJPY']);
    expect(symbols('usd')).toEqual(['USDJPY', 'EURUSD', 'BTCUSD']);
  });

  it('lists the start of the universe for an empty query and nothing for a miss', () => {
    expect(searchSymbols(universe, '', 3).map((s) => s.symbol)).toEqual(['AAPL', 'MSFT', 'EURUSD']);
    expect(symbols('zzzz')).toEqual([]);
  });
});
