import * as signalR from '@microsoft/signalr';
import { buildClient, COMBINATIONS, type HubHost, startHubHost, waitFor } from '../src/testing';
import { Journal, TestHub } from './test-hubs';

jest.setTimeout(30_000);

/** Everything a stream delivers until it completes or fails. */
function collect<T>(stream: signalR.IStreamResult<T>): Promise<{ items: T[]; error?: string }> {
  const items: T[] = [];
  return new Promise((resolve) => {
    stream.subscribe({
      next: (item) => items.push(item),
      complete: () => resolve({ items }),
      error: (error) => resolve({ items, error: String(error) }),
    });
  });
}

describe('streams with the official client', () => {
  let host: HubHost;
  const journal = new Journal();

  beforeAll(async () => {
    host = await startHubHost({ hubs: [{ path: '/test', hub: new TestHub(journal) }] });
  });

  afterAll(() => host.close());

  it.each(COMBINATIONS)('%s + %s: server-to-client, cancel, errors and uploads', async (t, p) => {
    const client = buildClient(`${host.baseUrl}/test`, t, p);
    await client.start();

    expect(await collect(client.stream<number>('Counter', 5))).toEqual({ items: [0, 1, 2, 3, 4] });

    // Cancelling one stream stops only that one.
    const label = `${t}-${p}`;
    const first: string[] = [];
    const other: string[] = [];
    const cancelled = client.stream<string>('Ticker', label).subscribe({
      next: (item) => first.push(item),
      complete: () => undefined,
      error: () => undefined,
    });
    const kept = client.stream<string>('Ticker', `${label}-kept`).subscribe({
      next: (item) => other.push(item),
      complete: () => undefined,
      error: () => undefined,
    });
    await waitFor(() => first.length >= 3, 10_000, 'stream items');
    cancelled.dispose();
    await waitFor(() => journal.cancelledStreams.includes(label), 10_000, 'the server to stop the stream');
    const seen = other.length;
    await waitFor(() => other.length > seen + 2, 10_000, 'the other stream to go on');
    expect(journal.cancelledStreams).not.toContain(`${label}-kept`);
    kept.dispose();

    expect(await collect(client.stream<number>('BrokenStream'))).toEqual({
      items: [1],
      error: expect.stringContaining('HubException: the stream broke'),
    });

    const subject = new signalR.Subject<number>();
    const sum = client.invoke<string>('Sum', 'total', subject);
    for (const n of [1, 2, 3, 4]) subject.next(n);
    subject.complete();
    expect(await sum).toBe('total=10');

    await client.stop();
  });

  it('the streams of a connection stop when it ends', async () => {
    const client = buildClient(`${host.baseUrl}/test`, 'WebSockets', 'json');
    await client.start();
    const got: string[] = [];
    client.stream<string>('Ticker', 'until-stop').subscribe({
      next: (item) => got.push(item),
      complete: () => undefined,
      error: () => undefined,
    });
    await waitFor(() => got.length >= 2, 10_000, 'stream items');
    await client.stop();
    await waitFor(() => journal.cancelledStreams.includes('until-stop'), 10_000, 'the stream to stop');
  });
});
