import * as signalR from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import type { Candle } from '@tickhub/protocol';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { HS256_SECRET, hs256Token } from './support/auth';
import { Client } from './support/gateway';

jest.setTimeout(90_000);

interface CandlesBody {
  symbol?: string;
  tf?: string;
  candles?: Candle[];
  error?: string;
  message?: string;
}

async function candles(
  http: string,
  query: string,
  init?: RequestInit,
): Promise<{ status: number; body: CandlesBody }> {
  const res = await fetch(`${http}/api/candles?${query}`, init);
  expect(res.headers.get('content-type')).toContain('application/json');
  return { status: res.status, body: (await res.json()) as CandlesBody };
}

async function eventually(what: string, condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Candles in order, each one a consistent OHLCV bar of at least one tick, starting on its boundary. */
function expectWellFormed(list: Candle[], tfMs: number): void {
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    expect(c.t % tfMs).toBe(0);
    if (i > 0) expect(c.t).toBeGreaterThan(list[i - 1]!.t);
    expect(c.h).toBeGreaterThanOrEqual(Math.max(c.o, c.c));
    expect(c.l).toBeLessThanOrEqual(Math.min(c.o, c.c));
    expect(c.n).toBeGreaterThanOrEqual(1);
    expect(c.v).toBeGreaterThanOrEqual(0);
  }
}

function hub(http: string, options: { msgpack?: boolean; token?: string } = {}): signalR.HubConnection {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(`${http}/hubs/market`, {
      transport: signalR.HttpTransportType.WebSockets,
      ...(options.token ? { accessTokenFactory: () => options.token! } : {}),
    })
    .configureLogging(signalR.LogLevel.None);
  if (options.msgpack) builder = builder.withHubProtocol(new MessagePackHubProtocol());
  return builder.build();
}

