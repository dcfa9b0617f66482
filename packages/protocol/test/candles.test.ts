import {
  DEFAULT_HISTORY_LIMIT,
  MAX_HISTORY_LIMIT,
  parseClientRequest,
  readHistoryParams,
  TIMEFRAME_MS,
  TIMEFRAMES,
} from '../src';

describe('readHistoryParams', () => {
  it('accepts every served timeframe, with the default limit when none is given', () => {
    for (const tf of TIMEFRAMES) {
      expect(readHistoryParams(tf, undefined)).toEqual({ ok: true, tf, limit: DEFAULT_HISTORY_LIMIT });
      expect(TIMEFRAME_MS[tf]).toBeGreaterThan(0);
    }
  });

  it('reads a limit from a number or from a query string', () => {
    expect(readHistoryParams('1m', 1)).toEqual({ ok: true, tf: '1m', limit: 1 });
    expect(readHistoryParams('1m', String(MAX_HISTORY_LIMIT))).toEqual({
      ok: true,
      tf: '1m',
      limit: MAX_HISTORY_LIMIT,
    });
  });

  it.each<[unknown, unknown]>([
    ['2m', 10],
    ['1M', 10],
    [undefined, 10],
    [60, 10],
    ['1m', 0],
    ['1m', MAX_HISTORY_LIMIT + 1],
    ['1m', 2.5],
    ['1m', '-1'],
    ['1m', '1e3'],
    ['1m', 'ten'],
    ['1m', Number.NaN],
  ])('refuses tf %p with limit %p', (tf, limit) => {
    const result = readHistoryParams(tf, limit);
    expect(result.ok).toBe(false);
  });
});

describe('parseClientRequest: history', () => {
  it('accepts a history request and fills in the default limit', () => {
    expect(parseClientRequest({ type: 'history', id: '5', symbol: 'AAPL', tf: '1m', limit: 300 })).toEqual({
      ok: true,
      request: { type: 'history', id: '5', symbol: 'AAPL', tf: '1m', limit: 300 },
    });
    expect(parseClientRequest({ type: 'history', symbol: 'AAPL', tf: '1s' })).toEqual({
      ok: true,
      request: { type: 'history', symbol: 'AAPL', tf: '1s', limit: DEFAULT_HISTORY_LIMIT },
    });
  });

  it.each<[string, unknown]>([
    ['no symbol', { type: 'history', id: '5', tf: '1m' }],
    ['empty symbol', { type: 'history', id: '5', symbol: '', tf: '1m' }],
    ['bad tf', { type: 'history', id: '5', symbol: 'AAPL', tf: '2m' }],
    ['limit too high', { type: 'history', id: '5', symbol: 'AAPL', tf: '1m', limit: 1001 }],
    ['limit as a string', { type: 'history', id: '5', symbol: 'AAPL', tf: '1m', limit: '300' }],
  ])('refuses %s with BAD_REQUEST, echoing the id', (_what, frame) => {
    const result = parseClientRequest(frame);
    expect(result).toMatchObject({ ok: false, code: 'BAD_REQUEST', id: '5' });
  });
});
