import { createHmac, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { metric } from '../support/gateway';
import { HubListener } from '../support/hub-listener';
import { ServiceRestClient } from '../support/service-rest';

jest.setTimeout(60_000);

const PRIMARY = randomBytes(32).toString('base64');
const SECONDARY = randomBytes(32).toString('base64');
const MAX_BODY = 4096;
let gateway: GatewayProcess;
let service: ServiceRestClient;

beforeAll(async () => {
  gateway = await startGateway({
    GATEWAY_ID: 'pub-auth',
    PUBLISH_ACCESS_KEY: PRIMARY,
    PUBLISH_ACCESS_KEY_SECONDARY: SECONDARY,
    PUBLISH_MAX_BODY_BYTES: String(MAX_BODY),
  });
  service = new ServiceRestClient(`Endpoint=${gateway.http};AccessKey=${PRIMARY};Version=1.0;`);
});

afterAll(() => gateway.stop());

const send = (
  init: Parameters<ServiceRestClient['request']>[2],
  url = service.url('chathub', 'users', 'alice'),
) => service.request('POST', url, { body: { target: 'ReceiveMessage', arguments: ['x'] }, ...init });

async function refusal(res: Response): Promise<{ status: number; error: string }> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: string };
  return { status: res.status, error: body.error };
}

describe('authentication as Azure SignalR Service', () => {
  const url = () => service.url('chathub', 'users', 'alice');

  it('accepts a token signed with either key during a rotation, for its own URL', async () => {
    expect((await send({})).status).toBe(202);
    expect((await send({ token: service.token(url(), { key: SECONDARY }) })).status).toBe(202);
    // `aud` names the URL without the query.
    expect((await service.send(service.url('chathub'), 'ReceiveMessage', [], 'excluded=x')).status).toBe(202);
  });

  it('refuses missing, forged, expired and misdirected tokens with 401', async () => {
    const cases: Array<[string, string | null]> = [
      ['missing', null],
      ['garbage', 'not-a-jwt'],
      ['other key', service.token(url(), { key: randomBytes(32).toString('base64') })],
      ['expired beyond the skew', service.token(url(), { expIn: -40 })],
      ['other path', service.token(service.url('chathub', 'users', 'bob'))],
      ['other host', service.token(url().replace('127.0.0.1', 'localhost'))],
    ];
    for (const [what, token] of cases) {
      const res = await send({ token });
      expect({ what, ...(await refusal(res)) }).toEqual({ what, status: 401, error: 'UNAUTHORIZED' });
    }
  });

  it('requires exp and allows 30 s of clock skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>) => {
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
      return `${input}.${createHmac('sha256', PRIMARY).update(input).digest('base64url')}`;
    };
    expect((await send({ token: sign({ aud: url() }) })).status).toBe(401);
    expect((await send({ token: sign({ aud: url(), exp: now - 10 }) })).status).toBe(202);
    expect((await send({ token: sign({ aud: url(), exp: now + 60, nbf: now + 120 }) })).status).toBe(401);
    expect((await send({ token: sign({ aud: [url()], exp: now + 60 }) })).status).toBe(202);
  });

  it('never writes the key or a token to the log', async () => {
    const token = service.token(url(), { expIn: -100 });
    expect((await send({ token })).status).toBe(401);
    const logs = gateway.logs.join('\n');
    expect(logs).toContain('publish request refused');
    expect(logs).not.toContain(PRIMARY);
    expect(logs).not.toContain(SECONDARY);
    expect(logs).not.toContain(token.split('.')[2] as string);
  });
});

