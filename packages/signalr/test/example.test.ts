import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
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
