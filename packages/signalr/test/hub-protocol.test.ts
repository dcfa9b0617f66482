import * as signalR from '@microsoft/signalr';
import { WebSocket } from 'ws';
import { buildClient, COMBINATIONS, type HubHost, startHubHost, waitFor } from '../src/testing';
import { Journal, TestHub } from './test-hubs';

// Real servers and clients over loopback on a shared machine: generous time, conditions not sleeps.
jest.setTimeout(30_000);

const RS = '\u001e';

/** A raw WebSocket speaking the JSON hub protocol by hand, for input no official client would send. */
class RawClient {
  readonly frames: string[] = [];
  closed = false;
  closeCode: number | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(String(data)));
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
    });
  }

  static async open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url);
    const client = new RawClient(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return client;
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Every record received so far, split on the record separator. */
  records(): string[] {
    return this.frames
      .join('')
      .split(RS)
      .filter((r) => r.length > 0);
  }

  async waitForRecord(predicate: (record: string) => boolean, what: string): Promise<string> {
    await waitFor(() => this.records().some(predicate), 10_000, what);
    return this.records().find(predicate)!;
  }
}

describe('hub protocol over the official client', () => {
  let host: HubHost;
  const journal = new Journal();

  beforeAll(async () => {
    host = await startHubHost({ hubs: [{ path: '/test', hub: new TestHub(journal) }] });
  });

  afterAll(() => host.close());

  it.each(COMBINATIONS)(
    '%s + %s: results, void, errors, unknown methods, wrong argument counts',
    async (t, p) => {
      const client = buildClient(`${host.baseUrl}/test`, t, p);
      await client.start();
      expect(await client.invoke('Add', 40, 2)).toBe(42);
      expect(await client.invoke('add', 1, 2)).toBe(3); // names match case-insensitively
      expect(await client.invoke('Echo', { a: [1, 'x', null, true, 2.5] })).toEqual({
        a: [1, 'x', null, true, 2.5],
      });
      expect(await client.invoke('Echo', null)).toBeNull();
      expect(await client.invoke('Nothing')).toBeFalsy();
      expect(await client.invoke('WhoAmI')).toMatchObject({ transport: t, protocol: p, user: null });
      await expect(client.invoke('Fail')).rejects.toThrow(
        "An unexpected error occurred invoking 'Fail' on the server. HubException: this fails on purpose",
      );
      const crash = client.invoke('Crash');
      await expect(crash).rejects.toThrow("An unexpected error occurred invoking 'Crash' on the server.");
      await expect(crash).rejects.not.toThrow(/secret/);
      await expect(client.invoke('Nope')).rejects.toThrow(
        "Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist.",
      );
      await expect(client.invoke('helper')).rejects.toThrow(
        "Failed to invoke 'helper' due to an error on the server. HubException: Method does not exist.",
      );
      await expect(client.invoke('Add', 1)).rejects.toThrow(
        "Failed to invoke 'Add' due to an error on the server. InvalidDataException: Invocation provides 1 argument(s) but target expects 2.",
      );
      const bindingError =
        "Failed to invoke 'Add' due to an error on the server. InvalidDataException: Error binding arguments. Make sure that the types of the provided values match the types of the hub method being invoked.";
      await expect(client.invoke('Add', 'x', 2)).rejects.toThrow(bindingError);
      await expect(client.invoke('Add', 1, null)).rejects.toThrow(bindingError);
      // Arguments are bound before the method runs: refused calls never reach it.
      await expect(client.invoke('Tag', ['a', 1])).rejects.toThrow('Error binding arguments.');
      await expect(client.invoke('Tag', ['a'], 1.5)).rejects.toThrow('Error binding arguments.');
      await expect(client.invoke('Tag', 'a')).rejects.toThrow('Error binding arguments.');
      expect(await client.invoke('Tag', ['a', 'b'])).toBe('a+bx1#1');
      expect(await client.invoke('Tag', ['c'], 3)).toBe('cx3#2');
      expect(await client.invoke('Tag', ['c'], null)).toBe('cx1#3');
      await expect(client.invoke('Range')).rejects.toThrow('target expects 1 to 3');
      expect(await client.invoke('Range', 1, 2, 3)).toBe(3);
      // Non-blocking sends to unknown methods get no answer; the connection carries on.
      await client.send('Nope', 1);
      expect(await client.invoke('Add', 2, 2)).toBe(4);
      await client.stop();
    },
  );

  it.each(COMBINATIONS)('%s + %s: an oversized message closes the connection with an error', async (t, p) => {
    const client = buildClient(`${host.baseUrl}/test`, t, p);
    let closeError: Error | undefined;
    const closed = new Promise<void>((resolve) =>
      client.onclose((error) => {
        closeError = error;
        resolve();
      }),
    );
    await client.start();
    client.invoke('Echo', 'x'.repeat(40 * 1024)).catch(() => undefined);
    await closed;
    expect(String(closeError)).toContain('The maximum message size of 32768B was exceeded.');
  });

  it.each(COMBINATIONS)(
    '%s + %s: a burst of invocations is read with backpressure, run in order, none lost',
    async (t, p) => {
      const client = buildClient(`${host.baseUrl}/test`, t, p);
      await client.start();
      const sends: Array<Promise<void>> = [];
      for (let i = 0; i < 300; i++) sends.push(client.send('Record', i));
      await Promise.all(sends);
      expect(await client.invoke('Recorded')).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(client.state).toBe('Connected');
      await client.stop();
    },
  );

  it('skipNegotiation: WebSockets straight to the hub path', async () => {
    const client = buildClient(`${host.baseUrl}/test`, 'WebSockets', 'messagepack', {
      skipNegotiation: true,
    });
    await client.start();
    expect(await client.invoke('Add', 20, 22)).toBe(42);
    await client.stop();
  });

  it('every transport reaches the hub from the client fallback order', async () => {
    const client = new signalR.HubConnectionBuilder()
      .withUrl(`${host.baseUrl}/test`)
      .configureLogging(signalR.LogLevel.None)
      .build();
    await client.start();
    expect(await client.invoke('WhoAmI')).toMatchObject({ transport: 'WebSockets' });
    await client.stop();
  });
});

