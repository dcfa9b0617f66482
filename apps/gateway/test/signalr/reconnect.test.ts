import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';
import * as signalR from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import type { QuoteUpdate, SymbolInfo } from '@tickhub/protocol';
import { SignalRHubs } from '@tickhub/signalr';
import { TRANSPORT_TYPES, type TransportName, waitFor } from '@tickhub/signalr/testing';
import type { Gateway } from '../../src/main';
import { startGatewayWithHubs } from './gateway-harness';

jest.setTimeout(150_000);

/**
 * A TCP load balancer in failover mode: every new connection goes to the first pod that accepts it.
 * Stands in for the real load balancer while one pod goes away.
 */
async function failoverProxy(ports: () => number[]): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    client.pause();
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const candidates = ports();
    const attempt = (index: number) => {
      if (index >= candidates.length) {
        client.destroy();
        return;
      }
      const upstream = connect(candidates[index]!, '127.0.0.1');
      sockets.add(upstream);
      let connected = false;
      upstream.on('close', () => {
        sockets.delete(upstream);
        if (connected) client.destroy();
      });
      upstream.on('error', () => {
        // Refused: this pod is gone, try the next one.
        if (!connected) attempt(index + 1);
        upstream.destroy();
      });
      upstream.once('connect', () => {
        connected = true;
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        client.on('close', () => upstream.destroy());
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('withAutomaticReconnect: a pod goes away, the client reconnects and resubscribes', () => {
  it.each([
    ['WebSockets', 'messagepack'],
    ['LongPolling', 'json'],
  ] as const)('%s + %s', async (transport, protocol) => {
    const podA = await startGatewayWithHubs();
    const podB = await startGatewayWithHubs();
    const pods: Array<{ gateway: Gateway; alive: boolean }> = [
      { gateway: podA.gateway, alive: true },
      { gateway: podB.gateway, alive: true },
    ];
    const proxy = await failoverProxy(() => pods.map((p) => p.gateway.port));
    let client: signalR.HubConnection | undefined;
    try {
      await waitFor(
        () => podA.gateway.runtime.isReady() && podB.gateway.runtime.isReady(),
        20_000,
        'pods ready',
      );
      let builder = new signalR.HubConnectionBuilder()
        .withUrl(`${proxy.url}/hubs/market`, { transport: TRANSPORT_TYPES[transport as TransportName] })
        // Retry for up to 45 s: on a loaded machine a long-polling client may need several attempts
        // while the draining pod finishes its in-flight poll.
        .withAutomaticReconnect({
          nextRetryDelayInMilliseconds: (retry) => (retry.elapsedMilliseconds < 45_000 ? 500 : null),
        })
        .configureLogging(process.env.DEBUG_SIGNALR ? signalR.LogLevel.Debug : signalR.LogLevel.None);
      if (protocol === 'messagepack') builder = builder.withHubProtocol(new MessagePackHubProtocol());
      const connection = builder.build();
      client = connection;
      let ticks = 0;
      let reconnected = 0;
      let wanted: string[] = [];
      connection.on('ticks', (updates: QuoteUpdate[]) => {
        ticks += updates.length;
      });
      // What an application does: subscribe again on the new connection.
      connection.onreconnected(async () => {
        reconnected++;
        await connection.invoke('Subscribe', wanted, 5);
      });
      await connection.start();
      const symbols = await connection.invoke<SymbolInfo[]>('ListSymbols');
      wanted = symbols.slice(0, 2).map((s) => s.symbol);
      await connection.invoke('Subscribe', wanted, 5);
      await waitFor(() => ticks >= 3, 20_000, 'ticks from the first pod');
      const firstId = connection.connectionId;

      // The pod serving the client drains: hub clients get a Close message that allows reconnecting.
      const serving = podA.gateway.app.get(SignalRHubs).server.connectionCount > 0 ? pods[0]! : pods[1]!;
      await serving.gateway.drain('test');
      serving.alive = false;

      await waitFor(() => reconnected === 1, 50_000, 'the automatic reconnect');
      expect(connection.state).toBe(signalR.HubConnectionState.Connected);
      expect(connection.connectionId).not.toBe(firstId);
      const before = ticks;
      await waitFor(() => ticks >= before + 3, 20_000, 'ticks from the other pod after resubscribing');
    } finally {
      await client?.stop();
      await proxy.close();
      for (const pod of pods) if (pod.alive) await pod.gateway.drain('test over');
    }
  });
});
