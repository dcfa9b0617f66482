import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { buildClient, type HubHost, startHubHost, waitFor } from '../src/testing';
import { Journal, TestHub } from './test-hubs';

// Real servers and clients over loopback on a shared machine: generous time, conditions not sleeps.
jest.setTimeout(30_000);

const RS = '\u001e';

async function negotiate(base: string, query = '?negotiateVersion=1') {
  const res = await fetch(`${base}/negotiate${query}`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function post(url: string, body: string) {
  const res = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'text/plain' } });
  await res.arrayBuffer();
  return res.status;
}

async function poll(url: string) {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', (error) => {
      if (!String(error).includes('Unexpected server response')) reject(error);
    });
  });
}

describe('negotiate', () => {
  let host: HubHost;
  let base: string;

  beforeAll(async () => {
    host = await startHubHost({ hubs: [{ path: '/test', hub: new TestHub() }] });
    base = `${host.baseUrl}/test`;
  });

  afterAll(() => host.close());

  it('version 1: connection id, secret token, every transport with its transfer formats', async () => {
    const { status, body } = await negotiate(base);
    expect(status).toBe(200);
    expect(body).toEqual({
      connectionId: expect.any(String),
      connectionToken: expect.any(String),
      negotiateVersion: 1,
      availableTransports: [
        { transport: 'WebSockets', transferFormats: ['Text', 'Binary'] },
        { transport: 'ServerSentEvents', transferFormats: ['Text'] },
        { transport: 'LongPolling', transferFormats: ['Text', 'Binary'] },
      ],
    });
    expect(body.connectionToken).not.toBe(body.connectionId);
  });

  it('version 0 when the client names none; the highest supported when it asks for more', async () => {
    const v0 = await negotiate(base, '');
    expect(v0.body.negotiateVersion).toBe(0);
    expect(v0.body.connectionToken).toBeUndefined();
    expect(typeof v0.body.connectionId).toBe('string');
    // Version 0 clients address the connection by its id.
    expect((await poll(`${base}?id=${v0.body.connectionId}`)).status).toBe(200);
    expect((await negotiate(base, '?negotiateVersion=7')).body.negotiateVersion).toBe(1);
  });

  it('errors in the spec shape', async () => {
    const bad = await negotiate(base, '?negotiateVersion=abc');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: expect.stringContaining("invalid protocol version 'abc'") });
    const get = await fetch(`${base}/negotiate?negotiateVersion=1`);
    expect(get.status).toBe(405);
    await get.arrayBuffer();
    const other = await fetch(`${host.baseUrl}/nohub/negotiate`, { method: 'POST' });
    expect(other.status).toBe(404);
    await other.arrayBuffer();
  });

  it('refuses with 401 when authentication says no, 503 at the connection limit', async () => {
    const guarded = await startHubHost({
      hubs: [{ path: '/test', hub: new TestHub() }],
      transport: {
        authenticate: (req) => (req.headers.authorization === 'Bearer good' ? { userId: 'u1' } : null),
        maxConnections: 1,
      },
    });
    try {
      const url = `${guarded.baseUrl}/test/negotiate?negotiateVersion=1`;
      const denied = await fetch(url, { method: 'POST' });
      expect(denied.status).toBe(401);
      expect(await denied.json()).toEqual({ error: expect.any(String) });
      const ok = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer good' } });
      expect(ok.status).toBe(200);
      await ok.arrayBuffer();
      const full = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer good' } });
      expect(full.status).toBe(503);
      expect(await full.json()).toEqual({ error: expect.stringContaining('limit') });
      expect(await upgradeStatus(`${guarded.baseUrl.replace('http', 'ws')}/test`)).toBe(503);
    } finally {
      await guarded.close();
    }
  });

  it('prefixes ids and tokens with the pod so that a load balancer can route on ?id=', async () => {
    const pod = await startHubHost({
      hubs: [{ path: '/test', hub: new TestHub() }],
      transport: { connectionIdPrefix: 'gw-7.' },
    });
    try {
      const { body } = await negotiate(`${pod.baseUrl}/test`);
      expect(body.connectionToken).toMatch(/^gw-7\.[A-Za-z0-9_-]+$/);
      expect(body.connectionId).toMatch(/^gw-7\.[A-Za-z0-9_-]+$/);
      const client = buildClient(`${pod.baseUrl}/test`, 'LongPolling', 'json');
      await client.start();
      expect(client.connectionId).toMatch(/^gw-7\./);
      expect(await client.invoke('Add', 1, 2)).toBe(3);
      await client.stop();
    } finally {
      await pod.close();
    }
  });

  it('CORS: listed origins get credentials-enabled CORS headers and preflights, others 403', async () => {
    const cors = await startHubHost({
      hubs: [{ path: '/test', hub: new TestHub() }],
      transport: { allowedOrigins: ['http://dash.example'] },
    });
    try {
      const url = `${cors.baseUrl}/test/negotiate?negotiateVersion=1`;
      const preflight = await fetch(url, {
        method: 'OPTIONS',
        headers: {
          Origin: 'http://dash.example',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'x-requested-with,x-signalr-user-agent',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://dash.example');
      expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
      expect(preflight.headers.get('access-control-allow-headers')).toBe(
        'x-requested-with,x-signalr-user-agent',
      );
      const allowed = await fetch(url, { method: 'POST', headers: { Origin: 'http://dash.example' } });
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('http://dash.example');
      await allowed.arrayBuffer();
      const foreign = await fetch(url, { method: 'POST', headers: { Origin: 'http://evil.example' } });
      expect(foreign.status).toBe(403);
      await foreign.arrayBuffer();
      const sameOrigin = await fetch(url, { method: 'POST' });
      expect(sameOrigin.status).toBe(200);
      expect(sameOrigin.headers.get('access-control-allow-origin')).toBeNull();
      await sameOrigin.arrayBuffer();
    } finally {
      await cors.close();
    }
  });

  it('offers only the configured transports and refuses the others', async () => {
    const lp = await startHubHost({
      hubs: [{ path: '/test', hub: new TestHub() }],
      transport: { transports: ['LongPolling'] },
    });
    try {
      const { body } = await negotiate(`${lp.baseUrl}/test`);
      expect(body.availableTransports).toEqual([
        { transport: 'LongPolling', transferFormats: ['Text', 'Binary'] },
      ]);
      expect(await upgradeStatus(`${lp.baseUrl.replace('http', 'ws')}/test?id=${body.connectionToken}`)).toBe(
        404,
      );
      // The official client picks long polling on its own.
      const client = buildClient(`${lp.baseUrl}/test`, 'WebSockets', 'json');
      await expect(client.start()).rejects.toThrow();
      const auto = new (await import('@microsoft/signalr')).HubConnectionBuilder()
        .withUrl(`${lp.baseUrl}/test`)
        .configureLogging(6)
        .build();
      await auto.start();
      expect(await auto.invoke('WhoAmI')).toMatchObject({ transport: 'LongPolling' });
      await auto.stop();
    } finally {
      await lp.close();
    }
  });
});

describe('HTTP transports: status codes', () => {
  let host: HubHost;
  let base: string;
  const journal = new Journal();

  beforeAll(async () => {
    host = await startHubHost({
      hubs: [{ path: '/test', hub: new TestHub(journal) }],
      transport: { disconnectTimeoutMs: 1000, negotiateTimeoutMs: 1000, longPollTimeoutMs: 500 },
    });
    base = `${host.baseUrl}/test`;
  });

  afterAll(() => host.close());

  it('400 without id, 404 for an unknown id, on every verb', async () => {
    expect((await poll(base)).status).toBe(400);
    expect(await post(base, 'x')).toBe(400);
    expect((await poll(`${base}?id=nope`)).status).toBe(404);
    expect(await post(`${base}?id=nope`, 'x')).toBe(404);
    const del = await fetch(`${base}?id=nope`, { method: 'DELETE' });
    expect(del.status).toBe(404);
    await del.arrayBuffer();
    expect(await upgradeStatus(`${base.replace('http', 'ws')}?id=nope`)).toBe(404);
    const put = await fetch(`${base}?id=nope`, { method: 'PUT' });
    expect(put.status).toBe(405);
    await put.arrayBuffer();
  });

  it('long polling: first poll 200 empty, handshake by POST, data by poll, empty 200 on poll timeout, DELETE 202 then 204', async () => {
    const { body } = await negotiate(base);
    const url = `${base}?id=${body.connectionToken}`;
    const first = await poll(url);
    expect(first).toEqual({ status: 200, text: '' });
    expect(await post(url, `{"protocol":"json","version":1}${RS}`)).toBe(200);
    expect(await poll(url)).toEqual({ status: 200, text: `{}${RS}` });
    expect(await post(url, `{"type":1,"invocationId":"1","target":"Add","arguments":[40,2]}${RS}`)).toBe(200);
    expect(await poll(url)).toEqual({ status: 200, text: `{"type":3,"invocationId":"1","result":42}${RS}` });
    // Nothing to send: the poll ends empty after the poll timeout and the client polls again.
    expect(await poll(url)).toEqual({ status: 200, text: '' });
    // A WebSocket cannot take over a long-polling connection.
    expect(await upgradeStatus(`${base.replace('http', 'ws')}?id=${body.connectionToken}`)).toBe(409);
    const waiting = poll(url);
    await new Promise((r) => setTimeout(r, 100));
    const del = await fetch(url, { method: 'DELETE' });
    expect(del.status).toBe(202);
    await del.arrayBuffer();
    expect((await waiting).status).toBe(204);
    expect((await poll(url)).status).toBe(404);
    await waitFor(() => journal.disconnected.some((d) => d.id === body.connectionId), 5000, 'onDisconnected');
  });

  it('a second POST while one is still being received gets 409; messages split across chunks still parse', async () => {
    const { body } = await negotiate(base);
    const url = `${base}?id=${body.connectionToken}`;
    await poll(url);
    let push: (chunk: string) => void = () => {};
    let end: () => void = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (chunk) => controller.enqueue(new TextEncoder().encode(chunk));
        end = () => controller.close();
      },
    });
    const slow = fetch(url, { method: 'POST', body: stream, duplex: 'half' } as RequestInit & {
      duplex: 'half';
    });
    push(`{"protocol":"json","version":1}${RS}{"type":1,"invocationId":"1","target":"Add",`);
    await waitFor(() => journal.connected.includes(body.connectionId as string), 5000, 'the handshake chunk');
    expect(await post(url, `{"type":6}${RS}`)).toBe(409);
    push(`"arguments":[2,3]}${RS}`);
    end();
    expect((await slow).status).toBe(200);
    expect(await poll(url)).toEqual({
      status: 200,
      text: `{}${RS}{"type":3,"invocationId":"1","result":5}${RS}`,
    });
    const del = await fetch(url, { method: 'DELETE' });
    expect(del.status).toBe(202);
    await del.arrayBuffer();
  });

  it('a newer poll ends the waiting one with 204', async () => {
    const { body } = await negotiate(base);
    const url = `${base}?id=${body.connectionToken}`;
    await poll(url);
    await post(url, `{"protocol":"json","version":1}${RS}`);
    await poll(url);
    const older = poll(url);
    await new Promise((r) => setTimeout(r, 50));
    const newer = poll(url);
    expect((await older).status).toBe(204);
    expect((await newer).status).toBe(200);
  });

  it('cleans up a long-polling client that stops polling', async () => {
    const { body } = await negotiate(base);
    const url = `${base}?id=${body.connectionToken}`;
    await poll(url);
    await post(url, `{"protocol":"json","version":1}${RS}`);
    await poll(url);
    expect(journal.connected).toContain(body.connectionId);
    // No more polls: after the disconnect timeout (1 s here) the connection is gone.
    const mine = () => journal.disconnected.find((d) => d.id === body.connectionId);
    await waitFor(() => mine() !== undefined, 10_000, 'the vanished client to be dropped');
    expect(mine()).toEqual({ id: body.connectionId, error: 'The client stopped polling.' });
    expect(await post(url, `{"type":6}${RS}`)).toBe(404);
    await waitFor(() => host.signalr.connectionCount === 0, 5000, 'no connections left');
  });

  it('drops a negotiated connection that never starts a transport', async () => {
    const { body } = await negotiate(base);
    await waitFor(() => host.signalr.connectionCount === 0, 10_000, 'the unused connection to go');
    expect((await poll(`${base}?id=${body.connectionToken}`)).status).toBe(404);
  });

  it('server-sent events: text/event-stream, one data line per message, second stream 409, POST to send', async () => {
    const { body } = await negotiate(base);
    const url = `${base}?id=${body.connectionToken}`;
    const controller = new AbortController();
    const res = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let received = '';
    const readUntil = async (needle: string) => {
      while (!received.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        received += Buffer.from(value).toString('utf8');
      }
    };
    const second = await fetch(url, { headers: { Accept: 'text/event-stream' } });
    expect(second.status).toBe(409);
    await second.arrayBuffer();
    // Binary protocols cannot travel over SSE.
    expect(await post(url, `{"protocol":"json","version":1}${RS}`)).toBe(200);
    await readUntil(`data: {}${RS}\r\n\r\n`);
    expect(await post(url, `{"type":1,"invocationId":"7","target":"Echo","arguments":["a\\nb"]}${RS}`)).toBe(
      200,
    );
    await readUntil(`data: {"type":3,"invocationId":"7","result":"a\\nb"}${RS}\r\n\r\n`);
    const del = await fetch(url, { method: 'DELETE' });
    expect(del.status).toBe(400);
    await del.arrayBuffer();
    controller.abort();
    await waitFor(
      () => journal.disconnected.some((d) => d.id === body.connectionId),
      5000,
      'SSE close to end it',
    );
  });

  it('server-sent events refuse the messagepack protocol in the handshake', async () => {
    const { body } = await negotiate(base);
    const url = `${base}?id=${body.connectionToken}`;
    const res = await fetch(url, { headers: { Accept: 'text/event-stream' } });
    const reader = res.body!.getReader();
    expect(await post(url, `{"protocol":"messagepack","version":1}${RS}`)).toBe(200);
    let received = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      received += Buffer.from(value).toString('utf8');
    }
    expect(received).toContain(
      'data: {"error":"Cannot use the \'messagepack\' protocol on the current transport.',
    );
  });

  it('WebSockets: 409 for a second socket on the same connection, POST 405', async () => {
    const { body } = await negotiate(base);
    const wsUrl = `${base.replace('http', 'ws')}?id=${body.connectionToken}`;
    const first = new WebSocket(wsUrl);
    await new Promise((resolve) => first.once('open', resolve));
    expect(await upgradeStatus(wsUrl)).toBe(409);
    expect(await post(`${base}?id=${body.connectionToken}`, 'x')).toBe(405);
    first.close();
  });
});

