import { randomBytes } from 'node:crypto';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { HS256_SECRET, hs256Token } from '../support/auth';
import { metric } from '../support/gateway';
import { HubListener } from '../support/hub-listener';
import { ServiceRestClient } from '../support/service-rest';

jest.setTimeout(120_000);

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) {
  throw new Error(
    'REDIS_URL is not set: this suite needs a real Redis (e.g. REDIS_URL=redis://127.0.0.1:6379)',
  );
}

const ACCESS_KEY = randomBytes(32).toString('base64');
const pods: GatewayProcess[] = [];
const listeners: HubListener[] = [];
let a: GatewayProcess;
let b: GatewayProcess;
/** The Management SDK's view of pod A: `Endpoint=…;AccessKey=…;Version=1.0;`. */
let service: ServiceRestClient;

beforeAll(async () => {
  const env = {
    REDIS_URL: REDIS_URL as string,
    // A prefix of its own per run: other tests share this Redis.
    REDIS_KEY_PREFIX: `tickhub-publish-${randomBytes(4).toString('hex')}:`,
    AUTH_MODE: 'hs256',
    AUTH_HS256_SECRET: HS256_SECRET,
    PUBLISH_ACCESS_KEY: ACCESS_KEY,
    PUBLISH_MAX_BODY_BYTES: '4096',
  };
  [a, b] = await Promise.all([
    startGateway({ ...env, GATEWAY_ID: 'pub-a' }),
    startGateway({ ...env, GATEWAY_ID: 'pub-b' }),
  ]);
  pods.push(a, b);
  service = new ServiceRestClient(`Endpoint=${a.http};AccessKey=${ACCESS_KEY};Version=1.0;`);
});

afterAll(async () => {
  await Promise.all(listeners.map((l) => l.stop()));
  await Promise.all(pods.map((p) => p.stop()));
});

async function listen(pod: GatewayProcess, user: string, hub = '/chathub'): Promise<HubListener> {
  const listener = await HubListener.open(`${pod.http}${hub}`, { token: await hs256Token({ sub: user }) });
  listeners.push(listener);
  return listener;
}

/**
 * Broadcasts a marker and waits until every listener has it: messages published earlier through the
 * same pod have been delivered by then, so what a listener lacks it will never get.
 */
async function settle(hub: string, everyone: HubListener[]): Promise<void> {
  const marker = randomBytes(6).toString('hex');
  expect((await service.send(service.url(hub), 'Marker', [marker])).status).toBe(202);
  await Promise.all(everyone.map((l) => l.waitFor('Marker', (args) => args[0] === marker)));
}

const texts = (listener: HubListener): unknown[] => listener.of('ReceiveMessage').map((args) => args[1]);

