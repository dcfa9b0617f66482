import { buildClient, COMBINATIONS, type HubHost, startHubHost, waitFor } from '@tickhub/signalr/testing';
import { ChatHub } from '../../src/signalr/hubs/chat.hub';

// Real servers and clients over loopback on a shared machine: generous time, conditions not sleeps.
jest.setTimeout(30_000);

describe('/chathub with the official client', () => {
  let host: HubHost;

  beforeAll(async () => {
    // A loaded CI machine can stall a client between negotiate and its WebSocket for seconds: that is
    // not what this test is about, so the unused-negotiation sweep waits longer than by default.
    host = await startHubHost({
      hubs: [{ path: '/chathub', hub: new ChatHub() }],
      transport: { negotiateTimeoutMs: 60_000 },
    });
  });

  afterAll(async () => {
    await host.close();
  });

  it.each(COMBINATIONS)(
    '%s + %s: connect, invoke SendMessage, receive ReceiveMessage, stop',
    async (transport, protocol) => {
      const a = buildClient(`${host.baseUrl}/chathub`, transport, protocol);
      const b = buildClient(`${host.baseUrl}/chathub`, transport, protocol);
      const gotA: string[] = [];
      const gotB: string[] = [];
      a.on('ReceiveMessage', (user: string, message: string) => gotA.push(`${user}:${message}`));
      b.on('ReceiveMessage', (user: string, message: string) => gotB.push(`${user}:${message}`));
      try {
        await a.start();
        await b.start();
        expect(a.connectionId).toBeTruthy();
        await a.invoke('SendMessage', 'alice', `hello over ${transport}/${protocol}`);
        await waitFor(() => gotA.length === 1 && gotB.length === 1, 10_000, 'both clients to receive');
        expect(gotB).toEqual([`alice:hello over ${transport}/${protocol}`]);
        expect(gotA).toEqual(gotB);
        await a.send('SendMessage', 'bob', 'fire and forget');
        await waitFor(() => gotA.length === 2 && gotB.length === 2, 10_000, 'the non-blocking send');
        // Bound before the hub runs, as ASP.NET Core does.
        await expect(a.invoke('SendMessage', 'alice', 42)).rejects.toThrow(
          "Failed to invoke 'SendMessage' due to an error on the server. InvalidDataException: Error binding arguments.",
        );
        await expect(a.invoke('SendMessage', 'alice')).rejects.toThrow(
          'Invocation provides 1 argument(s) but target expects 2.',
        );
      } finally {
        // Whatever failed above, the next combination starts from a server without connections.
        await a.stop();
        await b.stop();
      }
      await waitFor(() => host.signalr.connectionCount === 0, 10_000, 'the server to drop both connections');
    },
  );
});