describe('requests', () => {
  it("accepts the Management SDK's body: Target and Arguments in any case, streamed without a length", async () => {
    const listener = await HubListener.open(`${gateway.http}/chathub`);
    try {
      const to = service.url('chathub', 'connections', listener.connectionId);
      expect((await service.send(to, 'ReceiveMessage', ['sdk', 'pascal case'])).status).toBe(202);
      const mixed = { TARGET: 'ReceiveMessage', arguments: ['sdk', 'any case'], Arguments: 'ignored' };
      expect((await service.request('POST', to, { body: mixed, stream: true })).status).toBe(202);
      await listener.waitFor('ReceiveMessage', (args) => args[1] === 'any case');
      expect(listener.of('ReceiveMessage').map((args) => args[1])).toEqual(['pascal case', 'any case']);
    } finally {
      await listener.stop();
    }
  });

  it('takes a connection string with Port=, signing aud without the port as SDK 1.x did', async () => {
    const port = new URL(gateway.http).port;
    const withPort = new ServiceRestClient(
      `Endpoint=http://127.0.0.1;AccessKey=${PRIMARY};Port=${port};Version=1.0;`,
    );
    const url = withPort.url('chathub', 'users', 'alice');
    expect(withPort.audience(url)).toBe('http://127.0.0.1/api/v1/hubs/chathub/users/alice');
    expect((await withPort.send(url, 'ReceiveMessage', ['x'])).status).toBe(202);
  });

  it('refuses bad bodies with 400 and a JSON error', async () => {
    const bodies: unknown[] = [
      'not json',
      '[]',
      { arguments: [] },
      { target: '', arguments: [] },
      { target: 7, arguments: [] },
      { target: 'ReceiveMessage' },
      { target: 'ReceiveMessage', arguments: 'x' },
      { target: 'ReceiveMessage', arguments: ['y'.repeat(MAX_BODY)] },
    ];
    for (const body of bodies) {
      const res = await service.request('POST', service.url('chathub'), { body });
      expect({ body, ...(await refusal(res)) }).toEqual({ body, status: 400, error: 'BAD_REQUEST' });
    }
  });

  it('refuses a streamed body (no Content-Length) once it passes the limit, before it ends', async () => {
    const url = new URL(service.url('chathub'));
    // A raw socket, so that the test sees the answer arrive while it is still sending.
    const received = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let text = '';
      socket.on('data', (data: Buffer) => {
        text += data.toString();
        const [head, body = ''] = text.split('\r\n\r\n');
        const length = Number(/content-length: (\d+)/i.exec(head ?? '')?.[1]);
        if (body.length >= length) {
          socket.end('0\r\n\r\n');
          resolve(text);
        }
      });
      socket.on('error', reject);
      socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${service.token(url.href)}\r\n` +
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      const chunk = `400\r\n${'x'.repeat(1024)}\r\n`;
      let sent = 0;
      // Up to 16 MiB, far more than the limit: the answer must come long before.
      const pump = () => {
        while (text === '' && !socket.destroyed && sent < 16_384) {
          sent++;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    const [head, body] = received.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(body)).toMatchObject({ error: 'BAD_REQUEST' });
  });

  it('answers 404 for an unknown hub, only after authentication', async () => {
    expect(await refusal(await service.send(service.url('nohub'), 'ReceiveMessage', []))).toEqual({
      status: 404,
      error: 'UNKNOWN_HUB',
    });
    expect((await service.request('POST', service.url('nohub'), { token: null })).status).toBe(401);
  });

  it('answers 400 for a Host header that is no host', async () => {
    const url = new URL(service.url('chathub'));
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { host: 'not a host' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(400);
  });

  it('answers 405 with Allow for a method a path does not serve', async () => {
    const res = await service.request('GET', service.url('chathub', 'users', 'alice'));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('counts requests by status', async () => {
    expect(
      await metric(gateway.http, 'tickhub_gateway_publish_requests_total', 'status="202"'),
    ).toBeGreaterThan(0);
    expect(
      await metric(gateway.http, 'tickhub_gateway_publish_requests_total', 'status="401"'),
    ).toBeGreaterThan(0);
  });
});

describe('anonymous connections', () => {
  it('are reached by connection id and by group, never as a user', async () => {
    const anonymous = await HubListener.open(`${gateway.http}/chathub`);
    try {
      const id = anonymous.connectionId;
      await service.send(service.url('chathub', 'users', 'anonymous'), 'ReceiveMessage', ['u', 'as a user']);
      await service.send(service.url('chathub', 'connections', id), 'ReceiveMessage', ['c', 'by id']);
      await service.request('PUT', service.url('chathub', 'groups', 'lobby', 'connections', id));
      await service.send(service.url('chathub', 'groups', 'lobby'), 'ReceiveMessage', ['g', 'by group']);
      await service.send(service.url('chathub'), 'Marker', ['end']);
      await anonymous.waitFor('Marker');
      expect(anonymous.of('ReceiveMessage').map((args) => args[1])).toEqual(['by id', 'by group']);
    } finally {
      await anonymous.stop();
    }
  });
});

describe('without PUBLISH_ACCESS_KEY', () => {
  it('serves no publish API', async () => {
    const plain = await startGateway({ GATEWAY_ID: 'pub-off' });
    try {
      const client = new ServiceRestClient(`Endpoint=${plain.http};AccessKey=${PRIMARY};Version=1.0;`);
      const res = await client.send(client.url('chathub'), 'ReceiveMessage', []);
      expect(res.status).toBe(404);
    } finally {
      await plain.stop();
    }
  });
});
