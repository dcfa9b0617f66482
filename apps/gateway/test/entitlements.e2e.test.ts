import * as signalR from '@microsoft/signalr';
import type { SymbolInfo } from '@tickhub/protocol';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { HS256_SECRET, hs256Token } from './support/auth';
import { Client } from './support/gateway';

// One entitlement decision for every entry point: no token, entry point or claim combination may
// reach a symbol outside ENTITLED_SYMBOLS ∩ the token's `symbols`, and every directory shows the same.
// One table of claim combinations, asked of /ws (subscribe, `symbols`, `history`), /api/symbols,
// /api/candles and the market hub (Subscribe, ListSymbols, GetCandles, StreamQuotes).
jest.setTimeout(60_000);

const SERVER = 'AAPL,EUR*';
const inServer = (s: string) => s === 'AAPL' || s.startsWith('EUR');
/** What every entry point is asked for: inside and outside the server's list. */
const WANTED = ['AAPL', 'MSFT', 'EURUSD', 'BTCUSD'];

describe.each([
  ['authentication on', { AUTH_MODE: 'hs256', AUTH_HS256_SECRET: HS256_SECRET }],
  ['authentication off', {}],
])('ENTITLED_SYMBOLS=%s', (_name, auth) => {
  let gw: GatewayProcess;
  const authOn = 'AUTH_MODE' in auth;

  beforeAll(async () => {
    gw = await startGateway({ ...auth, ENTITLED_SYMBOLS: SERVER });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  // The claim combinations of a token (authentication off: no token at all).
  const claimSets: Array<[string, Record<string, unknown>, (s: string) => boolean]> = authOn
    ? [
        ['no claims', {}, inServer],
        ['claims but no symbols claim', { maxHz: 5 }, inServer],
        ['a claim of every symbol', { symbols: ['*'] }, inServer],
        ['a narrower claim', { symbols: ['EURUSD', 'MSFT'] }, (s) => s === 'EURUSD'],
        ['a disjoint claim', { symbols: ['MSFT', 'BTC*'] }, () => false],
      ]
    : [['no token', {}, inServer]];

  it.each(claimSets)('%s: /ws subscribes and its symbols request', async (_claims, claims, allowed) => {
    const token = authOn ? await hs256Token({ sub: 'u', ...claims }) : undefined;
    const client = await Client.open(`${gw.ws}${token ? `?token=${token}` : ''}`);
    client.send({ type: 'symbols', id: 'dir' });
    const directory = (await client.next((m) => m.id === 'dir')).symbols as SymbolInfo[];
    expect(directory.every((s) => allowed(s.symbol))).toBe(true);
    expect(directory.some((s) => s.symbol === 'AAPL')).toBe(allowed('AAPL'));
    const wanted = WANTED;
    client.send({ type: 'subscribe', id: 'sub', symbols: wanted });
    await client.next((m) => m.id === 'sub' && (m.type === 'subscribed' || m.type === 'error'));
    await new Promise((r) => setTimeout(r, 200));
    const accepted = client.all((m) => m.type === 'subscribed').flatMap((m) => m.symbols ?? []);
    const forbidden = client
      .all((m) => m.type === 'error' && m.code === 'FORBIDDEN')
      .flatMap((m) => m.symbols ?? []);
    expect(accepted).toEqual(wanted.filter(allowed));
    expect(forbidden).toEqual(wanted.filter((s) => !allowed(s)));
    expect(client.updates().every(({ u }) => allowed(u.symbol))).toBe(true);
    client.close();
  });

  it.each(claimSets)('%s: /api/symbols', async (_claims, claims, allowed) => {
    const token = authOn ? await hs256Token({ sub: 'u', ...claims }) : undefined;
    const res = await fetch(
      `${gw.http}/api/symbols`,
      token ? { headers: { authorization: `Bearer ${token}` } } : {},
    );
    expect(res.status).toBe(200);
    const directory = (await res.json()) as SymbolInfo[];
    expect(directory.every((s) => allowed(s.symbol))).toBe(true);
    if (allowed('AAPL')) expect(directory.map((s) => s.symbol)).toContain('AAPL');
  });

  it.each(claimSets)('%s: the native history request', async (_claims, claims, allowed) => {
    const token = authOn ? await hs256Token({ sub: 'u', ...claims }) : undefined;
    const client = await Client.open(`${gw.ws}${token ? `?token=${token}` : ''}`);
    try {
      for (const symbol of WANTED) {
        client.send({ type: 'history', id: `h-${symbol}`, symbol, tf: '1s', limit: 5 });
        const answer = await client.next((m) => m.id === `h-${symbol}`);
        if (allowed(symbol)) expect(answer.type).toBe('history');
        else expect(answer).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
      }
    } finally {
      client.close();
    }
  });

  it.each(claimSets)('%s: /api/candles', async (_claims, claims, allowed) => {
    const token = authOn ? await hs256Token({ sub: 'u', ...claims }) : undefined;
    for (const symbol of WANTED) {
      const res = await fetch(
        `${gw.http}/api/candles?symbol=${symbol}&tf=1s&limit=5`,
        token ? { headers: { authorization: `Bearer ${token}` } } : {},
      );
      expect(res.status).toBe(allowed(symbol) ? 200 : 403);
    }
  });

  it.each(claimSets)('%s: the market hub', async (_claims, claims, allowed) => {
    const token = authOn ? await hs256Token({ sub: 'u', ...claims }) : undefined;
    const connection = new signalR.HubConnectionBuilder()
      .withUrl(`${gw.http}/hubs/market`, token ? { accessTokenFactory: () => token } : {})
      .configureLogging(signalR.LogLevel.None)
      .build();
    await connection.start();
    try {
      const directory = await connection.invoke<SymbolInfo[]>('ListSymbols');
      expect(directory.every((s) => allowed(s.symbol))).toBe(true);
      expect(directory.some((s) => s.symbol === 'AAPL')).toBe(allowed('AAPL'));
      const subscribe = connection.invoke<string[]>('Subscribe', ['AAPL', 'MSFT', 'EURUSD']);
      const expected = ['AAPL', 'MSFT', 'EURUSD'].filter(allowed);
      if (expected.length > 0) await expect(subscribe).resolves.toEqual(expected);
      else await expect(subscribe).rejects.toThrow('FORBIDDEN');
      await expect(connection.invoke<string[]>('Subscribe', ['MSFT'])).rejects.toThrow('FORBIDDEN');

      // GetCandles: the same decision per symbol.
      for (const symbol of WANTED) {
        const candles = connection.invoke('GetCandles', symbol, '1s', 5);
        if (allowed(symbol)) await expect(candles).resolves.toEqual(expect.any(Array));
        else await expect(candles).rejects.toThrow('FORBIDDEN');
      }

      // StreamQuotes: its own session, the same decision; the first item is the accepted snapshots.
      const streamed = await new Promise<{ items: Array<Array<{ symbol: string }>>; error?: Error }>(
        (resolve) => {
          const items: Array<Array<{ symbol: string }>> = [];
          const subscription = connection
            .stream<Array<{ symbol: string }>>('StreamQuotes', WANTED)
            .subscribe({
              next: (item) => {
                items.push(item);
                // The snapshots, then whatever updates come within half a second.
                if (items.length === 1) {
                  setTimeout(() => {
                    subscription.dispose();
                    resolve({ items });
                  }, 500);
                }
              },
              complete: () => resolve({ items }),
              error: (error) => resolve({ items, error }),
            });
        },
      );
      if (WANTED.some(allowed)) {
        expect(streamed.error).toBeUndefined();
        expect(streamed.items[0]?.map((q) => q.symbol).sort()).toEqual(WANTED.filter(allowed).sort());
        expect(streamed.items.flat().every((q) => allowed(q.symbol))).toBe(true);
      } else {
        expect(String(streamed.error)).toContain('FORBIDDEN');
        expect(streamed.items).toEqual([]);
      }
    } finally {
      await connection.stop();
    }
  });
});
