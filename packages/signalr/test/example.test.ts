import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createChatServer } from '../example/chat-server';
import { buildClient, COMBINATIONS, waitFor } from '../src/testing';

jest.setTimeout(30_000);

describe('the example chat server (bare node:http)', () => {
  const { http, signalr } = createChatServer();
  let baseUrl: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await signalr.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  it.each(COMBINATIONS)('%s + %s: a message reaches every client', async (t, p) => {
    const alice = buildClient(`${baseUrl}/chathub`, t, p);
    const bob = buildClient(`${baseUrl}/chathub`, 'WebSockets', 'json');
    const got: string[] = [];
    bob.on('ReceiveMessage', (user: string, message: string) => got.push(`${user}: ${message}`));
    await Promise.all([alice.start(), bob.start()]);
    await alice.invoke('SendMessage', 'alice', `over ${t}/${p}`);
    await waitFor(() => got.length === 1, 10_000, 'the message');
    expect(got).toEqual([`alice: over ${t}/${p}`]);
    await expect(alice.invoke('SendMessage', 'alice', 42)).rejects.toThrow('Error binding arguments');
    await Promise.all([alice.stop(), bob.stop()]);
  });

  it('serves its page, and answers a request offering h2c as plain HTTP', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${baseUrl}/`, {
        headers: { Upgrade: 'h2c', Connection: 'Upgrade, HTTP2-Settings' },
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
    expect(answer.status).toBe(200);
    expect(answer.body).toContain("withUrl('/chathub')");
  });
});

describe('the README quick start (example/quick-start.ts)', () => {
  const root = join(__dirname, '..');

  it('is the README text, word for word', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /## Quick start[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    const source = readFileSync(join(root, 'example/quick-start.ts'), 'utf8');
    expect(block).toBe(source.replace("from '../src'", "from '@tickhub/signalr'"));
    expect(
      source
        .trim()
        .split('\n')
        .filter((line) => line.trim() !== ''),
    ).toHaveLength(10);
  });

  it('runs: the official client chats through it on every transport and protocol', async () => {
    const previousPort = process.env.PORT;
    process.env.PORT = '0';
    const { signalr } = (await import('../example/quick-start')) as typeof import('../example/quick-start');
    if (previousPort === undefined) delete process.env.PORT;
    else process.env.PORT = previousPort;
    try {
      await waitFor(() => signalr.httpServer?.listening === true, 10_000, 'the quick start to listen');
      const address = signalr.httpServer?.address() as AddressInfo;
      const url = `http://127.0.0.1:${address.port}/chathub`;
      for (const [t, p] of COMBINATIONS) {
        const client = buildClient(url, t, p);
        const got: string[] = [];
        client.on('ReceiveMessage', (user: string, message: string) => got.push(`${user}: ${message}`));
        await client.start();
        await client.invoke('SendMessage', 'alice', `${t}/${p}`);
        await waitFor(() => got.length === 1, 10_000, 'the message');
        expect(got).toEqual([`alice: ${t}/${p}`]);
        await client.stop();
      }
      const other = await fetch(url.replace('/chathub', '/elsewhere'));
      expect(other.status).toBe(404);
      await other.arrayBuffer();
    } finally {
      await signalr.close();
    }
    expect(signalr.httpServer?.listening).toBe(false);
  });
});
