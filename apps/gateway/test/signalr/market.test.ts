import type { QuoteUpdate, SymbolInfo } from '@tickhub/protocol';
import { buildClient, COMBINATIONS, waitFor } from '@tickhub/signalr/testing';
import type { Gateway } from '../../src/main';
import { startGatewayWithHubs } from './gateway-harness';

// Real servers and clients over loopback on a shared machine: generous time, conditions not sleeps.
jest.setTimeout(30_000);

describe('/hubs/market through the whole gateway', () => {
  let gateway: Gateway;
  let baseUrl: string;

  beforeAll(async () => {
    ({ gateway, baseUrl } = await startGatewayWithHubs());
    await waitFor(() => gateway.runtime.isReady(), 20_000, 'the gateway to be ready');
  }, 30_000);

  afterAll(async () => {
    await gateway.drain('test over');
  }, 30_000);

  it.each(COMBINATIONS)(
    '%s + %s: ListSymbols, Subscribe, snapshot and throttled ticks, Unsubscribe, stop',
    async (transport, protocol) => {
      const client = buildClient(`${baseUrl}/hubs/market`, transport, protocol);
      const snapshots: Array<{ symbol: string; seq: number }> = [];
      const ticks: QuoteUpdate[][] = [];
      client.on('snapshot', (quote: { symbol: string; seq: number }) => snapshots.push(quote));
      client.on('ticks', (updates: QuoteUpdate[]) => ticks.push(updates));
      await client.start();

      const symbols = await client.invoke<SymbolInfo[]>('ListSymbols');
      expect(symbols.length).toBe(20);
      const wanted = symbols.slice(0, 3).map((s) => s.symbol);

      const accepted = await client.invoke<string[]>('Subscribe', [...wanted, 'NOPE.XX'], 2);
      expect(accepted).toEqual(wanted);
      await waitFor(() => ticks.flat().length >= 6, 20_000, 'ticks');
      await waitFor(() => wanted.every((w) => snapshots.some((s) => s.symbol === w)), 10_000, 'snapshots');

      const updates = ticks.flat();
      for (const u of updates) {
        expect(wanted).toContain(u.symbol);
        expect(typeof u.bid).toBe('number');
        expect(u.n).toBeGreaterThanOrEqual(1);
      }
      // seq never decreases per symbol, and starts after the snapshot's.
      for (const symbol of wanted) {
        const seqs = updates.filter((u) => u.symbol === symbol).map((u) => u.seq);
        for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1]!);
        const snap = snapshots.find((s) => s.symbol === symbol)!;
        if (seqs.length > 0) expect(seqs[0]).toBeGreaterThan(snap.seq);
      }

      const removed = await client.invoke<string[]>('Unsubscribe', wanted);
      expect(removed).toEqual(wanted);
      // After the answer, at most the frame already in flight arrives; then silence.
      await new Promise((r) => setTimeout(r, 300));
      const settled = ticks.length;
      await new Promise((r) => setTimeout(r, 1200));
      expect(ticks.length).toBe(settled);
      await client.stop();
    },
    40_000,
  );

  it('throttles to maxHz per symbol (leading edge, then at most one update per interval)', async () => {
    const client = buildClient(`${baseUrl}/hubs/market`, 'WebSockets', 'json');
    const arrivals: number[] = [];
    let symbol = '';
    client.on('ticks', (updates: QuoteUpdate[]) => {
      for (const u of updates) if (u.symbol === symbol) arrivals.push(Date.now());
    });
    await client.start();
    const symbols = await client.invoke<SymbolInfo[]>('ListSymbols');
    symbol = symbols[0]!.symbol;
    const subscribedAt = Date.now();
    await client.invoke('Subscribe', [symbol], 1);
    await waitFor(() => arrivals.length >= 4, 20_000, 'four updates at 1 Hz');
    await client.stop();
    const elapsedSeconds = (Date.now() - subscribedAt) / 1000;
    // The source ticks this symbol many times a second; at 1 Hz the client gets at most one update
    // per started second (plus the leading edge), however slow the machine is.
    expect(arrivals.length).toBeLessThanOrEqual(Math.ceil(elapsedSeconds) + 1);
  }, 30_000);

  it('puts symbols subscribed with leading=false on one clock: one ticks invocation per interval', async () => {
    const client = buildClient(`${baseUrl}/hubs/market`, 'WebSockets', 'messagepack');
    const invocations: QuoteUpdate[][] = [];
    client.on('ticks', (updates: QuoteUpdate[]) => invocations.push(updates));
    await client.start();
    const wanted = (await client.invoke<SymbolInfo[]>('ListSymbols')).slice(0, 12).map((s) => s.symbol);
    const subscribedAt = Date.now();
    expect(await client.invoke<string[]>('Subscribe', wanted, 2, false)).toEqual(wanted);
    await waitFor(() => invocations.length >= 6, 20_000, 'six ticks invocations at 2 Hz');
    const seconds = (Date.now() - subscribedAt) / 1000;
    await client.stop();
    // Twelve busy symbols at 2 Hz: with one clock they share each interval's invocation (with the
    // leading edge, each would run on its own phase and come in invocations of its own).
    expect(invocations.length).toBeLessThanOrEqual(Math.ceil(seconds * 2) + 2);
    expect(Math.max(...invocations.map((u) => u.length))).toBeGreaterThanOrEqual(wanted.length / 2);
    for (const updates of invocations) {
      expect(new Set(updates.map((u) => u.symbol)).size).toBe(updates.length);
    }
  }, 30_000);

  it('binds leading as a boolean, on Subscribe and StreamQuotes', async () => {
    const client = buildClient(`${baseUrl}/hubs/market`, 'LongPolling', 'json');
    await client.start();
    await expect(client.invoke('Subscribe', ['AAPL'], 1, 'yes')).rejects.toThrow(/Error binding arguments/);
    await expect(client.invoke('Subscribe', ['AAPL'], 1, 0)).rejects.toThrow(/Error binding arguments/);
    // A null rate with a mode: the default rate, aligned.
    expect(await client.invoke<string[]>('Subscribe', ['AAPL'], null, false)).toEqual(['AAPL']);
    const stream = client.stream('StreamQuotes', ['AAPL'], 1, 'no');
    await expect(
      new Promise((resolve, reject) =>
        stream.subscribe({ next: () => {}, complete: () => resolve(undefined), error: reject }),
      ),
    ).rejects.toThrow(/Error binding arguments/);
    await client.stop();
  }, 30_000);

  it('answers a Subscribe with no acceptable symbol with an error completion', async () => {
    const client = buildClient(`${baseUrl}/hubs/market`, 'LongPolling', 'json');
    await client.start();
    await expect(client.invoke('Subscribe', ['NOPE.XX'])).rejects.toThrow(/UNKNOWN_SYMBOL/);
    // Types are bound before the hub runs, as ASP.NET Core binds them to `string[]` and `double?`.
    await expect(client.invoke('Subscribe', 'AAPL')).rejects.toThrow(/Error binding arguments/);
    await expect(client.invoke('Subscribe', ['A'], 'fast')).rejects.toThrow(/Error binding arguments/);
    await expect(client.invoke('Subscribe', [])).rejects.toThrow(/BAD_REQUEST/);
    await expect(client.invoke('Subscribe', ['A'], 1000)).rejects.toThrow(/BAD_REQUEST/);
    await client.stop();
  }, 30_000);
});
