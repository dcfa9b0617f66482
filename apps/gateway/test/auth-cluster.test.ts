import { randomBytes } from 'node:crypto';
import * as signalR from '@microsoft/signalr';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { HS256_SECRET, hs256Token, loggedLine, upgradeStatus } from './support/auth';
import { Client } from './support/gateway';

jest.setTimeout(120_000);

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) {
  throw new Error(
    'REDIS_URL is not set: this suite needs a real Redis (e.g. REDIS_URL=redis://127.0.0.1:6379)',
  );
}

const pods: GatewayProcess[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  // A prefix of its own per run: other tests share this Redis.
  const prefix = `tickhub-auth-cluster-${randomBytes(4).toString('hex')}:`;
  const env = {
    REDIS_URL: REDIS_URL as string,
    REDIS_KEY_PREFIX: prefix,
    AUTH_MODE: 'hs256',
    AUTH_HS256_SECRET: HS256_SECRET,
    MAX_CONNECTIONS_PER_IP: '2',
    MAX_UPGRADES_PER_IP_PER_SEC: '50',
  };
  pods.push(await startGateway({ ...env, GATEWAY_ID: 'pod-a' }));
  pods.push(await startGateway({ ...env, GATEWAY_ID: 'pod-b' }));
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(pods.map((p) => p.stop()));
});

/** Polls an upgrade until it answers `want` (the cluster view refreshes every second). */
async function eventually(url: string, ip: string, want: number): Promise<number> {
  let status = 0;
  for (let i = 0; i < 100 && status !== want; i++) {
    status = await upgradeStatus(url, { localAddress: ip });
    if (status !== want) await new Promise((r) => setTimeout(r, 200));
  }
  return status;
}

describe('connection caps across pods', () => {
  it('counts connections per IP on every pod of the cluster', async () => {
    const [a, b] = pods as [GatewayProcess, GatewayProcess];
    const ip = '127.0.0.21';
    const token = await hs256Token({ sub: 'cluster-user' });
    for (let i = 0; i < 2; i++) {
      const c = await Client.open(`${a.ws}?token=${token}`, undefined, { localAddress: ip });
      clients.push(c);
      c.send({ type: 'ping' });
    }
    // Pod B refuses a third connection of that address once pod A's presence reached it.
    expect(await eventually(`${b.ws}?token=${token}`, ip, 429)).toBe(429);
    expect(await loggedLine(b.logs, ['"reason":"ip_connections"'])).toBeDefined();
    // Another address is not affected.
    expect(await upgradeStatus(`${b.ws}?token=${token}`, { localAddress: '127.0.0.22' })).toBe(101);
    // Once one closes on pod A, pod B admits the address again.
    const first = clients[0] as Client;
    first.close();
    await first.closed;
    expect(await eventually(`${b.ws}?token=${token}`, ip, 101)).toBe(101);
  });
});

describe('SignalR long polling across pods', () => {
  it('counts long-polling connections of one pod in the negotiates of another', async () => {
    const [a, b] = pods as [GatewayProcess, GatewayProcess];
    // The official client connects from 127.0.0.1, an address no other test here uses.
    const lp: signalR.HubConnection[] = [];
    for (const user of ['lp-1', 'lp-2']) {
      const token = await hs256Token({ sub: user });
      const connection = new signalR.HubConnectionBuilder()
        .withUrl(`${a.http}/hubs/market`, {
          transport: signalR.HttpTransportType.LongPolling,
          accessTokenFactory: () => token,
        })
        .configureLogging(signalR.LogLevel.None)
        .build();
      await connection.start();
      lp.push(connection);
    }
    try {
      const token = await hs256Token({ sub: 'lp-3' });
      const negotiate = async () =>
        (
          await fetch(`${b.http}/hubs/market/negotiate?negotiateVersion=1`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}` },
          })
        ).status;
      /** Negotiates on pod B until it answers `want` (the cluster view refreshes every second). */
      const eventuallyNegotiate = async (want: number) => {
        let status = 0;
        for (let i = 0; i < 100 && status !== want; i++) {
          status = await negotiate();
          if (status !== want) await new Promise((r) => setTimeout(r, 200));
        }
        return status;
      };
      expect(await eventuallyNegotiate(429)).toBe(429);
      await lp[0]?.stop();
      expect(await eventuallyNegotiate(200)).toBe(200);
    } finally {
      await Promise.all(lp.map((c) => c.stop()));
    }
  });
});
