import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import WebSocket from 'ws';
import { HS256_SECRET, hs256Token, loggedLine, metricValue, upgradeStatus } from '../support/auth';

// A connection token travels in URLs (`?id=`), so proxies and browser histories keep it: it alone
// must never let anyone poll, send to, end or take over someone else's SignalR connection.
jest.setTimeout(60_000);

const RS = '\u001e';
const HANDSHAKE = `{"protocol":"json","version":1}${RS}`;

interface Req {
  token?: string;
  cookie?: string;
  accept?: string;
  body?: string;
}

async function request(method: string, url: string, options: Req = {}) {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  if (options.accept !== undefined) headers.accept = options.accept;
  if (options.body !== undefined) headers['content-type'] = 'text/plain';
  const controller = new AbortController();
  const res = await fetch(url, {
    method,
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
    signal: controller.signal,
  });
  // An event stream never ends on its own: read its status and let it go.
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    return { status: res.status, text: '', setCookie: null, stream: res, close: () => controller.abort() };
  }
  return { status: res.status, text: await res.text(), setCookie: res.headers.get('set-cookie') };
}

async function negotiate(hub: string, options: Req = {}) {
  const res = await request('POST', `${hub}/negotiate?negotiateVersion=1`, options);
  expect(res.status).toBe(200);
  const body = JSON.parse(res.text) as { connectionToken: string; connectionId: string };
  return { token: body.connectionToken, id: body.connectionId, setCookie: res.setCookie };
}

