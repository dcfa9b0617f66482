import type { QuoteUpdate, SymbolInfo } from '@tickhub/protocol';
import { buildClient, COMBINATIONS, waitFor } from '@tickhub/signalr/testing';
import type { Gateway } from '../../src/main';
import { startGatewayWithHubs } from './gateway-harness';

jest.setTimeout(40_000);

type Item = Array<QuoteUpdate & { n?: number }>;

describe('/hubs/market StreamQuotes with the official client', () => {
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
    '%s + %s: snapshots first, then throttled updates; cancel ends that subscription only',
    async (transport, protocol) => {
      const client = buildClient(`${baseUrl}/hubs/market`, transport, protocol);
      await client.start();
      const sessionsBefore = gateway.runtime.edge.sessionCount();
      const symbols = (await client.invoke<SymbolInfo[]>('ListSymbols')).slice(0, 2).map((s) => s.symbol);

      const streamed: Item[] = [];
      const other: Item[] = [];
      const subscription = client.stream<Item>('StreamQuotes', symbols, 5).subscribe({
        next: (item) => streamed.push(item),
        complete: () => undefined,
        error: () => undefined,
      });
      const kept = client.stream<Item>('StreamQuotes', [symbols[0]]).subscribe({
        next: (item) => other.push(item),
        complete: () => undefined,
        error: () => undefined,
      });
      await waitFor(() => streamed.length >= 4, 20_000, 'stream items');
      expect(gateway.runtime.edge.sessionCount()).toBe(sessionsBefore + 2);

      // First item: one snapshot per symbol (full quotes, no `n`).
      const [snapshots, ...updates] = streamed;
      expect(snapshots!.map((q) => q.symbol).sort()).toEqual([...symbols].sort());
      for (const q of snapshots!) expect(q.n).toBeUndefined();
      // Later items: updates as in `ticks`, seq increasing per symbol past the snapshot's.
      for (const symbol of symbols) {
        let last = snapshots!.find((q) => q.symbol === symbol)!.seq;
        for (const u of updates.flat().filter((x) => x.symbol === symbol)) {
          expect(u.n).toBeGreaterThanOrEqual(1);
          expect(u.seq).toBeGreaterThan(last);
          last = u.seq;
        }
      }

      subscription.dispose();
      await waitFor(
        () => gateway.runtime.edge.sessionCount() === sessionsBefore + 1,
        10_000,
        'the cancelled stream to close its session',
      );
      const seen = other.length;
      await waitFor(() => other.length > seen + 1, 20_000, 'the other stream to go on');
      kept.dispose();
      await waitFor(
        () => gateway.runtime.edge.sessionCount() === sessionsBefore,
        10_000,
        'both sessions closed',
      );
      await client.stop();
    },
  );

  it('refuses a stream of unknown symbols, and arguments of the wrong type, with an error', async () => {
    const client = buildClient(`${baseUrl}/hubs/market`, 'WebSockets', 'json');
    await client.start();
    const outcome = (args: unknown[]) =>
      new Promise<string>((resolve) => {
        client.stream('StreamQuotes', ...args).subscribe({
          next: () => undefined,
          complete: () => resolve('completed'),
          error: (error) => resolve(String(error)),
        });
      });
    expect(await outcome([['NOPE.XX']])).toContain('UNKNOWN_SYMBOL');
    expect(await outcome(['AAPL'])).toContain('Error binding arguments');
    await client.stop();
  });
});
