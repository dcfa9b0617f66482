import * as signalR from '@microsoft/signalr';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { HS256_SECRET, hs256Token, upgradeStatus } from './support/auth';
import { Client } from './support/gateway';

jest.setTimeout(90_000);

let gw: GatewayProcess;
const clients: Client[] = [];

beforeAll(async () => {
  gw = await startGateway({
    AUTH_MODE: 'hs256',
    AUTH_HS256_SECRET: HS256_SECRET,
    MAX_CONNECTIONS_PER_IP: '3',
    MAX_CONNECTIONS_PER_USER: '2',
    MAX_UPGRADES_PER_IP_PER_SEC: '10',
    HANDSHAKE_TIMEOUT_MS: '1000',
  });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
});

/** Opens a client from a loopback source address, so that each test acts as its own IP. */
async function openFrom(ip: string, user: string): Promise<Client> {
  const token = await hs256Token({ sub: user });
  const c = await Client.open(`${gw.ws}?token=${token}`, undefined, { localAddress: ip });
  clients.push(c);
  // Keeps the connection past the handshake timeout.
  c.send({ type: 'ping' });
  return c;
}

describe('connection limits', () => {
  it('caps connections per IP with 429, counting again once one closes', async () => {
    const ip = '127.0.0.2';
    const open = [await openFrom(ip, 'ip-a'), await openFrom(ip, 'ip-b'), await openFrom(ip, 'ip-c')];
    const token = await hs256Token({ sub: 'ip-d' });
    expect(await upgradeStatus(`${gw.ws}?token=${token}`, { localAddress: ip })).toBe(429);
    // Another address is not affected.
    expect(await upgradeStatus(`${gw.ws}?token=${token}`, { localAddress: '127.0.0.3' })).toBe(101);
    open[0]?.close();
    await open[0]?.closed;
    let status = 0;
    for (let i = 0; i < 50 && status !== 101; i++) {
      status = await upgradeStatus(`${gw.ws}?token=${token}`, { localAddress: ip });
      if (status !== 101) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(101);
    expect(gw.logs.some((l) => l.includes('"reason":"ip_connections"'))).toBe(true);
  });

  it('caps connections per user across addresses', async () => {
    await openFrom('127.0.0.4', 'capped-user');
    await openFrom('127.0.0.5', 'capped-user');
    const token = await hs256Token({ sub: 'capped-user' });
    expect(await upgradeStatus(`${gw.ws}?token=${token}`, { localAddress: '127.0.0.6' })).toBe(429);
    const other = await hs256Token({ sub: 'someone-else' });
    expect(await upgradeStatus(`${gw.ws}?token=${other}`, { localAddress: '127.0.0.6' })).toBe(101);
  });

  it('limits the upgrade rate per IP', async () => {
    const token = await hs256Token({ sub: 'rate' });
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () =>
        upgradeStatus(`${gw.ws}?token=${token}`, { localAddress: '127.0.0.7' }),
      ),
    );
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 429 || s === 101)).toBe(true);
    expect(gw.logs.some((l) => l.includes('"reason":"ip_upgrade_rate"'))).toBe(true);
  });

  it('closes with 1008 a connection that sends no request within the handshake timeout', async () => {
    const token = await hs256Token({ sub: 'silent' });
    const silent = new Client(`${gw.ws}?token=${token}`, undefined, { localAddress: '127.0.0.8' });
    clients.push(silent);
    const talker = await openFrom('127.0.0.8', 'talker');
    expect((await silent.closed).code).toBe(1008);
    expect(talker.closeInfo).toBeUndefined();
  });
});

describe('SignalR with authentication', () => {
  const hub = () => `${gw.http}/hubs/market`;

  it('answers 401 on negotiate without a token or with a bad one', async () => {
    expect((await fetch(`${hub()}/negotiate?negotiateVersion=1`, { method: 'POST' })).status).toBe(401);
    expect(
      (await fetch(`${hub()}/negotiate?negotiateVersion=1&access_token=bad`, { method: 'POST' })).status,
    ).toBe(401);
    const anonymous = new signalR.HubConnectionBuilder()
      .withUrl(hub())
      .configureLogging(signalR.LogLevel.None)
      .build();
    await expect(anonymous.start()).rejects.toThrow();
  });

  it.each([
    ['WebSockets', signalR.HttpTransportType.WebSockets],
    ['LongPolling', signalR.HttpTransportType.LongPolling],
  ])(
    'serves the official client with accessTokenFactory over %s, within the token symbols',
    async (_name, transport) => {
      const token = await hs256Token({ sub: `hub-${_name}`, symbols: ['EUR*'] });
      const connection = new signalR.HubConnectionBuilder()
        .withUrl(hub(), { transport, accessTokenFactory: () => token })
        .configureLogging(signalR.LogLevel.None)
        .build();
      await connection.start();
      try {
        const accepted = await connection.invoke<string[]>('Subscribe', ['EURUSD', 'AAPL']);
        expect(accepted).toEqual(['EURUSD']);
        await expect(connection.invoke('Subscribe', ['AAPL'])).rejects.toThrow();
      } finally {
        await connection.stop();
      }
    },
  );
});