describe('SignalR connections belong to the user who negotiated them (authentication on)', () => {
  let gw: GatewayProcess;
  let hub: string;
  let alice: string;
  let bob: string;
  const forged = `${'eyJhbGciOiJIUzI1NiJ9'}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.AAAA`;

  beforeAll(async () => {
    gw = await startGateway({ AUTH_MODE: 'hs256', AUTH_HS256_SECRET: HS256_SECRET });
    hub = `${gw.http}/hubs/market`;
    alice = await hs256Token({ sub: 'alice', symbols: ['AAPL'] });
    bob = await hs256Token({ sub: 'bob', symbols: ['MSFT'] });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('long polling: polls, sends and deletes of anyone else get 403 (no token: 403, bad token: 401); the owner goes on', async () => {
    const refusedBefore = await metricValue(gw.http, 'access_refusals_total', {
      reason: 'connection_not_owner',
    });
    const { token: id, id: connectionId } = await negotiate(hub, { token: alice });
    const url = `${hub}?id=${encodeURIComponent(id)}`;
    expect((await request('GET', url, { token: alice })).status).toBe(200);
    expect((await request('POST', url, { token: alice, body: HANDSHAKE })).status).toBe(200);

    const subscribeMsft = `{"type":1,"invocationId":"1","target":"Subscribe","arguments":[["MSFT"]]}${RS}`;
    for (const who of [{ token: bob }, {}]) {
      expect((await request('GET', url, who)).status).toBe(403);
      expect((await request('POST', url, { ...who, body: subscribeMsft })).status).toBe(403);
      expect((await request('DELETE', url, who)).status).toBe(403);
    }
    expect((await request('GET', url, { token: forged })).status).toBe(401);

    // Alice's connection is untouched: her poll gets the handshake answer, her subscribe works.
    const first = await request('GET', url, { token: alice });
    expect(first.status).toBe(200);
    expect(first.text).toContain(`{}${RS}`);
    const subscribeAapl = `{"type":1,"invocationId":"2","target":"Subscribe","arguments":[["AAPL"]]}${RS}`;
    expect((await request('POST', url, { token: alice, body: subscribeAapl })).status).toBe(200);
    let received = '';
    for (let i = 0; i < 10 && !received.includes('"invocationId":"2"'); i++) {
      received += (await request('GET', url, { token: alice })).text;
    }
    expect(received).toContain('"result":["AAPL"]');
    expect(received).not.toContain('MSFT');

    const refused = await metricValue(gw.http, 'access_refusals_total', { reason: 'connection_not_owner' });
    expect(refused - refusedBefore).toBe(6);
    const line = await loggedLine(gw.logs, [
      '"reason":"connection_not_owner"',
      `"connectionId":"${connectionId}"`,
    ]);
    expect(line).toBeDefined();
    // Neither the bearer token nor the connection token reaches the log.
    for (const logLine of gw.logs) {
      expect(logLine).not.toContain(alice);
      expect(logLine).not.toContain(bob);
      expect(logLine).not.toContain(id);
    }
    expect((await request('DELETE', url, { token: alice })).status).toBe(202);
  });

  it('server-sent events: another user can neither start the stream nor post into it', async () => {
    const { token: id } = await negotiate(hub, { token: alice });
    const url = `${hub}?id=${encodeURIComponent(id)}`;
    const sse = { accept: 'text/event-stream' };
    expect((await request('GET', url, { ...sse, token: bob })).status).toBe(403);
    expect((await request('GET', url, sse)).status).toBe(403);
    const owner = await request('GET', url, { ...sse, token: alice });
    expect(owner.status).toBe(200);
    try {
      expect((await request('POST', url, { token: bob, body: HANDSHAKE })).status).toBe(403);
      expect((await request('POST', url, { body: HANDSHAKE })).status).toBe(403);
      expect((await request('POST', url, { token: alice, body: HANDSHAKE })).status).toBe(200);
    } finally {
      owner.close?.();
    }
  });

  it('WebSockets: the upgrade of a negotiated connection by another user, or without a token, is 403', async () => {
    const refusedBefore = await metricValue(gw.http, 'access_refusals_total', {
      reason: 'connection_not_owner',
    });
    const { token: id } = await negotiate(hub, { token: alice });
    const ws = `${hub.replace('http', 'ws')}?id=${encodeURIComponent(id)}`;
    expect(await upgradeStatus(`${ws}&access_token=${bob}`)).toBe(403);
    expect(await upgradeStatus(ws, { headers: { authorization: `Bearer ${bob}` } })).toBe(403);
    expect(await upgradeStatus(ws)).toBe(403);
    expect(await upgradeStatus(`${ws}&access_token=${forged}`)).toBe(401);
    expect(await upgradeStatus(`${ws}&access_token=${alice}`)).toBe(101);
    expect(
      (await metricValue(gw.http, 'access_refusals_total', { reason: 'connection_not_owner' })) -
        refusedBefore,
    ).toBe(3);
  });

  it("a WebSocket upgrade onto someone's running long-polling connection is 403, not 409 (nothing of its state shows)", async () => {
    const { token: id } = await negotiate(hub, { token: alice });
    const url = `${hub}?id=${encodeURIComponent(id)}`;
    expect((await request('GET', url, { token: alice })).status).toBe(200);
    const ws = `${hub.replace('http', 'ws')}?id=${encodeURIComponent(id)}`;
    expect(await upgradeStatus(`${ws}&access_token=${bob}`)).toBe(403);
    expect(await upgradeStatus(ws)).toBe(403);
    // The owner is told the truth: another transport has the connection.
    expect(await upgradeStatus(`${ws}&access_token=${alice}`)).toBe(409);
    expect((await request('DELETE', url, { token: alice })).status).toBe(202);
  });
});

describe('anonymous SignalR connections belong to the client that negotiated them (authentication off)', () => {
  let gw: GatewayProcess;
  let hub: string;

  beforeAll(async () => {
    gw = await startGateway({});
    hub = `${gw.http}/chathub`;
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('negotiate hands out an HttpOnly client cookie, never in a URL; a client that has one keeps it', async () => {
    const first = await negotiate(hub);
    expect(first.setCookie).toMatch(/^signalr_client=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; SameSite=Lax$/);
    const cookie = (first.setCookie as string).split(';')[0] as string;
    expect(cookie).not.toContain(first.token);
    const again = await negotiate(hub, { cookie });
    expect(again.setCookie).toBeNull();
  });

  it('a client with the cookie owns its connection: another cookie, or none once the cookie was shown, gets 403', async () => {
    const { token: id, setCookie } = await negotiate(hub);
    const cookie = (setCookie as string).split(';')[0] as string;
    const url = `${hub}?id=${encodeURIComponent(id)}`;
    expect((await request('GET', url, { cookie })).status).toBe(200);
    const stranger = (await negotiate(hub)).setCookie?.split(';')[0] as string;
    expect((await request('GET', url, { cookie: stranger })).status).toBe(403);
    expect((await request('POST', url, { cookie: stranger, body: HANDSHAKE })).status).toBe(403);
    expect((await request('DELETE', url, { cookie: stranger })).status).toBe(403);
    expect((await request('GET', url)).status).toBe(403);
    expect((await request('POST', url, { cookie, body: HANDSHAKE })).status).toBe(200);
    expect((await request('GET', url, { cookie })).text).toContain(`{}${RS}`);
    expect((await request('DELETE', url, { cookie })).status).toBe(202);
  });

  it('a client that keeps no cookies is bound to its address, and a WebSocket takeover with another cookie fails', async () => {
    const cookieless = await negotiate(hub);
    const url = `${hub}?id=${encodeURIComponent(cookieless.token)}`;
    expect((await request('GET', url)).status).toBe(200);
    expect((await request('POST', url, { body: HANDSHAKE })).status).toBe(200);
    expect((await request('DELETE', url)).status).toBe(202);

    const { token: id } = await negotiate(hub);
    const stranger = (await negotiate(hub)).setCookie?.split(';')[0] as string;
    const ws = `${hub.replace('http', 'ws')}?id=${encodeURIComponent(id)}`;
    expect(await upgradeStatus(ws, { headers: { cookie: stranger } })).toBe(403);
    const socket = new WebSocket(ws);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.close();
  });
});
