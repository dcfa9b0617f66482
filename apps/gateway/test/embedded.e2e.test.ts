import { DEFAULT_LIMITS, msgpackCodec, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK } from '@tickhub/protocol';
import { DEFAULT_TRANSPORT_OPTIONS } from '@tickhub/signalr';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import WebSocket from 'ws';
import { Client, metric, waitFor } from './support/gateway';

jest.setTimeout(60_000);

let gw: GatewayProcess;
const clients: Client[] = [];
async function open(protocols?: string | string[], options?: WebSocket.ClientOptions): Promise<Client> {
  const c = await Client.open(gw.ws, protocols, options);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  gw = await startGateway({
    SIM_RATE: '3000',
    MAX_SUBSCRIPTIONS: '30',
    ALLOWED_ORIGINS: 'http://allowed.example',
    GATEWAY_ID: 'gw-e2e-embedded',
  });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
});

describe('HTTP endpoints', () => {
  it('serves liveness, readiness, symbols, metrics and the dashboard page', async () => {
    const live = await fetch(`${gw.http}/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${gw.http}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      tickSource: { kind: 'simulator', connected: true },
    });

    const symbols = (await (await fetch(`${gw.http}/api/symbols`)).json()) as Array<Record<string, unknown>>;
    expect(symbols.length).toBe(500);
    expect(symbols[0]).toEqual({
      symbol: 'AAPL',
      name: 'Apple Inc.',
      assetClass: 'equity',
      priceDecimals: 2,
      currency: 'USD',
    });

    const metrics = await fetch(`${gw.http}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    for (const name of [
      'tickhub_gateway_connections',
      'tickhub_gateway_subscriptions',
      'tickhub_gateway_frames_sent_total',
      'tickhub_gateway_updates_sent_total',
      'tickhub_gateway_conflated_updates_total',
      'tickhub_gateway_slow_consumer_closes_total',
      'tickhub_gateway_inbound_errors_total',
      'tickhub_gateway_kafka_lag',
      'tickhub_gateway_nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(name);
    }

    const page = await fetch(`${gw.http}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
  });
});

describe('/ws native protocol', () => {
  it('welcomes with the docs/protocol.md shape', async () => {
    const c = new Client(gw.ws);
    clients.push(c);
    await c.opened;
    expect(c.ws.protocol).toBe('');
    const welcome = await c.next((m) => m.type === 'welcome');
    expect(welcome).toEqual({
      type: 'welcome',
      v: 1,
      connectionId: expect.stringMatching(/^c-/),
      server: 'gw-e2e-embedded',
      heartbeatMs: 15000,
      limits: { ...DEFAULT_LIMITS, maxSubscriptions: 30 },
    });
  });

  it('answers subscribe with subscribed, then a snapshot per symbol, then ticks with higher seq', async () => {
    const c = await open(SUBPROTOCOL_JSON);
    expect(c.ws.protocol).toBe(SUBPROTOCOL_JSON);
    c.send({ type: 'subscribe', id: 's1', symbols: ['AAPL', 'MSFT'], maxHz: 10 });
    const subscribed = await c.next((m) => m.type === 'subscribed');
    expect(subscribed).toEqual({ type: 'subscribed', id: 's1', symbols: ['AAPL', 'MSFT'], maxHz: 10 });
    await waitFor(() => c.updates().filter((x) => x.u.symbol === 'AAPL').length >= 3, 15_000, 'AAPL ticks');
    const kinds = c.messages.map((e) => e.msg.type);
    const subscribedAt = kinds.indexOf('subscribed');
    const snapshots = c.messages.filter((e) => e.msg.type === 'snapshot').map((e) => e.msg);
    expect(snapshots.map((s) => s.symbol).sort()).toEqual(['AAPL', 'MSFT']);
    expect(kinds.indexOf('snapshot')).toBeGreaterThan(subscribedAt);
    expect(Object.keys(snapshots[0]!)).toEqual([
      'type',
      'symbol',
      'seq',
      'ts',
      'bid',
      'ask',
      'bidSize',
      'askSize',
      'last',
      'lastSize',
      'volume',
      'open',
      'high',
      'low',
    ]);
    for (const symbol of ['AAPL', 'MSFT']) {
      const snap = snapshots.find((s) => s.symbol === symbol)!;
      const ticks = c.updates().filter((x) => x.u.symbol === symbol);
      const snapIndex = c.messages.findIndex((e) => e.msg === snap);
      const firstTickFrame = c.messages.findIndex(
        (e) => e.msg.type === 'ticks' && e.msg.updates!.some((u) => u.symbol === symbol),
      );
      if (ticks.length > 0) {
        expect(firstTickFrame).toBeGreaterThan(snapIndex);
        expect(ticks[0]!.u.seq).toBeGreaterThan(snap.seq!);
        expect(ticks[0]!.u.n).toBeGreaterThanOrEqual(1);
      }
      for (let i = 1; i < ticks.length; i++) expect(ticks[i]!.u.seq).toBeGreaterThan(ticks[i - 1]!.u.seq);
    }
  });

  it('exports the tick-to-client latency of written updates and a zero backplane round trip', async () => {
    const c = await open(SUBPROTOCOL_JSON);
    c.send({ type: 'subscribe', id: 'lat', symbols: ['NVDA'], maxHz: 20 });
    await waitFor(() => c.updates().some((x) => x.u.symbol === 'NVDA'), 15_000, 'NVDA ticks');
    // Samples are recorded as frames are written, before the client reads them.
    expect(await metric(gw.http, 'tickhub_gateway_update_latency_seconds_count')).toBeGreaterThan(0);
    const sum = await metric(gw.http, 'tickhub_gateway_update_latency_seconds_sum');
    expect(Number.isFinite(sum)).toBe(true);
    expect(sum).toBeGreaterThanOrEqual(0);
    expect(
      await metric(gw.http, 'tickhub_gateway_update_latency_seconds_bucket', 'le="+Inf"'),
    ).toBeGreaterThan(0);
    // The in-memory backplane has no round trip to measure.
    expect(await metric(gw.http, 'tickhub_gateway_backplane_rtt_seconds')).toBe(0);
  });

  it('never sends a symbol more often than its maxHz', async () => {
    const c = await open();
    const symbols = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA', 'EURUSD', 'BTCUSD', 'JPM'];
    const known = new Set(
      ((await (await fetch(`${gw.http}/api/symbols`)).json()) as Array<{ symbol: string }>).map(
        (s) => s.symbol,
      ),
    );
    const wanted = symbols.filter((s) => known.has(s));
    const hz = 4;
    c.send({ type: 'subscribe', id: 'r', symbols: wanted, maxHz: hz });
    await c.next((m) => m.type === 'subscribed');
    const start = Date.now();
    await new Promise((r) => setTimeout(r, 3500));
    const end = Date.now();
    const seconds = (end - start) / 1000;
    let total = 0;
    for (const symbol of wanted) {
      const times = c
        .updates()
        .filter((x) => x.u.symbol === symbol && x.at >= start && x.at <= end)
        .map((x) => x.at);
      total += times.length;
      // Over the whole window: at most hz per second, plus one for the leading edge at a window boundary.
      expect(times.length).toBeLessThanOrEqual(Math.ceil(seconds * hz) + 1);
      // Any one-second window, allowing one more for delivery jitter of a frame held up in transit.
      for (const t of times) {
        expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(hz + 1);
      }
    }
    // The busiest symbols tick far above 4 Hz, so the feed really was throttled, not idle.
    expect(total).toBeGreaterThan(wanted.length * 2);
  });

  it('speaks MessagePack on tickhub.v1.msgpack with binary frames', async () => {
    const raw: Array<{ data: Buffer; isBinary: boolean }> = [];
    const c = new Client(gw.ws, [SUBPROTOCOL_MSGPACK]);
    clients.push(c);
    c.ws.on('message', (data: Buffer, isBinary: boolean) => raw.push({ data, isBinary }));
    await c.opened;
    expect(c.ws.protocol).toBe(SUBPROTOCOL_MSGPACK);
    await c.next((m) => m.type === 'welcome');
    c.send({ type: 'subscribe', id: 'm1', symbols: ['AAPL'], maxHz: 20 });
    await c.next((m) => m.type === 'subscribed' && m.id === 'm1');
    await c.next((m) => m.type === 'snapshot');
    await c.next((m) => m.type === 'ticks');
    expect(raw.every((r) => r.isBinary)).toBe(true);
    const ticks = raw
      .map((r) => msgpackCodec.decode(r.data) as { type: string })
      .find((m) => m.type === 'ticks');
    expect(ticks).toMatchObject({ type: 'ticks', updates: [expect.objectContaining({ symbol: 'AAPL' })] });
    // A text frame on the MessagePack subprotocol is a bad request; the connection stays.
    c.sendRaw(JSON.stringify({ type: 'ping', id: 'p' }), false);
    expect(await c.next((m) => m.type === 'error')).toMatchObject({ code: 'BAD_REQUEST' });
    c.send({ type: 'ping', id: 'p2' });
    expect(await c.next((m) => m.type === 'pong')).toMatchObject({ id: 'p2' });
  });

  it('answers ping, symbols and unsubscribe', async () => {
    const c = await open();
    c.send({ type: 'ping', id: '3' });
    const pong = await c.next((m) => m.type === 'pong');
    expect(pong).toEqual({ type: 'pong', id: '3', serverTime: expect.any(Number) });
    expect(Math.abs(pong.serverTime! - Date.now())).toBeLessThan(60_000);
    c.send({ type: 'symbols', id: '4' });
    const symbols = await c.next((m) => m.type === 'symbols');
    expect(symbols.id).toBe('4');
    expect(symbols.symbols!.length).toBe(500);
    expect(symbols.symbols![0]).toMatchObject({ symbol: 'AAPL', name: 'Apple Inc.' });

    c.send({ type: 'subscribe', id: '5', symbols: ['AAPL'], maxHz: 50 });
    await c.next((m) => m.type === 'subscribed');
    await c.next((m) => m.type === 'ticks');
    c.send({ type: 'unsubscribe', id: '6', symbols: ['AAPL'] });
    expect(await c.next((m) => m.type === 'unsubscribed')).toEqual({
      type: 'unsubscribed',
      id: '6',
      symbols: ['AAPL'],
    });
    const after = c.messages.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(c.messages.slice(after).filter((e) => e.msg.type === 'ticks')).toEqual([]);
  });

  it('answers every bad request with its error code and keeps the connection', async () => {
    const c = await open();
    const ask = async (frame: string | Buffer, binary = false) => {
      const from = c.messages.length;
      c.sendRaw(frame, binary);
      return c.next((m) => m.type === 'error', 10_000, from);
    };
    expect(await ask('this is not json')).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    expect(await ask(Buffer.from([1, 2, 3]), true)).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await ask(JSON.stringify({ type: 'subscribe', id: 'b', symbols: 'AAPL' }))).toMatchObject({
      code: 'BAD_REQUEST',
      id: 'b',
    });
    expect(await ask(JSON.stringify({ type: 'teleport', id: 'u' }))).toMatchObject({
      code: 'UNKNOWN_TYPE',
      id: 'u',
    });
    expect(
      await ask(JSON.stringify({ type: 'subscribe', id: 'hz', symbols: ['AAPL'], maxHz: 500 })),
    ).toMatchObject({
      code: 'BAD_REQUEST',
      id: 'hz',
    });

    // Partial acceptance: good symbols are subscribed, the rest answered with one error.
    const from = c.messages.length;
    c.send({ type: 'subscribe', id: 'p', symbols: ['AAPL', 'ZZZZ', 'MSFT', 'QQQQQ'] });
    expect(await c.next((m) => m.type === 'subscribed', 10_000, from)).toEqual({
      type: 'subscribed',
      id: 'p',
      symbols: ['AAPL', 'MSFT'],
      maxHz: DEFAULT_LIMITS.defaultHz,
    });
    expect(await c.next((m) => m.type === 'error', 10_000, from)).toEqual({
      type: 'error',
      id: 'p',
      code: 'UNKNOWN_SYMBOL',
      message: expect.any(String),
      symbols: ['ZZZZ', 'QQQQQ'],
    });

    // The cap on subscriptions per connection (30 here): those that fit are accepted.
    const list = ((await (await fetch(`${gw.http}/api/symbols`)).json()) as Array<{ symbol: string }>)
      .slice(0, 40)
      .map((s) => s.symbol);
    const from2 = c.messages.length;
    c.send({ type: 'subscribe', id: 'cap', symbols: list });
    const ok = await c.next((m) => m.type === 'subscribed', 10_000, from2);
    expect(ok.symbols).toEqual(list.slice(0, 30));
    expect(await c.next((m) => m.type === 'error', 10_000, from2)).toMatchObject({
      code: 'TOO_MANY_SUBSCRIPTIONS',
      id: 'cap',
      symbols: list.slice(30),
    });

    c.send({ type: 'ping', id: 'alive' });
    await c.next((m) => m.type === 'pong' && m.id === 'alive');
    expect(
      await metric(gw.http, 'tickhub_gateway_inbound_errors_total', 'code="UNKNOWN_TYPE"'),
    ).toBeGreaterThanOrEqual(1);
  });

  it('closes with 1008 for an origin outside the allow-list', async () => {
    const bad = new Client(gw.ws, undefined, { origin: 'http://evil.example' });
    clients.push(bad);
    expect((await bad.closed).code).toBe(1008);
    expect(await metric(gw.http, 'tickhub_gateway_closes_total', 'code="1008"')).toBeGreaterThanOrEqual(1);
    const good = await open(undefined, { origin: 'http://allowed.example' });
    good.send({ type: 'ping', id: 'o' });
    await good.next((m) => m.type === 'pong');
  });

  it('counts the closes of the SignalR hubs too: 1009 for a hub WebSocket frame above the transport limit', async () => {
    const before = await metric(gw.http, 'tickhub_gateway_closes_total', 'code="1009"').catch(() => 0);
    const hub = new WebSocket(gw.ws.replace(/\/ws$/, '/hubs/market'));
    await new Promise((resolve, reject) => {
      hub.once('open', resolve);
      hub.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => hub.once('close', (code) => resolve(code)));
    hub.send(Buffer.alloc(DEFAULT_TRANSPORT_OPTIONS.maxTransportMessageBytes + 1, 0x20));
    expect(await closed).toBe(1009);
    expect(await metric(gw.http, 'tickhub_gateway_closes_total', 'code="1009"')).toBe(before + 1);
  });

  it('closes with 1009 for a frame above maxPayloadBytes', async () => {
    const c = await open();
    c.sendRaw(
      JSON.stringify({ type: 'ping', id: 'x', pad: 'x'.repeat(DEFAULT_LIMITS.maxPayloadBytes) }),
      false,
    );
    expect((await c.closed).code).toBe(1009);
    // ws sends that close itself; it is counted with the gateway's own closes.
    expect(await metric(gw.http, 'tickhub_gateway_closes_total', 'code="1009"')).toBeGreaterThanOrEqual(1);
  });

  it('answers RATE_LIMITED above maxInboundPerSec and closes with 4008 on sustained abuse', async () => {
    const witness = await open();
    witness.send({ type: 'subscribe', symbols: ['AAPL'], maxHz: 10 });
    await witness.next((m) => m.type === 'subscribed');
    const c = await open();
    for (let i = 0; i < 400; i++) c.send({ type: 'ping', id: String(i) });
    const closed = await c.closed;
    expect(closed.code).toBe(4008);
    expect(c.all((m) => m.type === 'pong').length).toBeGreaterThanOrEqual(
      DEFAULT_LIMITS.maxInboundPerSec - 1,
    );
    const limited = c.all((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThan(0);
    // Refused requests still have their id echoed.
    expect(limited.every((m) => typeof m.id === 'string' && /^\d+$/.test(m.id))).toBe(true);
    // Other connections do not notice.
    const seen = witness.updates().length;
    await waitFor(() => witness.updates().length > seen + 2, 10_000, 'the witness to keep receiving');
  });

  it('refuses upgrades on other paths with 404', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/nope`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(404);
  });
});
