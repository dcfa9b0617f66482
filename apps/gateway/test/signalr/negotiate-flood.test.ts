import { request } from 'node:http';
import * as signalR from '@microsoft/signalr';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { HS256_SECRET, hs256Token, metricValue } from '../support/auth';

// A negotiate costs its client one request and the server a connection slot until it expires: a
// flood of negotiates that never start a transport must spend only the flooder's own share.
jest.setTimeout(90_000);

/** How long unstarted negotiations live in the authenticated gateway. */
const TIMEOUT_MS = 4000;

/** A negotiate from a chosen loopback address (the flooder is not the other users' 127.0.0.1). */
function negotiateFrom(url: string, localAddress: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/negotiate?negotiateVersion=1`,
      {
        method: 'POST',
        localAddress,
        agent: false,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function flood(url: string, localAddress: string, count: number, token?: string) {
  const statuses = new Map<number, number>();
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, () => negotiateFrom(url, localAddress, token)),
    );
    for (const status of batch) statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  return statuses;
}

async function connects(url: string, token?: string): Promise<boolean> {
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(url, token ? { accessTokenFactory: () => token } : {})
    .configureLogging(signalR.LogLevel.None)
    .build();
  await connection.start();
  const ok = connection.state === signalR.HubConnectionState.Connected;
  await connection.stop();
  return ok;
}

describe('negotiate floods (authentication on)', () => {
  let gw: GatewayProcess;
  let hub: string;

  beforeAll(async () => {
    gw = await startGateway({
      AUTH_MODE: 'hs256',
      AUTH_HS256_SECRET: HS256_SECRET,
      MAX_PENDING_NEGOTIATIONS_PER_USER: '20',
      NEGOTIATE_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    hub = `${gw.http}/hubs/market`;
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it("one user's 2,000 unstarted negotiates get 429 past the user's cap; other users still connect; the share comes back", async () => {
    const mallory = await hs256Token({ sub: 'mallory' });
    const started = Date.now();
    const statuses = await flood(hub, '127.0.0.2', 2000, mallory);
    const took = Date.now() - started;
    console.log(`negotiate flood (one user, ${took} ms): ${JSON.stringify(Object.fromEntries(statuses))}`);
    // 20 at a time: a flood that outlives NEGOTIATE_TIMEOUT_MS gets a new share once the first expire.
    const admitted = statuses.get(200) ?? 0;
    expect(admitted).toBeGreaterThanOrEqual(20);
    expect(admitted).toBeLessThanOrEqual(20 * (Math.ceil(took / TIMEOUT_MS) + 1));
    expect(statuses.get(429)).toBe(2000 - admitted);
    expect(await metricValue(gw.http, 'access_refusals_total', { reason: 'user_pending_negotiations' })).toBe(
      2000 - admitted,
    );
    // Another user, and the same address with another user, are not affected.
    expect(await connects(hub, await hs256Token({ sub: 'alice' }))).toBe(true);
    expect(await negotiateFrom(hub, '127.0.0.2', await hs256Token({ sub: 'carol' }))).toBe(200);
    // Unstarted negotiations expire (NEGOTIATE_TIMEOUT_MS) and give the user its share back.
    let status = 429;
    for (let i = 0; i < (2 * TIMEOUT_MS) / 100 + 20 && status === 429; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await negotiateFrom(hub, '127.0.0.2', mallory);
    }
    expect(status).toBe(200);
  });
});

describe('negotiate floods (authentication off, default caps)', () => {
  let gw: GatewayProcess;
  let hub: string;

  beforeAll(async () => {
    gw = await startGateway({});
    hub = `${gw.http}/chathub`;
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it("one address's 2,000 unstarted negotiates get 429 past its cap of 100; other addresses still connect", async () => {
    const statuses = await flood(hub, '127.0.0.3', 2000);
    console.log(`negotiate flood (one address): ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(statuses.get(200)).toBe(100);
    expect(statuses.get(429)).toBe(1900);
    expect(await metricValue(gw.http, 'upgrade_rejections_total', { status: '429' })).toBe(1900);
    expect(await connects(hub)).toBe(true);
  });
});
