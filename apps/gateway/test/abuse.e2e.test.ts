import { SUBPROTOCOL_MSGPACK } from '@tickhub/protocol';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import WebSocket from 'ws';
import { Client, metric, waitFor } from './support/gateway';

jest.setTimeout(90_000);

let gw: GatewayProcess;
const clients: Client[] = [];

beforeAll(async () => {
  // A high inbound limit, so that every malformed frame reaches the parser instead of the rate limiter.
  gw = await startGateway({
    SIM_RATE: '2000',
    MAX_INBOUND_PER_SEC: '1000000',
    ENTITLED_SYMBOLS: 'AAPL,MSFT,EUR*',
  });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
});

/** Frames of every kind a broken or hostile client might send; none of them is a valid request. */
function malformed(i: number): { data: string | Buffer; binary: boolean } {
  switch (i % 16) {
    case 0:
      return { data: 'not json at all', binary: false };
    case 1:
      return { data: '{"type":"subscribe","symbols":[', binary: false };
    case 2:
      return { data: Buffer.from([0xff, 0xfe, 0xfd, 0x00, i & 0xff]), binary: true };
    case 3:
      return { data: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), binary: false }; // invalid UTF-8
    case 4:
      return { data: '[1,2,3]', binary: false };
    case 5:
      return { data: 'null', binary: false };
    case 6:
      return { data: JSON.stringify({ type: `nope-${i}`, id: String(i) }), binary: false };
    case 7:
      return { data: JSON.stringify({ type: 'subscribe', symbols: [1, 2, 3] }), binary: false };
    case 8:
      return { data: JSON.stringify({ type: 'subscribe', symbols: ['AAPL'], maxHz: 'fast' }), binary: false };
    case 9:
      return { data: JSON.stringify({ type: 'ping', id: 'x'.repeat(100) }), binary: false };
    case 10:
      return { data: '{"__proto__":{"type":"ping"}}', binary: false };
    case 11:
      return { data: `${'['.repeat(5000)}${']'.repeat(5000)}`, binary: false };
    case 12:
      return { data: JSON.stringify({ type: 'subscribe', symbols: [] }), binary: false };
    case 13:
      return { data: JSON.stringify({ type: 'unsubscribe', symbols: ['A'.repeat(500)] }), binary: false };
    case 14:
      return { data: JSON.stringify({ type: 42 }), binary: false };
    default:
      return { data: '', binary: false };
  }
}

describe('bad input', () => {
  it('answers FORBIDDEN for symbols outside the entitlements, accepting the rest', async () => {
    const c = await Client.open(gw.ws);
    clients.push(c);
    c.send({ type: 'subscribe', id: 'f', symbols: ['AAPL', 'NVDA', 'EURUSD'] });
    expect(await c.next((m) => m.type === 'subscribed')).toMatchObject({
      id: 'f',
      symbols: ['AAPL', 'EURUSD'],
    });
    expect(await c.next((m) => m.type === 'error')).toEqual({
      type: 'error',
      id: 'f',
      code: 'FORBIDDEN',
      message: expect.any(String),
      symbols: ['NVDA'],
    });
  });

  it('survives 10,000 malformed frames: each gets an error, the connection and the others keep working', async () => {
    const witness = await Client.open(gw.ws);
    clients.push(witness);
    witness.send({ type: 'subscribe', symbols: ['AAPL', 'MSFT'], maxHz: 10 });
    await witness.next((m) => m.type === 'subscribed');

    const c = await Client.open(gw.ws);
    clients.push(c);
    const bin = await Client.open(gw.ws, SUBPROTOCOL_MSGPACK);
    clients.push(bin);
    const total = 10_000;
    const onJson = Math.floor(total * 0.8);
    for (let i = 0; i < onJson; i++) {
      const f = malformed(i);
      c.sendRaw(f.data, f.binary);
    }
    // On the MessagePack subprotocol: garbage bytes, valid MessagePack that is no request, and text frames.
    for (let i = onJson; i < total; i++) {
      const kind = i % 3;
      if (kind === 0) bin.sendRaw(Buffer.from([0xc1, 0xc1, i & 0xff]), true);
      else if (kind === 1) bin.sendRaw(Buffer.from([0x93, 0x01, 0x02, 0x03]), true);
      else bin.sendRaw('{"type":"ping"}', false);
    }
    await waitFor(
      () =>
        c.all((m) => m.type === 'error').length === onJson &&
        bin.all((m) => m.type === 'error').length === total - onJson,
      60_000,
      'an error for every malformed frame',
    );
    const codes = new Set(c.all((m) => m.type === 'error').map((m) => m.code));
    expect([...codes].sort()).toEqual(['BAD_REQUEST', 'UNKNOWN_TYPE']);
    expect(c.closeInfo).toBeUndefined();
    expect(bin.closeInfo).toBeUndefined();

    c.send({ type: 'ping', id: 'still-here' });
    await c.next((m) => m.type === 'pong' && m.id === 'still-here');
    bin.send({ type: 'ping', id: 'still-here' });
    await bin.next((m) => m.type === 'pong' && m.id === 'still-here');
    const seen = witness.updates().length;
    await waitFor(() => witness.updates().length > seen + 2, 10_000, 'the witness to keep receiving');
    expect((await fetch(`${gw.http}/health/live`)).status).toBe(200);
    expect(
      await metric(gw.http, 'tickhub_gateway_inbound_errors_total', 'code="BAD_REQUEST"'),
    ).toBeGreaterThan(9000);
    expect(gw.proc.exitCode).toBeNull();
  });
});

describe('a client that requests without reading', () => {
  let quick: GatewayProcess;

  beforeAll(async () => {
    // A heartbeat much shorter than ws's 30 s close handshake, and a small buffer limit.
    quick = await startGateway({
      HEARTBEAT_MS: '500',
      HIGH_WATER_MARK_BYTES: '65536',
      MAX_INBOUND_PER_SEC: '1000000',
    });
  });

  afterAll(async () => {
    await quick?.stop();
  });

  it('still sees the 4009 close frame when it reads again after several heartbeats', async () => {
    const ws = new WebSocket(quick.ws);
    ws.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    // Each answer lists the 500 symbols: a few hundred of them are far past the buffer limit.
    for (let i = 0; i < 300; i++) ws.send(JSON.stringify({ type: 'symbols', id: String(i) }));
    const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    const slowCloses = () => metric(quick.http, 'tickhub_gateway_closes_total', 'code="4009"').catch(() => 0);
    const deadline = Date.now() + 20_000;
    while ((await slowCloses()) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await slowCloses()).toBe(1);
    // Unanswered pings of the heartbeat while the close frame waits behind the unread answers.
    await new Promise((r) => setTimeout(r, 2000));
    socket.resume();
    const code = await Promise.race([closed, new Promise((r) => setTimeout(() => r('no close'), 15_000))]);
    expect(code).toBe(4009);
  });
});
