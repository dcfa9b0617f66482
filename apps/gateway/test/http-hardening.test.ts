import { connect, type Socket } from 'node:net';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { HS256_SECRET, hs256Token } from './support/auth';

jest.setTimeout(60_000);

let gw: GatewayProcess;

beforeAll(async () => {
  gw = await startGateway({
    AUTH_MODE: 'hs256',
    AUTH_HS256_SECRET: HS256_SECRET,
    MAX_HALF_OPEN_SOCKETS_PER_IP: '5',
  });
});

afterAll(async () => {
  await gw?.stop();
});

describe('security headers', () => {
  it.each(['/', '/api/symbols', '/health/live'])(
    '%s carries CSP (no framing), nosniff and no-referrer',
    async (path) => {
      const res = await fetch(`${gw.http}${path}`);
      await res.arrayBuffer();
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("object-src 'none'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    },
  );
});

describe('oversized and invalid credentials', () => {
  it('a 100 KB bearer header is refused before it is parsed (431), on negotiate as everywhere', async () => {
    const huge = `Bearer ${'x'.repeat(100_000)}`;
    for (const [path, method] of [
      ['/hubs/market/negotiate?negotiateVersion=1', 'POST'],
      ['/api/symbols', 'GET'],
    ] as const) {
      const res = await fetch(`${gw.http}${path}`, { method, headers: { authorization: huge } });
      await res.arrayBuffer();
      expect(res.status).toBe(431);
    }
  });

  it('a token over 8 KB is invalid (401) without being verified', async () => {
    const res = await fetch(`${gw.http}/hubs/market/negotiate?negotiateVersion=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${'x'.repeat(9000)}` },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'token invalid' });
  });

  it('a bad token on the start of an event stream or a long poll is 401, as documented', async () => {
    const good = await hs256Token({ sub: 'alice' });
    const res = await fetch(`${gw.http}/hubs/market/negotiate?negotiateVersion=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${good}` },
    });
    const { connectionToken } = (await res.json()) as { connectionToken: string };
    const url = `${gw.http}/hubs/market?id=${encodeURIComponent(connectionToken)}`;
    const bad = await hs256Token({ sub: 'alice' }, { expIn: -60 });
    for (const accept of ['text/event-stream', '*/*']) {
      const attempt = await fetch(url, { headers: { accept, authorization: `Bearer ${bad}` } });
      await attempt.arrayBuffer();
      expect(attempt.status).toBe(401);
    }
  });
});

describe('half-open sockets', () => {
  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect(gw.port, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    });
  const closedSoon = (socket: Socket, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (socket.destroyed) return resolve(true);
      const timer = setTimeout(() => resolve(false), ms);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });

  it('an address holds at most MAX_HALF_OPEN_SOCKETS_PER_IP sockets without a request; requests still pass', async () => {
    const idle = await Promise.all(Array.from({ length: 5 }, open));
    const sixth = await open();
    sixth.on('error', () => {});
    expect(await closedSoon(sixth, 5000)).toBe(true);
    // The held ones are still open; one that sends its request is no longer half-open and frees a slot.
    expect(idle.every((s) => !s.destroyed)).toBe(true);
    const answer = new Promise<string>((resolve) => {
      let text = '';
      idle[0]?.on('data', (chunk) => {
        text += chunk.toString();
        if (text.includes('\r\n\r\n')) resolve(text);
      });
    });
    idle[0]?.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await answer).toMatch(/^HTTP\/1\.1 200/);
    const seventh = await open();
    expect(await closedSoon(seventh, 500)).toBe(false);
    for (const s of [...idle, seventh]) s.destroy();
  });
});
