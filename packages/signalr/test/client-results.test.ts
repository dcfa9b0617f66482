import { buildClient, COMBINATIONS, type HubHost, startHubHost } from '../src/testing';
import { TestHub } from './test-hubs';

jest.setTimeout(30_000);

describe('client results with the official client', () => {
  let host: HubHost;

  beforeAll(async () => {
    host = await startHubHost({
      hubs: [{ path: '/test', hub: new TestHub(), options: { clientResultTimeoutMs: 500 } }],
    });
  });

  afterAll(() => host.close());

  it.each(COMBINATIONS)('%s + %s: the server awaits what a client method returns', async (t, p) => {
    const client = buildClient(`${host.baseUrl}/test`, t, p);
    client.on('Double', (n: number) => n * 2);
    client.on('Later', async (text: string) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return `later ${text}`;
    });
    client.on('Refuse', () => {
      throw new Error('no, thanks');
    });
    // Never answers: the server gives up after its timeout.
    client.on('Silent', () => new Promise(() => undefined));
    await client.start();

    expect(await client.invoke('AskCaller', 'Double', 21)).toEqual({ answer: 42 });
    expect(await client.invoke('AskCaller', 'Later', 'x')).toEqual({ answer: 'later x' });
    expect(await client.invoke('AskCaller', 'Refuse', null)).toEqual({
      error: expect.stringContaining('no, thanks'),
    });
    expect(await client.invoke('AskCaller', 'Missing', null)).toEqual({
      error: expect.stringContaining("Client didn't provide a result."),
    });
    expect(await client.invoke('AskCaller', 'Silent', null)).toEqual({
      error: expect.stringContaining('did not answer'),
    });
    // The connection carries on.
    expect(await client.invoke('Add', 1, 2)).toBe(3);
    await client.stop();
  });

  it('one client asks another through the hub', async () => {
    const asker = buildClient(`${host.baseUrl}/test`, 'WebSockets', 'json');
    const answerer = buildClient(`${host.baseUrl}/test`, 'LongPolling', 'messagepack');
    answerer.on('Whoami', (prefix: string) => `${prefix}:${answerer.connectionId}`);
    await Promise.all([asker.start(), answerer.start()]);
    expect(await asker.invoke('AskClient', answerer.connectionId, 'Whoami', 'me')).toBe(
      `me:${answerer.connectionId}`,
    );
    await expect(asker.invoke('AskClient', 'no-such-connection', 'Whoami', 'me')).rejects.toThrow(
      "An unexpected error occurred invoking 'AskClient' on the server.",
    );
    await Promise.all([asker.stop(), answerer.stop()]);
  });
});