describe('sends through two pods', () => {
  it('a user send reaches every connection of that user on both pods and nobody else', async () => {
    const aliceA = await listen(a, 'alice');
    const aliceB = await listen(b, 'alice');
    const bobB = await listen(b, 'bob');
    const zoe = await listen(a, 'zoe');
    const res = await service.send(service.url('chathub', 'users', 'alice'), 'ReceiveMessage', [
      'ops',
      'fill 1',
    ]);
    expect(res.status).toBe(202);
    await Promise.all(
      [aliceA, aliceB].map((l) => l.waitFor('ReceiveMessage', (args) => args[1] === 'fill 1')),
    );
    await settle('chathub', [aliceA, aliceB, bobB, zoe]);
    expect(texts(aliceA)).toEqual(['fill 1']);
    expect(texts(aliceB)).toEqual(['fill 1']);
    expect(texts(bobB)).toEqual([]);
    expect(texts(zoe)).toEqual([]);
  });

  it('adds a user to a group on every pod, then a group send reaches only its members', async () => {
    const carolA = await listen(a, 'carol');
    const carolB = await listen(b, 'carol');
    const daveB = await listen(b, 'dave');
    const add = await service.request('PUT', service.url('chathub', 'groups', 'desk-1', 'users', 'carol'));
    expect(add.status).toBe(202);
    // The membership travels on the backplane like a send, so the send after it finds it applied.
    await service.send(service.url('chathub', 'groups', 'desk-1'), 'ReceiveMessage', ['desk', 'hello desk']);
    await Promise.all(
      [carolA, carolB].map((l) => l.waitFor('ReceiveMessage', (args) => args[1] === 'hello desk')),
    );
    const remove = await service.request(
      'DELETE',
      service.url('chathub', 'groups', 'desk-1', 'users', 'carol'),
    );
    expect(remove.status).toBe(202);
    await service.send(service.url('chathub', 'groups', 'desk-1'), 'ReceiveMessage', [
      'desk',
      'after leaving',
    ]);
    await settle('chathub', [carolA, carolB, daveB]);
    expect(texts(carolA)).toEqual(['hello desk']);
    expect(texts(carolB)).toEqual(['hello desk']);
    expect(texts(daveB)).toEqual([]);
  });

  it('adds a connection of another pod to a group, and sends to one connection anywhere', async () => {
    const memberB = await listen(b, 'yves');
    const otherB = await listen(b, 'xena');
    const id = memberB.connectionId;
    expect(
      (await service.request('PUT', service.url('chathub', 'groups', 'g2', 'connections', id))).status,
    ).toBe(202);
    await service.send(service.url('chathub', 'groups', 'g2'), 'ReceiveMessage', ['g2', 'to the group']);
    await service.send(service.url('chathub', 'connections', id), 'ReceiveMessage', [
      'c',
      'to the connection',
    ]);
    await memberB.waitFor('ReceiveMessage', (args) => args[1] === 'to the connection');
    expect(
      (await service.request('DELETE', service.url('chathub', 'groups', 'g2', 'connections', id))).status,
    ).toBe(202);
    await service.send(service.url('chathub', 'groups', 'g2'), 'ReceiveMessage', ['g2', 'after removal']);
    await settle('chathub', [memberB, otherB]);
    expect(texts(memberB)).toEqual(['to the group', 'to the connection']);
    expect(texts(otherB)).toEqual([]);
  });

  it('a broadcast with excluded connection ids skips exactly those', async () => {
    const one = await listen(a, 'erin');
    const two = await listen(b, 'erin');
    const three = await listen(b, 'yves');
    const query = `excluded=${encodeURIComponent(two.connectionId)}&excluded=${encodeURIComponent(three.connectionId)}`;
    const res = await service.send(service.url('chathub'), 'ReceiveMessage', ['all', 'not for two'], query);
    expect(res.status).toBe(202);
    await settle('chathub', [one, two, three]);
    expect(texts(one)).toContain('not for two');
    expect(texts(two)).not.toContain('not for two');
    expect(texts(three)).not.toContain('not for two');
  });

  it('reaches the market hub by its name markethub, with any target', async () => {
    const token = await hs256Token({ sub: 'frank' });
    const trader = await HubListener.open(`${b.http}/hubs/market`, { token, targets: ['fill'] });
    listeners.push(trader);
    const res = await service.send(service.url('MarketHub', 'users', 'frank'), 'fill', [
      { symbol: 'AAPL', qty: 10 },
    ]);
    expect(res.status).toBe(202);
    expect(await trader.waitFor('fill')).toEqual([{ symbol: 'AAPL', qty: 10 }]);
  });
});

