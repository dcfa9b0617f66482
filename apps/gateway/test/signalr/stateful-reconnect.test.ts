import * as signalR from '@microsoft/signalr';
import { waitFor } from '@tickhub/signalr/testing';
import type { Gateway } from '../../src/main';
import { startGatewayWithHubs } from './gateway-harness';

jest.setTimeout(30_000);

async function negotiate(baseUrl: string): Promise<{ useStatefulReconnect?: boolean }> {
  const res = await fetch(`${baseUrl}/chathub/negotiate?negotiateVersion=1&useStatefulReconnect=true`, {
    method: 'POST',
  });
  return (await res.json()) as { useStatefulReconnect?: boolean };
}

describe('stateful reconnect in the gateway (STATEFUL_RECONNECT_BUFFER_BYTES)', () => {
  const gateways: Gateway[] = [];

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.drain('test over')));
  });

  it('is granted by default, and a client that asks for it chats on /chathub', async () => {
    const { gateway, baseUrl } = await startGatewayWithHubs();
    gateways.push(gateway);
    expect((await negotiate(baseUrl)).useStatefulReconnect).toBe(true);
    const client = new signalR.HubConnectionBuilder()
      .withUrl(`${baseUrl}/chathub`, { transport: signalR.HttpTransportType.WebSockets })
      .withStatefulReconnect()
      .configureLogging(signalR.LogLevel.None)
      .build();
    const got: string[] = [];
    client.on('ReceiveMessage', (_user: string, message: string) => got.push(message));
    await client.start();
    for (let i = 0; i < 5; i++) await client.invoke('SendMessage', 'me', `m${i}`);
    await waitFor(() => got.length === 5, 10_000, 'the messages');
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    await client.stop();
  });

  it('is never granted with STATEFUL_RECONNECT_BUFFER_BYTES=0', async () => {
    const { gateway, baseUrl } = await startGatewayWithHubs({ STATEFUL_RECONNECT_BUFFER_BYTES: '0' });
    gateways.push(gateway);
    expect((await negotiate(baseUrl)).useStatefulReconnect).toBeUndefined();
  });
});
