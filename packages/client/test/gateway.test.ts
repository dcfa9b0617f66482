import type { Quote } from '@tickhub/protocol';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import WebSocket from 'ws';
import { connect, type Feed, FeedError, type FeedOptions, type FeedState, type StateDetail } from '../src';
import { waitFor } from './support/wait';

// The SDK against the real gateway process (apps/gateway/dist/main.js, embedded mode) over real sockets.
jest.setTimeout(120000);

const feeds: Feed[] = [];
const gateways: GatewayProcess[] = [];

/** A gateway that afterEach stops; it drains within 2 s so that a stop does not hold a test up. */
async function gatewayForTest(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const gateway = await startGateway({ DRAIN_GRACE_MS: '2000', ...env });
  gateways.push(gateway);
  return gateway;
}

function open(url: string, options: Partial<FeedOptions> = {}) {
  const feed = connect({ url, WebSocket, reconnect: { initialDelayMs: 50, maxDelayMs: 500 }, ...options });
  feeds.push(feed);
  const states: Array<[FeedState, StateDetail | undefined]> = [];
  const errors: FeedError[] = [];
  feed.on('state', (state, detail) => states.push([state, detail]));
  feed.on('error', (error) => errors.push(error));
  return { feed, states, errors };
}

afterEach(async () => {
  for (const feed of feeds.splice(0)) feed.close();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

it('subscribes, receives quotes into the book, and unsubscribes', async () => {
  const gateway = await gatewayForTest();
  const { feed, errors } = open(gateway.ws);
  const sub = feed.subscribe(['AAPL', 'MSFT', 'NOT-A-SYMBOL'], { maxHz: 10 });
  const quotes: Quote[] = [];
  const refusals: FeedError[] = [];
  sub.on('quote', (quote) => quotes.push(quote));
  sub.on('error', (error) => refusals.push(error));

  expect(await sub.ready).toEqual(['AAPL', 'MSFT']);
  await waitFor('the refusal of the unknown symbol', () => refusals.length === 1);
  expect(refusals[0]).toMatchObject({ code: 'UNKNOWN_SYMBOL', symbols: ['NOT-A-SYMBOL'] });
  await waitFor(
    'quotes of both symbols',
    () => sub.book.has('AAPL') && sub.book.has('MSFT') && quotes.length >= 6,
  );
  expect(feed.state).toBe('open');
  expect(feed.welcome).toMatchObject({ type: 'welcome', v: 1, limits: { maxHz: 50 } });

  // seq never goes back within one connection, and the book holds the newest quote.
  const aapl = quotes.filter((q) => q.symbol === 'AAPL').map((q) => q.seq);
  expect([...aapl].sort((x, y) => x - y)).toEqual(aapl);
  expect(sub.book.get('AAPL')?.seq).toBe(aapl[aapl.length - 1]);

  const symbols = await feed.symbols();
  expect(symbols.find((s) => s.symbol === 'AAPL')).toMatchObject({ symbol: 'AAPL', assetClass: 'equity' });
  expect(await feed.ping()).toBeGreaterThanOrEqual(0);
  await waitFor('an updates-per-second figure', () => feed.metrics.updatesPerSec > 0);
  expect(feed.metrics.rttMs).toBeDefined();

  await sub.remove(['MSFT']);
  expect(sub.symbols).toEqual(['AAPL']);
  expect(sub.book.has('MSFT')).toBe(false);
  const msftCount = quotes.filter((q) => q.symbol === 'MSFT').length;
  const before = quotes.length;
  await waitFor('more AAPL quotes', () => quotes.length >= before + 5);
  expect(quotes.filter((q) => q.symbol === 'MSFT').length).toBe(msftCount);

  await sub.close();
  const after = quotes.length;
  const pings = [await feed.ping(), await feed.ping()];
  expect(pings).toHaveLength(2);
  expect(quotes.length).toBe(after);
  expect(errors).toEqual([]);
});

it('speaks MessagePack when asked to', async () => {
  const gateway = await gatewayForTest();
  const { feed } = open(gateway.ws, { protocol: 'msgpack' });
  const sub = feed.subscribe(['EURUSD', 'AAPL'], { maxHz: 20 });
  expect((await sub.ready).sort()).toEqual(['AAPL', 'EURUSD']);
  await waitFor(
    'msgpack quotes',
    () => (sub.book.get('AAPL')?.seq ?? 0) > 0 && (sub.book.get('EURUSD')?.seq ?? 0) > 0,
  );
  expect(await feed.ping()).toBeGreaterThanOrEqual(0);
});

it('1001: after the gateway stops and starts again, reconnects and resubscribes by itself; the book carries on', async () => {
  const gateway = await gatewayForTest();
  const { feed, states } = open(gateway.ws);
  const a = feed.subscribe(['AAPL', 'MSFT'], { maxHz: 5 });
  const b = feed.subscribe(['MSFT', 'EURUSD'], { maxHz: 2 });
  await Promise.all([a.ready, b.ready]);
  await waitFor('first quotes', () => a.book.size === 2 && b.book.size === 2);

  await gateway.stop();
  await waitFor('reconnecting', () => feed.state === 'reconnecting');
  const firstLoss = states.find(([s]) => s === 'reconnecting')?.[1];
  expect(firstLoss).toMatchObject({ code: 1001, delayMs: 0, attempt: 1 });
  const lastBeforeRestart = a.book.get('AAPL') as Quote;

  await gateway.restart();
  await waitFor('open again', () => feed.state === 'open' && feed.metrics.reconnects === 1, 30000);
  expect(states[states.length - 1]).toEqual(['open', expect.objectContaining({ restored: 3 })]);
  await waitFor(
    'the book to move on after the restart',
    () =>
      (a.book.get('AAPL')?.ts ?? 0) > lastBeforeRestart.ts &&
      (b.book.get('EURUSD')?.ts ?? 0) > lastBeforeRestart.ts,
  );
  expect(a.symbols).toEqual(['AAPL', 'MSFT']);
  expect(b.symbols).toEqual(['MSFT', 'EURUSD']);
  // The SDK never stopped the feed: only reconnecting and open, no closed.
  expect(states.some(([s]) => s === 'closed')).toBe(false);
});

it('4009: a consumer that stops reading is closed as slow; the SDK reports it and reconnects with backoff', async () => {
  const gateway = await gatewayForTest({
    HIGH_WATER_MARK_BYTES: '1024',
    SLOW_CONSUMER_TIMEOUT_MS: '300',
    SIM_RATE: '5000',
  });
  const sockets: WebSocket[] = [];
  class RecordingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  const { feed, states, errors } = open(gateway.ws, {
    WebSocket: RecordingWebSocket,
    reconnect: { initialDelayMs: 200, maxDelayMs: 1000 },
    // Keeps the SDK's own watchdog out of the way while the socket is paused: the close must be the gateway's.
    pingIntervalMs: 60000,
  });
  const all = (await feed.symbols()).map((s) => s.symbol);
  const sub = feed.subscribe(all, { maxHz: 50 });
  await sub.ready;
  await waitFor('quotes', () => sub.book.size > 10);

  // Stop reading from the socket: the gateway's buffer for this connection grows until it gives up.
  const first = sockets[0] as unknown as { _socket: { pause(): void; resume(): void } };
  first._socket.pause();
  const metrics = `http://127.0.0.1:${gateway.port}/metrics`;
  let closes = 0;
  await waitFor(
    'the gateway to close the connection as a slow consumer',
    () => {
      void fetch(metrics)
        .then((r) => r.text())
        .then((text) => {
          const match = /^tickhub_gateway_slow_consumer_closes_total(?:\{[^}]*\})? (\d+)/m.exec(text);
          closes = match ? Number(match[1]) : 0;
        })
        .catch(() => undefined);
      return closes >= 1;
    },
    60000,
  );
  first._socket.resume();
  await waitFor('the 4009 to reach the SDK', () => errors.some((e) => e.code === 'SLOW_CONSUMER'), 30000);
  expect(errors.find((e) => e.code === 'SLOW_CONSUMER')).toMatchObject({ closeCode: 4009 });
  const loss = states.find(([s, d]) => s === 'reconnecting' && d?.code === 4009)?.[1];
  expect(loss?.attempt).toBe(1);
  expect(loss?.delayMs).toBeGreaterThanOrEqual(0);
  expect(loss?.delayMs).toBeLessThan(200);
  await waitFor(
    'open again with the subscription restored',
    () => feed.state === 'open' && sockets.length === 2,
    30000,
  );
  await sub.setMaxHz(1);
  const seq = sub.book.get('AAPL')?.seq ?? 0;
  await waitFor('quotes on the new connection', () => (sub.book.get('AAPL')?.seq ?? 0) !== seq);
});

it('1008: a connection from an origin the gateway does not allow stops and reports POLICY', async () => {
  const gateway = await gatewayForTest({ ALLOWED_ORIGINS: 'http://dashboard.example' });
  class ForeignOrigin extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { origin: 'http://elsewhere.example' });
    }
  }
  const { feed, errors, states } = open(gateway.ws, {
    WebSocket: ForeignOrigin,
  });
  await waitFor('closed', () => feed.state === 'closed');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ code: 'POLICY', closeCode: 1008 });
  expect(states.map(([s]) => s)).toEqual(['connecting', 'closed']);
});

it('rejects a request with TIMEOUT when the gateway does not answer in time', async () => {
  const gateway = await gatewayForTest();
  const sockets: WebSocket[] = [];
  class RecordingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  const { feed } = open(gateway.ws, {
    WebSocket: RecordingWebSocket,
    requestTimeoutMs: 500,
  });
  await waitFor('open', () => feed.state === 'open');
  // Answers that cannot be read cannot arrive: the request must time out on its own.
  const socket = sockets[0] as unknown as { _socket: { pause(): void; resume(): void } };
  socket._socket.pause();
  const started = Date.now();
  const error = await feed.symbols().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FeedError);
  expect((error as FeedError).code).toBe('TIMEOUT');
  expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  socket._socket.resume();
  expect(await feed.ping()).toBeGreaterThanOrEqual(0);
});
