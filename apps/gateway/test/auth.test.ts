import { CloseCode } from '@tickhub/protocol';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { HS256_SECRET, hs256Token, upgradeStatus } from './support/auth';
import { Client } from './support/gateway';

jest.setTimeout(60_000);

let gw: GatewayProcess;
const clients: Client[] = [];

beforeAll(async () => {
  gw = await startGateway({
    AUTH_MODE: 'hs256',
    AUTH_HS256_SECRET: HS256_SECRET,
    AUTH_AUDIENCE: 'tickhub',
    AUTH_CLOCK_TOLERANCE_S: '0',
  });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
});

async function open(token: string): Promise<Client> {
  const c = await Client.open(`${gw.ws}?token=${token}`);
  clients.push(c);
  return c;
}

describe('JWT authentication (HS256)', () => {
  it('refuses the upgrade with 401 for a missing, invalid, expired or wrong-audience token', async () => {
    expect(await upgradeStatus(gw.ws)).toBe(401);
    expect(await upgradeStatus(`${gw.ws}?token=not.a.jwt`)).toBe(401);
    const expired = await hs256Token({ sub: 'u1', aud: 'tickhub' }, { expIn: -60 });
    expect(await upgradeStatus(`${gw.ws}?token=${expired}`)).toBe(401);
    const wrongAudience = await hs256Token({ sub: 'u1' }, { aud: 'someone-else' });
    expect(await upgradeStatus(`${gw.ws}?token=${wrongAudience}`)).toBe(401);
    const good = await hs256Token({ sub: 'u1' }, { aud: 'tickhub' });
    const forged = `${good.slice(0, -4)}AAAA`;
    expect(await upgradeStatus(`${gw.ws}?token=${forged}`)).toBe(401);
    expect(await upgradeStatus(`${gw.ws}?token=${good}`)).toBe(101);
    expect(await upgradeStatus(gw.ws, { headers: { authorization: `Bearer ${good}` } })).toBe(101);
    // The refusal is logged with its reason, never with the token.
    expect(gw.logs.some((l) => l.includes('"reason":"token_invalid"'))).toBe(true);
    expect(gw.logs.some((l) => l.includes(good.slice(-20)) || l.includes(expired.slice(-20)))).toBe(false);
  });

  it('closes with 4001 when the token expires during the session', async () => {
    const token = await hs256Token({ sub: 'short' }, { expIn: 2, aud: 'tickhub' });
    const c = await open(token);
    c.send({ type: 'ping', id: 'p' });
    await c.next((m) => m.type === 'pong');
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.UNAUTHORIZED ?? 4001);
  });

  it('answers FORBIDDEN for symbols outside the token patterns and enforces maxHz and maxSubscriptions', async () => {
    const token = await hs256Token(
      { sub: 'trader', symbols: ['AAPL', 'MSFT', 'EUR*'], maxHz: 2, maxSubscriptions: 2 },
      { aud: 'tickhub' },
    );
    const c = await open(token);
    const welcome = c.all((m) => m.type === 'welcome')[0];
    expect(welcome?.limits?.maxHz).toBe(2);
    expect(welcome?.limits?.maxSubscriptions).toBe(2);
    c.send({ type: 'subscribe', id: 's1', symbols: ['AAPL', 'GOOGL'], maxHz: 1 });
    const ok = await c.next((m) => m.type === 'subscribed' && m.id === 's1');
    expect(ok.symbols).toEqual(['AAPL']);
    const forbidden = await c.next((m) => m.type === 'error' && m.id === 's1');
    expect(forbidden.code).toBe('FORBIDDEN');
    expect(forbidden.symbols).toEqual(['GOOGL']);
    c.send({ type: 'subscribe', id: 's2', symbols: ['MSFT'], maxHz: 5 });
    const tooFast = await c.next((m) => m.type === 'error' && m.id === 's2');
    expect(tooFast.code).toBe('BAD_REQUEST');
    c.send({ type: 'subscribe', id: 's3', symbols: ['MSFT', 'EURUSD'], maxHz: 2 });
    const capped = await c.next((m) => m.type === 'error' && m.id === 's3');
    expect(capped.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect((await c.next((m) => m.type === 'subscribed' && m.id === 's3')).symbols).toEqual(['MSFT']);
  });

  it('lists only the entitled symbols on /api/symbols (Authorization header or ?token=)', async () => {
    const token = await hs256Token({ sub: 'fx', symbols: ['EUR*'] }, { aud: 'tickhub' });
    expect((await fetch(`${gw.http}/api/symbols`)).status).toBe(401);
    expect((await fetch(`${gw.http}/api/symbols?token=garbage`)).status).toBe(401);
    const byHeader = (await (
      await fetch(`${gw.http}/api/symbols`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as Array<{ symbol: string }>;
    expect(byHeader.length).toBeGreaterThan(0);
    expect(byHeader.every((s) => s.symbol.startsWith('EUR'))).toBe(true);
    const byQuery = (await (await fetch(`${gw.http}/api/symbols?token=${token}`)).json()) as unknown[];
    expect(byQuery).toEqual(byHeader);
    const all = await hs256Token({ sub: 'all', symbols: ['*'] }, { aud: 'tickhub' });
    const everything = (await (await fetch(`${gw.http}/api/symbols?token=${all}`)).json()) as unknown[];
    expect(everything.length).toBeGreaterThan(byHeader.length);
  });
});