describe('WebSocket upgrades of a negotiated connection (authentication on)', () => {
  let host: HubHost;
  let base: string;
  const foreign: number[] = [];

  beforeAll(async () => {
    host = await startHubHost({
      hubs: [{ path: '/test', hub: new TestHub() }],
      transport: {
        authenticate: (req) => {
          const user = /^Bearer (\w+)$/.exec(req.headers.authorization ?? '')?.[1];
          return user === undefined ? undefined : { userId: user };
        },
        onForeignRequest: (_req, _connection, status) => foreign.push(status),
      },
    });
    base = `${host.baseUrl}/test`;
  });

  afterAll(() => host.close());

  async function negotiateAs(user: string): Promise<string> {
    const res = await fetch(`${base}/negotiate?negotiateVersion=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user}` },
    });
    return ((await res.json()) as { connectionToken: string }).connectionToken;
  }

  function upgradeAs(id: string, user?: string): Promise<number> {
    return upgradeStatus(
      `${base.replace('http', 'ws')}?id=${encodeURIComponent(id)}`,
      user ? { authorization: `Bearer ${user}` } : {},
    );
  }

  it("a stranger's upgrade onto a running long-polling connection is 403 before the owner's 409", async () => {
    foreign.length = 0;
    const id = await negotiateAs('alice');
    const first = await fetch(`${base}?id=${encodeURIComponent(id)}`, {
      headers: { authorization: 'Bearer alice' },
    });
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    expect(await upgradeAs(id, 'bob')).toBe(403);
    expect(await upgradeAs(id)).toBe(403);
    expect(await upgradeAs(id, 'alice')).toBe(409);
    expect(foreign).toEqual([403, 403]);
  });

  it('refuseAnonymousUpgrade: 403 for an existing connection, nothing for anything else', async () => {
    foreign.length = 0;
    const id = await negotiateAs('alice');
    const upgrade = (url: string) => ({ url, headers: {}, socket: {} }) as unknown as IncomingMessage;
    expect(host.signalr.refuseAnonymousUpgrade(upgrade(`/test?id=${encodeURIComponent(id)}`))).toEqual({
      status: 403,
      reason: 'Forbidden',
    });
    expect(host.signalr.refuseAnonymousUpgrade(upgrade('/test?id=unknown'))).toBeUndefined();
    expect(host.signalr.refuseAnonymousUpgrade(upgrade('/test'))).toBeUndefined();
    expect(
      host.signalr.refuseAnonymousUpgrade(upgrade(`/other?id=${encodeURIComponent(id)}`)),
    ).toBeUndefined();
    expect(foreign).toEqual([403]);
  });
});