describe('hub protocol: bad input from raw clients', () => {
  let host: HubHost;
  let wsBase: string;
  const journal = new Journal();

  beforeAll(async () => {
    host = await startHubHost({
      hubs: [
        {
          path: '/test',
          hub: new TestHub(journal),
          options: { handshakeTimeoutMs: 1000, keepAliveIntervalMs: 300, clientTimeoutMs: 1500 },
        },
      ],
      transport: { tickIntervalMs: 100 },
    });
    wsBase = `${host.baseUrl.replace('http', 'ws')}/test`;
  });

  afterAll(() => host.close());

  it.each([
    ['not JSON', `hello${RS}`, 'Handshake request is not valid JSON.'],
    [
      'an unknown protocol',
      `{"protocol":"xml","version":1}${RS}`,
      "Requested protocol 'xml' is not available.",
    ],
    [
      'an unsupported version',
      `{"protocol":"json","version":99}${RS}`,
      "does not support version 99 of the 'json'",
    ],
    ['a hub message instead', `{"type":6}${RS}`, "missing the 'protocol' property"],
  ])(
    'a handshake with %s gets a handshake error response, then the connection closes',
    async (_n, input, error) => {
      const raw = await RawClient.open(wsBase);
      raw.send(input);
      const record = await raw.waitForRecord((r) => r.includes('error'), 'the handshake error');
      expect(JSON.parse(record)).toEqual({ error: expect.stringContaining(error) });
      await waitFor(() => raw.closed, 5000, 'the close');
      expect(raw.closeCode).toBe(1000);
    },
  );

  it('a client that never completes the handshake is closed after the handshake timeout', async () => {
    const raw = await RawClient.open(wsBase);
    raw.send('{"protocol":');
    await waitFor(() => raw.closed, 10_000, 'the handshake timeout');
    expect(raw.records()).toEqual(['{"error":"Handshake was canceled."}']);
  });

  it('malformed messages after the handshake close the connection with an error (Close message)', async () => {
    for (const bad of ['{"type":1,"target":5,"arguments":[]}', 'not json', '{"type":99}']) {
      const raw = await RawClient.open(wsBase);
      raw.send(`{"protocol":"json","version":1}${RS}`);
      await raw.waitForRecord((r) => r === '{}', 'the handshake');
      raw.send(`${bad}${RS}`);
      const close = await raw.waitForRecord((r) => r.startsWith('{"type":7'), 'the Close message');
      expect(JSON.parse(close)).toEqual({ type: 7, error: expect.stringContaining('InvalidDataException') });
      await waitFor(() => raw.closed, 5000, 'the socket to close');
    }
  });

  it('invalid UTF-8 in a text frame is a protocol error, not a crash', async () => {
    const raw = await RawClient.open(wsBase);
    raw.send(`{"protocol":"json","version":1}${RS}`);
    await raw.waitForRecord((r) => r === '{}', 'the handshake');
    raw.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x1e]), { binary: true });
    await raw.waitForRecord((r) => r.startsWith('{"type":7'), 'the Close message');
  });

  it('a frame holding far more invocations than the pending bound closes the connection with an error', async () => {
    const raw = await RawClient.open(wsBase);
    raw.send(`{"protocol":"json","version":1}${RS}`);
    await raw.waitForRecord((r) => r === '{}', 'the handshake');
    // 32 pending pause reading; a single frame of 32 × 64 + 1 invocations cannot be paused.
    raw.send(`{"type":1,"target":"Record","arguments":[1]}${RS}`.repeat(32 * 64 + 1));
    const close = await raw.waitForRecord((r) => r.startsWith('{"type":7'), 'the Close message');
    expect(close).toContain('Too many pending invocations.');
  });

  it('handshake and first invocation may arrive in one frame', async () => {
    const raw = await RawClient.open(wsBase);
    raw.send(
      `{"protocol":"json","version":1}${RS}{"type":1,"invocationId":"1","target":"Add","arguments":[1,1]}${RS}`,
    );
    await raw.waitForRecord((r) => r === '{"type":3,"invocationId":"1","result":2}', 'the completion');
    raw.ws.close();
  });

  it("a streaming invocation of a plain method, and the reverse, get ASP.NET Core's completion errors", async () => {
    const raw = await RawClient.open(wsBase);
    raw.send(`{"protocol":"json","version":1}${RS}`);
    raw.send(`{"type":4,"invocationId":"s1","target":"Echo","arguments":[1]}${RS}`);
    raw.send(`{"type":1,"invocationId":"i1","target":"Counter","arguments":[1]}${RS}`);
    raw.send(`{"type":1,"invocationId":"u1","target":"Sum","arguments":["x"]}${RS}`);
    const s1 = await raw.waitForRecord((r) => r.includes('"s1"'), 'the stream completion');
    expect(JSON.parse(s1)).toEqual({
      type: 3,
      invocationId: 's1',
      error: "The client attempted to invoke the non-streaming 'Echo' method with a streaming invocation.",
    });
    const i1 = await raw.waitForRecord((r) => r.includes('"i1"'), 'the invocation completion');
    expect(JSON.parse(i1).error).toBe(
      "The client attempted to invoke the streaming 'Counter' method with a non-streaming invocation.",
    );
    const u1 = await raw.waitForRecord((r) => r.includes('"u1"'), 'the upload completion');
    expect(JSON.parse(u1).error).toBe(
      "Failed to invoke 'Sum' due to an error on the server. InvalidDataException: Client sent 0 stream(s), Hub method expects 1.",
    );
    raw.ws.close();
  });

  it('a cancelled stream gets a completion and stops; items of unknown upload streams are dropped', async () => {
    const raw = await RawClient.open(wsBase);
    raw.send(`{"protocol":"json","version":1}${RS}`);
    raw.send(`{"type":4,"invocationId":"t1","target":"Ticker","arguments":["raw"]}${RS}`);
    await raw.waitForRecord((r) => r.startsWith('{"type":2,"invocationId":"t1"'), 'a stream item');
    raw.send(`{"type":2,"invocationId":"nope","item":1}${RS}{"type":5,"invocationId":"t1"}${RS}`);
    await raw.waitForRecord((r) => r === '{"type":3,"invocationId":"t1"}', 'the completion after cancel');
    await waitFor(() => journal.cancelledStreams.includes('raw'), 5000, 'the hub to see the cancel');
    const items = raw.records().filter((r) => r.startsWith('{"type":2')).length;
    raw.send(`{"type":1,"invocationId":"a","target":"Add","arguments":[1,2]}${RS}`);
    await raw.waitForRecord(
      (r) => r === '{"type":3,"invocationId":"a","result":3}',
      'the connection to go on',
    );
    expect(raw.records().filter((r) => r.startsWith('{"type":2')).length).toBe(items);
    raw.ws.close();
  });

  it('pings an idle client and closes one that sends nothing within the client timeout', async () => {
    const raw = await RawClient.open(wsBase);
    raw.send(`{"protocol":"json","version":1}${RS}`);
    await waitFor(
      () => raw.records().filter((r) => r === '{"type":6}').length >= 2,
      10_000,
      'keep-alive pings',
    );
    await waitFor(() => raw.closed, 10_000, 'the client timeout');
    expect(raw.records().at(-1)).toBe(
      '{"type":7,"error":"Connection closed with an error. The client timed out."}',
    );
  });

  it('keeps a client that pings alive past the client timeout', async () => {
    const raw = await RawClient.open(wsBase);
    raw.send(`{"protocol":"json","version":1}${RS}`);
    const timer = setInterval(() => raw.send(`{"type":6}${RS}`), 300);
    await new Promise((r) => setTimeout(r, 2500));
    clearInterval(timer);
    expect(raw.closed).toBe(false);
    raw.ws.close();
  });

  it('a client Close message ends the connection quietly', async () => {
    const raw = await RawClient.open(wsBase);
    raw.send(`{"protocol":"json","version":1}${RS}{"type":7}${RS}`);
    await waitFor(() => raw.closed, 5000, 'the close');
    expect(raw.records()).toEqual(['{}']);
  });

  it('shutdown tells clients they may reconnect (Close with allowReconnect)', async () => {
    const own = await startHubHost({ hubs: [{ path: '/test', hub: new TestHub() }] });
    const raw = await RawClient.open(`${own.baseUrl.replace('http', 'ws')}/test`);
    raw.send(`{"protocol":"json","version":1}${RS}`);
    await raw.waitForRecord((r) => r === '{}', 'the handshake');
    await own.close();
    await waitFor(() => raw.closed, 5000, 'the close');
    expect(raw.records().at(-1)).toBe('{"type":7,"error":"Server is shutting down.","allowReconnect":true}');
  });
});