describe('candle history on an embedded gateway (default warm-up)', () => {
  let gw: GatewayProcess;
  const clients: Client[] = [];

  beforeAll(async () => {
    gw = await startGateway({ GATEWAY_ID: 'gw-candles' });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await gw?.stop();
  });

  it('serves a full screen of 1s candles as soon as it is ready, and a full day chart of 1m', async () => {
    const { status, body } = await candles(gw.http, 'symbol=AAPL&tf=1s&limit=300');
    expect(status).toBe(200);
    expect(body.symbol).toBe('AAPL');
    expect(body.tf).toBe('1s');
    expect(body.candles!.length).toBeGreaterThanOrEqual(250);
    expectWellFormed(body.candles!, 1000);
    // The warm-up's candles went through the store, and /metrics says so.
    const metrics = await (await fetch(`${gw.http}/metrics`)).text();
    expect(Number(/tickhub_gateway_candles_written_total\{[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(
      1000,
    );
    const minutes = await candles(gw.http, 'symbol=AAPL&tf=1m');
    expect(minutes.body.candles).toHaveLength(300);
    expectWellFormed(minutes.body.candles!, 60_000);
    // The newest 1m candle covers the newest 1s candles.
    const lastMinute = minutes.body.candles!.at(-1)!;
    expect(body.candles!.at(-1)!.t - lastMinute.t).toBeLessThan(120_000);
  });

  it('extends the history live: the newest candle moves on', async () => {
    const first = (await candles(gw.http, 'symbol=AAPL&tf=1s&limit=1')).body.candles![0]!;
    await eventually(
      'a newer 1s candle',
      async () => (await candles(gw.http, 'symbol=AAPL&tf=1s&limit=1')).body.candles![0]!.t > first.t,
      10_000,
    );
  });

  it('answers 400 for a bad tf or limit and 404 for an unknown symbol', async () => {
    for (const query of [
      'symbol=AAPL&tf=2m',
      'symbol=AAPL',
      'symbol=AAPL&tf=1m&limit=0',
      'symbol=AAPL&tf=1m&limit=1001',
      'symbol=AAPL&tf=1m&limit=abc',
      'tf=1m',
    ]) {
      const { status, body } = await candles(gw.http, query);
      expect({ query, status, error: body.error }).toEqual({ query, status: 400, error: 'BAD_REQUEST' });
      expect(typeof body.message).toBe('string');
    }
    expect(await candles(gw.http, 'symbol=NOPE&tf=1m')).toEqual({
      status: 404,
      body: { error: 'UNKNOWN_SYMBOL' },
    });
    const oneHour = await candles(gw.http, 'symbol=AAPL&tf=1h&limit=1000');
    expect(oneHour.status).toBe(200);
    expectWellFormed(oneHour.body.candles!, 3_600_000);
  });

  it.each(['tickhub.v1.json', 'tickhub.v1.msgpack'])(
    'answers the native history request (%s)',
    async (protocol) => {
      const c = await Client.open(gw.ws, protocol);
      clients.push(c);
      c.send({ type: 'history', id: '5', symbol: 'AAPL', tf: '1m', limit: 120 });
      const answer = await c.next((m) => m.type === 'history' && m.id === '5');
      expect(answer.symbol).toBe('AAPL');
      expect(answer.tf).toBe('1m');
      const list = answer.candles as Candle[];
      expect(list).toHaveLength(120);
      expectWellFormed(list, 60_000);
      const http = (await candles(gw.http, 'symbol=AAPL&tf=1m&limit=120')).body.candles!;
      // The same store behind both: the closed candles are equal (the open one may have moved on).
      expect(list.slice(0, -2)).toEqual(http.slice(0, -2));

      c.send({ type: 'history', id: '6', symbol: 'NOPE', tf: '1m' });
      expect(await c.next((m) => m.id === '6')).toMatchObject({
        type: 'error',
        code: 'UNKNOWN_SYMBOL',
        symbols: ['NOPE'],
      });
      c.send({ type: 'history', id: '7', symbol: 'AAPL', tf: '3m' });
      expect(await c.next((m) => m.id === '7')).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
      c.send({ type: 'history', id: '8', symbol: 'AAPL', tf: '1s', limit: 5000 });
      expect(await c.next((m) => m.id === '8')).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    },
  );

  it.each([false, true])('answers GetCandles on /hubs/market (messagepack: %p)', async (msgpack) => {
    const connection = hub(gw.http, { msgpack });
    await connection.start();
    try {
      const list = await connection.invoke<Candle[]>('GetCandles', 'EURUSD', '5m', 50);
      expect(list).toHaveLength(50);
      expectWellFormed(list, 300_000);
      const byDefault = await connection.invoke<Candle[]>('GetCandles', 'AAPL', '1s');
      expect(byDefault.length).toBeGreaterThanOrEqual(250);
      await expect(connection.invoke('GetCandles', 'AAPL', '2m')).rejects.toThrow(/BAD_REQUEST/);
      await expect(connection.invoke('GetCandles', 'NOPE', '1m', 10)).rejects.toThrow(/UNKNOWN_SYMBOL/);
    } finally {
      await connection.stop();
    }
  });
});

describe('candle history follows entitlements like subscribe', () => {
  let gw: GatewayProcess;

  beforeAll(async () => {
    gw = await startGateway({
      GATEWAY_ID: 'gw-candles-auth',
      AUTH_MODE: 'hs256',
      AUTH_HS256_SECRET: HS256_SECRET,
      SIM_SYMBOLS: '50',
      SIM_WARMUP_SECONDS: '600',
    });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('answers 403 over HTTP for a symbol the token does not entitle, 401 without a token', async () => {
    const token = await hs256Token({ sub: 'fx', symbols: ['EUR*'] });
    const headers = { authorization: `Bearer ${token}` };
    expect((await candles(gw.http, 'symbol=EURUSD&tf=1s&limit=10', { headers })).status).toBe(200);
    expect(await candles(gw.http, 'symbol=AAPL&tf=1s&limit=10', { headers })).toEqual({
      status: 403,
      body: { error: 'FORBIDDEN' },
    });
    expect((await candles(gw.http, `symbol=AAPL&tf=1s&token=${token}`)).status).toBe(403);
    expect((await candles(gw.http, 'symbol=AAPL&tf=1s')).status).toBe(401);
  });

  it('answers FORBIDDEN to the native request and to GetCandles, as subscribe does', async () => {
    const token = await hs256Token({ sub: 'fx', symbols: ['EUR*'] });
    const c = await Client.open(`${gw.ws}?token=${token}`);
    try {
      c.send({ type: 'subscribe', id: 's', symbols: ['AAPL'] });
      const refused = await c.next((m) => m.id === 's' && m.type === 'error');
      c.send({ type: 'history', id: 'h', symbol: 'AAPL', tf: '1m' });
      const answer = await c.next((m) => m.id === 'h');
      expect(answer).toMatchObject({ type: 'error', code: refused.code, symbols: ['AAPL'] });
      expect(answer.code).toBe('FORBIDDEN');
      c.send({ type: 'history', id: 'ok', symbol: 'EURUSD', tf: '1s', limit: 10 });
      expect((await c.next((m) => m.id === 'ok')).type).toBe('history');
    } finally {
      c.close();
    }
    const connection = hub(gw.http, { token });
    await connection.start();
    try {
      await expect(connection.invoke('GetCandles', 'AAPL', '1m')).rejects.toThrow(/FORBIDDEN/);
      expect((await connection.invoke<Candle[]>('GetCandles', 'EURUSD', '1s', 10)).length).toBeGreaterThan(0);
    } finally {
      await connection.stop();
    }
  });
});

describe('candle history with Redis', () => {
  const REDIS_URL = process.env.REDIS_URL;
  if (!REDIS_URL)
    throw new Error(
      'REDIS_URL is not set: this suite needs a real Redis (e.g. REDIS_URL=redis://127.0.0.1:6379)',
    );
  const prefix = `tickhub-test:candles-e2e:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`;
  const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, SIM_SYMBOLS: '20', SIM_RATE: '500' };

  it('gives the same candles back after the pod was restarted', async () => {
    let gw = await startGateway({ ...env, GATEWAY_ID: 'gw-candles-r1' });
    let before: Candle[] = [];
    try {
      await eventually(
        'five 1s candles',
        async () => {
          before = (await candles(gw.http, 'symbol=AAPL&tf=1s&limit=1000')).body.candles ?? [];
          return before.length >= 5;
        },
        20_000,
      );
    } finally {
      await gw.stop();
    }
    // Written at the drain: read after the pod is gone, the last candle is complete.
    gw = await startGateway({ ...env, GATEWAY_ID: 'gw-candles-r2' });
    try {
      const after = (await candles(gw.http, 'symbol=AAPL&tf=1s&limit=1000')).body.candles!;
      const closed = before.slice(0, -1);
      expect(closed.length).toBeGreaterThanOrEqual(4);
      expect(after.slice(0, closed.length)).toEqual(closed);
      expectWellFormed(after, 1000);
      const minutes = (await candles(gw.http, 'symbol=AAPL&tf=1m')).body.candles!;
      expect(minutes.length).toBeGreaterThanOrEqual(1);
    } finally {
      await gw.stop();
    }
  });
});
