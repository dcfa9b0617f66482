import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { HS256_SECRET, hs256Token } from './support/auth';
import { metric } from './support/gateway';

jest.setTimeout(60_000);

let gw: GatewayProcess;

beforeAll(async () => {
  gw = await startGateway({
    AUTH_MODE: 'hs256',
    AUTH_HS256_SECRET: HS256_SECRET,
    AUTH_AUDIENCE: 'tickhub',
  });
});

afterAll(async () => {
  await gw?.stop();
});

const refusals = (reason: string) =>
  metric(gw.http, 'tickhub_gateway_access_refusals_total', `reason="${reason}"`);

describe('/api/symbols with authentication on (HTTP layer)', () => {
  it('answers 401 with a JSON body without a token or with a bad one, counted as refusals', async () => {
    const missingBefore = await refusals('token_missing');
    const invalidBefore = await refusals('token_invalid');
    for (const url of [
      `${gw.http}/api/symbols`,
      `${gw.http}/api/symbols?token=garbage`,
      `${gw.http}/api/symbols?token=a.b.c`,
    ]) {
      const res = await fetch(url);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(await res.json()).toEqual({ error: 'Unauthorized' });
    }
    const badHeader = await fetch(`${gw.http}/api/symbols`, { headers: { authorization: 'Bearer nope' } });
    expect(badHeader.status).toBe(401);
    expect((await fetch(`${gw.http}/api/symbols`, { method: 'HEAD' })).status).toBe(401);
    expect(await refusals('token_missing')).toBeGreaterThan(missingBefore);
    expect(await refusals('token_invalid')).toBeGreaterThan(invalidBefore);
  });

  it("lists exactly the token's symbols, by header or by ?token=", async () => {
    const token = await hs256Token({ sub: 'two', symbols: ['AAPL', 'MSFT'] }, { aud: 'tickhub' });
    const byHeader = await fetch(`${gw.http}/api/symbols`, { headers: { authorization: `Bearer ${token}` } });
    expect(byHeader.status).toBe(200);
    const listed = ((await byHeader.json()) as Array<{ symbol: string }>).map((s) => s.symbol);
    expect(listed.sort()).toEqual(['AAPL', 'MSFT']);
    const byQuery = await fetch(`${gw.http}/api/symbols?token=${token}`);
    expect(((await byQuery.json()) as Array<{ symbol: string }>).map((s) => s.symbol).sort()).toEqual([
      'AAPL',
      'MSFT',
    ]);
    expect((await fetch(`${gw.http}/api/symbols?token=${token}`, { method: 'HEAD' })).status).toBe(200);
  });

  it('lists everything for a token without a symbols claim', async () => {
    const token = await hs256Token({ sub: 'any' }, { aud: 'tickhub' });
    const res = await fetch(`${gw.http}/api/symbols`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as unknown[]).length).toBe(500);
  });
});