describe("today's Management SDK paths (api-version 2024-12-01)", () => {
  const API = 'api-version=2024-12-01';

  it('sends to a user, a user group, everyone but one, and one connection; answers existence and health', async () => {
    const ginaA = await listen(a, 'gina');
    const ginaB = await listen(b, 'gina');
    const hank = await listen(b, 'hank');
    const post = (url: string, text: string, query = API) =>
      service.send(url, 'ReceiveMessage', ['sdk', text], query);
    expect((await post(service.currentUrl('ChatHub', 'users', 'gina', ':send'), 'to gina')).status).toBe(202);
    const join = await service.request(
      'PUT',
      service.currentUrl('chathub', 'users', 'hank', 'groups', 'g3'),
      {
        query: API,
      },
    );
    expect(join.status).toBe(202);
    expect((await post(service.currentUrl('chathub', 'groups', 'g3', ':send'), 'to g3')).status).toBe(202);
    const except = `${API}&excluded=${encodeURIComponent(ginaB.connectionId)}`;
    expect((await post(service.currentUrl('chathub', ':send'), 'to all but one', except)).status).toBe(202);
    const id = hank.connectionId;
    expect((await post(service.currentUrl('chathub', 'connections', id, ':send'), 'to hank')).status).toBe(
      202,
    );
    await settle('chathub', [ginaA, ginaB, hank]);
    expect(texts(ginaA)).toEqual(['to gina', 'to all but one']);
    expect(texts(ginaB)).toEqual(['to gina']);
    expect(texts(hank)).toEqual(['to g3', 'to all but one', 'to hank']);
    const exists = await service.request('HEAD', service.currentUrl('chathub', 'connections', id), {
      query: API,
    });
    expect(exists.status).toBe(200);
    expect((await fetch(`${a.http}/api/health?${API}`)).status).toBe(200);
  });

  it("accepts the SDK's token, whose aud names the host without the endpoint's port, with the query", async () => {
    const url = service.currentUrl('chathub', 'users', 'nobody', ':send');
    const port = new URL(a.http).port;
    const aud = service.audience(url, `${API}&excluded=x`);
    expect(aud).toBe(`http://127.0.0.1/api/hubs/chathub/users/nobody/:send?${API}`);
    const send = (token: string) =>
      service.request('POST', url, { body: { Target: 'T', Arguments: [] }, query: API, token });
    expect((await send(service.token(aud))).status).toBe(202);
    // A port, when named, must be the gateway's.
    const otherPort = aud.replace('127.0.0.1/', `127.0.0.1:${Number(port) + 1}/`);
    expect((await send(service.token(otherPort))).status).toBe(401);
    expect((await send(service.token(aud.replace('127.0.0.1/', 'localhost/')))).status).toBe(401);
  });

  it('names the hubs of an application {application}_{hub}, as the service does', async () => {
    const res = await service.send(
      service.currentUrl('chathub', ':send'),
      'ReceiveMessage',
      [],
      `application=shop&${API}`,
    );
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toBe('no hub is named shop_chathub');
  });
});

describe('connection existence across pods', () => {
  it('answers 200 for a connection on either pod and 404 for an unknown or closed one', async () => {
    const onB = await listen(b, 'yves');
    const id = onB.connectionId;
    for (const method of ['GET', 'HEAD']) {
      expect((await service.request(method, service.url('chathub', 'connections', id))).status).toBe(200);
    }
    const unknown = await service.request('GET', service.url('chathub', 'connections', 'pub-b.nobody'));
    expect(unknown.status).toBe(404);
    expect((await service.request('HEAD', service.url('markethub', 'connections', id))).status).toBe(404);
    await onB.stop();
    let status = 0;
    for (let i = 0; i < 50 && status !== 404; i++) {
      status = (await service.request('GET', service.url('chathub', 'connections', id))).status;
    }
    expect(status).toBe(404);
  });
});

describe('metrics', () => {
  it('counts hub messages the backplane dropped: none while Redis keeps up', async () => {
    for (const pod of pods)
      expect(await metric(pod.http, 'tickhub_gateway_backplane_dropped_messages_total')).toBe(0);
    expect(await metric(a.http, 'tickhub_gateway_publish_requests_total', 'status="202"')).toBeGreaterThan(0);
  });
});
