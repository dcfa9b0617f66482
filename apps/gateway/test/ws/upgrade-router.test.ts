import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { UpgradeRouter, upgradeContextOf } from '../../src/ws/upgrade-router';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

/** The HTTP status of a refused upgrade, or 101 when it opened (and the close code that followed). */
function attempt(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; close?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.on('open', () => ws.once('close', (code) => resolve({ status: 101, close: code })));
    ws.on('error', () => undefined);
  });
}

describe('UpgradeRouter', () => {
  let server: Server;
  let port: number;
  const router = new UpgradeRouter(['http://ok.example']);
  const wss = new WebSocketServer({ noServer: true });

  beforeAll(async () => {
    server = createServer((req, res) => res.end(`plain ${req.method} ${req.url}`));
    router.attach(server);
    router.register('/ws', wss);
    // A guard as authentication would add it: 401 without a token, entitlements from it otherwise.
    router.addGuard((req, context) => {
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
      if (token === null) return { status: 401, reason: 'token missing' };
      context.user = token;
      context.entitlements = { symbols: ['AAPL'] };
      return undefined;
    });
    wss.on('connection', (ws, req) => {
      const context = upgradeContextOf(req);
      ws.close(4000, JSON.stringify({ user: context?.user, symbols: context?.entitlements?.symbols }));
    });
    port = await listen(server);
  });

  afterAll(async () => {
    wss.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('decides every upgrade: path, guard, origin, then draining', async () => {
    expect(await attempt(`ws://127.0.0.1:${port}/other?token=t`)).toEqual({ status: 404 });
    expect(await attempt(`ws://127.0.0.1:${port}/ws`)).toEqual({ status: 401 });
    const context = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=alice`);
      ws.on('close', (_code, reason) => resolve(reason.toString()));
    });
    expect(JSON.parse(context)).toEqual({ user: 'alice', symbols: ['AAPL'] });
    expect(await attempt(`ws://127.0.0.1:${port}/ws?token=t`, { Origin: 'http://evil.example' })).toEqual({
      status: 101,
      close: 1008,
    });
    expect((await attempt(`ws://127.0.0.1:${port}/ws/?token=t`, { Origin: 'http://ok.example' })).close).toBe(
      4000,
    );
    router.setDraining();
    expect(await attempt(`ws://127.0.0.1:${port}/ws?token=t`)).toEqual({ status: 503 });
    expect(router.rejectedOrigins).toBe(1);
    expect(router.closes).toEqual({ '1008': 1 });
  });

  it('answers a request offering another upgrade (h2c) as plain HTTP, on any path', async () => {
    for (const path of ['/health/live', '/ws']) {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`http://127.0.0.1:${port}${path}`, {
          headers: {
            Upgrade: 'h2c',
            Connection: 'Upgrade, HTTP2-Settings',
            'HTTP2-Settings': 'AAMAAABkAAQAoAAAAAIAAAAA',
          },
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(answer).toEqual({ status: 200, body: `plain GET ${path}` });
    }
  });
});
