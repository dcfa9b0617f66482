import * as signalR from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { ChatHub } from '../example/chat.hub';
import { CuttableProxy, type HubHost, type ProtocolName, startHubHost, waitFor } from '../src/testing';

jest.setTimeout(60_000);

function chatClient(url: string, protocol: ProtocolName, stateful: boolean): signalR.HubConnection {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url, { transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.None);
  if (protocol === 'messagepack') builder = builder.withHubProtocol(new MessagePackHubProtocol());
  if (stateful) builder = builder.withStatefulReconnect();
  return builder.build();
}

describe('stateful reconnect with the official client through a proxy that cuts the connection', () => {
  let host: HubHost;
  let proxy: CuttableProxy;
  let proxyUrl: string;

  beforeAll(async () => {
    host = await startHubHost({
      hubs: [{ path: '/chathub', hub: new ChatHub() }],
      transport: { disconnectTimeoutMs: 20_000 },
    });
    proxy = new CuttableProxy(Number(new URL(host.baseUrl).port));
    proxyUrl = `http://127.0.0.1:${await proxy.listen()}`;
  });

  afterAll(async () => {
    await proxy.close();
    await host.close();
  });

  it('negotiate grants stateful reconnect only to clients that ask for it', async () => {
    const ask = async (query: string) =>
      (await (
        await fetch(`${host.baseUrl}/chathub/negotiate?negotiateVersion=1${query}`, { method: 'POST' })
      ).json()) as {
        useStatefulReconnect?: boolean;
      };
    expect((await ask('&useStatefulReconnect=true')).useStatefulReconnect).toBe(true);
    expect((await ask('')).useStatefulReconnect).toBeUndefined();
  });

  it.each<ProtocolName>(['json', 'messagepack'])(
    '%s: every message arrives once and in order, both ways, across cuts',
    async (protocol) => {
      const roaming = chatClient(`${proxyUrl}/chathub`, protocol, true);
      const steady = chatClient(`${host.baseUrl}/chathub`, protocol, false);
      const atRoaming: string[] = [];
      const atSteady: string[] = [];
      roaming.on('ReceiveMessage', (user: string, message: string) => {
        if (user === 'steady') atRoaming.push(message);
      });
      steady.on('ReceiveMessage', (user: string, message: string) => {
        if (user === 'roaming') atSteady.push(message);
      });
      let reconnects = 0;
      roaming.onreconnecting(() => reconnects++);
      await Promise.all([roaming.start(), steady.start()]);
      const connectionId = roaming.connectionId;

      const count = 300;
      const cutsBefore = proxy.cuts;
      const sends: Array<Promise<void>> = [];
      for (let i = 0; i < count; i++) {
        sends.push(steady.invoke('SendMessage', 'steady', `s${i}`));
        // Sent while the roaming client's transport may be down: its own buffer resends them.
        sends.push(roaming.send('SendMessage', 'roaming', `r${i}`));
        if (i % 60 === 30) {
          proxy.cut();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(sends);
      await waitFor(() => atRoaming.length >= count && atSteady.length >= count, 30_000, 'every message');
      // A little longer: a duplicate would arrive now.
      await new Promise((resolve) => setTimeout(resolve, 300));

      const expected = (prefix: string) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);
      expect(atRoaming).toEqual(expected('s'));
      expect(atSteady).toEqual(expected('r'));
      expect(proxy.cuts - cutsBefore).toBe(5);
      // The same connection all along: no automatic reconnect, no new connection id.
      expect(reconnects).toBe(0);
      expect(roaming.connectionId).toBe(connectionId);
      expect(roaming.state).toBe(signalR.HubConnectionState.Connected);
      await Promise.all([roaming.stop(), steady.stop()]);
    },
  );

  it('a client that does not come back within the disconnect timeout loses its connection', async () => {
    const quickHost = await startHubHost({
      hubs: [{ path: '/chathub', hub: new ChatHub() }],
      transport: { disconnectTimeoutMs: 500, tickIntervalMs: 100 },
    });
    const quickProxy = new CuttableProxy(Number(new URL(quickHost.baseUrl).port));
    const url = `http://127.0.0.1:${await quickProxy.listen()}/chathub`;
    const client = chatClient(url, 'json', true);
    await client.start();
    await waitFor(() => quickHost.signalr.connectionCount === 1, 5000, 'the connection');
    // The proxy stops accepting: the client's reconnect attempts fail, the server gives up.
    quickProxy.server.close();
    quickProxy.cut();
    await waitFor(() => quickHost.signalr.connectionCount === 0, 10_000, 'the server to drop the connection');
    await waitFor(
      () => client.state === signalR.HubConnectionState.Disconnected,
      10_000,
      'the client to stop',
    );
    await quickHost.close();
  });
});
