import WebSocket from 'ws';
import { connect, type Feed, FeedError, type FeedOptions, type FeedState, type StateDetail } from '../src';
import { type Frame, gatewayLike, ScriptedServer, type ServerConnection } from './support/scripted-server';
import { sleep, waitFor } from './support/wait';

// Protocol edge cases against a real WebSocket server on loopback that each test scripts.
jest.setTimeout(30000);

const feeds: Feed[] = [];
let server: ScriptedServer;

function open(options: Partial<FeedOptions> = {}): {
  feed: Feed;
  states: Array<[FeedState, StateDetail | undefined]>;
  errors: FeedError[];
} {
  const feed = connect({
    url: server.url,
    WebSocket,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    ...options,
  });
  feeds.push(feed);
  const states: Array<[FeedState, StateDetail | undefined]> = [];
  const errors: FeedError[] = [];
  feed.on('state', (state, detail) => states.push([state, detail]));
  feed.on('error', (error) => errors.push(error));
  return { feed, states, errors };
}

function snapshot(symbol: string, seq: number, last: number): Record<string, unknown> {
  return { type: 'snapshot', ...fields(symbol, seq, last) };
}

function fields(symbol: string, seq: number, last: number): Record<string, unknown> {
  return {
    symbol,
    seq,
    ts: Date.now(),
    bid: last - 0.01,
    ask: last + 0.01,
    bidSize: 1,
    askSize: 1,
    last,
    lastSize: 1,
    volume: seq,
    open: 1,
    high: 2,
    low: 0.5,
  };
}

async function rejection(promise: Promise<unknown>): Promise<FeedError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FeedError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

beforeEach(async () => {
  server = await ScriptedServer.start();
});

afterEach(async () => {
  for (const feed of feeds.splice(0)) feed.close();
  await server.close();
});

describe('requests', () => {
  it('correlates answers by id, even when they come out of order', async () => {
    const held: Array<[ServerConnection, Frame]> = [];
    let holdPing = false;
    const answer = gatewayLike(['AAPL']);
    server.script = (connection, frame) => {
      if (frame.type === 'ping' && holdPing) {
        holdPing = false;
        held.push([connection, frame]);
      } else if (frame.type === 'symbols') {
        answer(connection, frame);
        for (const [c, f] of held) answer(c, f);
      } else answer(connection, frame);
    };
    const { feed } = open({ pingIntervalMs: 60000 });
    await waitFor('open', () => feed.state === 'open');
    await waitFor('the initial ping to be answered', () => feed.metrics.rttMs !== undefined);
    holdPing = true;
    const ping = feed.ping();
    await waitFor('the ping to be held', () => held.length === 1);
    const symbols = await feed.symbols();
    expect(symbols.map((s) => s.symbol)).toEqual(['AAPL']);
    const rtt = await ping;
    expect(typeof rtt).toBe('number');
    expect(rtt).toBeGreaterThanOrEqual(0);
    const ids = server.last.received.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('rejects with TIMEOUT when the server never answers, and the feed stays usable', async () => {
    const answer = gatewayLike(['AAPL']);
    server.script = (connection, frame) => {
      if (frame.type !== 'symbols') answer(connection, frame);
    };
    const { feed } = open({ requestTimeoutMs: 300 });
    await waitFor('open', () => feed.state === 'open');
    const error = await rejection(feed.symbols());
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toMatch(/symbols/);
    expect(feed.state).toBe('open');
    expect(await feed.ping()).toBeGreaterThanOrEqual(0);
  });

  it('rejects a subscription the server never answers with TIMEOUT', async () => {
    const answer = gatewayLike(['AAPL']);
    server.script = (connection, frame) => {
      if (frame.type !== 'subscribe') answer(connection, frame);
    };
    const { feed } = open({ requestTimeoutMs: 300 });
    await waitFor('open', () => feed.state === 'open');
    const sub = feed.subscribe(['AAPL']);
    expect((await rejection(sub.ready)).code).toBe('TIMEOUT');
  });

  it('rejects a request with the code of the server error that carries its id', async () => {
    server.script = (connection, frame) => {
      connection.send({ type: 'error', id: frame.id, code: 'RATE_LIMITED', message: 'slow down' });
    };
    const { feed } = open();
    await waitFor('open', () => feed.state === 'open');
    const error = await rejection(feed.symbols());
    expect(error).toBeInstanceOf(FeedError);
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.message).toBe('slow down');
  });

  it('reports server errors tied to no request on the feed', async () => {
    const { feed, errors } = open();
    await waitFor('open', () => feed.state === 'open');
    server.last.send({ type: 'error', code: 'BAD_REQUEST', message: 'not JSON' });
    await waitFor('the error event', () => errors.length === 1);
    expect(errors[0]?.code).toBe('BAD_REQUEST');
  });

  it('close() rejects what is pending with CLOSED and ends in state closed', async () => {
    server.script = () => undefined;
    const { feed, states } = open();
    await waitFor('open', () => feed.state === 'open');
    const symbols = feed.symbols();
    const sub = feed.subscribe(['AAPL']);
    await waitFor('both requests on the wire', () => server.last.received.length >= 2);
    feed.close();
    expect((await rejection(symbols)).code).toBe('CLOSED');
    expect((await rejection(sub.ready)).code).toBe('CLOSED');
    expect(feed.state).toBe('closed');
    expect(states[states.length - 1]?.[0]).toBe('closed');
    await waitFor('the server to see the close', () => server.last.closed);
  });
});

describe('subscriptions', () => {
  it('resolves ready with the accepted symbols and reports the refused ones on the subscription', async () => {
    const { feed } = open();
    const sub = feed.subscribe(['AAPL', 'NOPE', 'MSFT']);
    const errors: FeedError[] = [];
    sub.on('error', (error) => errors.push(error));
    expect(await sub.ready).toEqual(['AAPL', 'MSFT']);
    await waitFor('the refusal', () => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'UNKNOWN_SYMBOL', symbols: ['NOPE'] });
    expect(sub.symbols).toEqual(['AAPL', 'MSFT']);
  });

  it('rejects ready with the server code when no symbol is accepted', async () => {
    const { feed } = open();
    const sub = feed.subscribe(['NOPE', 'NADA']);
    const error = await rejection(sub.ready);
    expect(error.code).toBe('UNKNOWN_SYMBOL');
    expect(error.symbols).toEqual(['NOPE', 'NADA']);
    expect(sub.symbols).toEqual([]);
  });

  it('sends the subscriptions of one tick as one frame', async () => {
    const { feed } = open({ maxHz: 2 });
    await waitFor('open', () => feed.state === 'open');
    const subs = ['AAPL', 'MSFT', 'EURUSD'].map((s) => feed.subscribe([s]));
    await Promise.all(subs.map((s) => s.ready));
    const frames = server.last.framesOf('subscribe');
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ symbols: ['AAPL', 'MSFT', 'EURUSD'], maxHz: 2 });
  });

  it('sends the leading option with every subscribe, and nothing when it is not set', async () => {
    const aligned = open({ maxHz: 4, leading: false });
    await waitFor('open', () => aligned.feed.state === 'open');
    await aligned.feed.subscribe(['AAPL', 'MSFT']).ready;
    expect(server.last.framesOf('subscribe')).toEqual([
      expect.objectContaining({ symbols: ['AAPL', 'MSFT'], maxHz: 4, leading: false }),
    ]);
    const plain = open();
    await waitFor('open', () => plain.feed.state === 'open');
    await plain.feed.subscribe(['AAPL']).ready;
    expect(server.last.framesOf('subscribe')[0]).not.toHaveProperty('leading');
    expect(() => open({ leading: 'no' as unknown as boolean })).toThrow(/leading/);
  });

  it('keeps a shared symbol subscribed until the last subscription holding it lets go', async () => {
    const { feed } = open();
    const a = feed.subscribe(['AAPL', 'MSFT']);
    const b = feed.subscribe(['AAPL']);
    await Promise.all([a.ready, b.ready]);
    await a.close();
    expect(server.last.framesOf('unsubscribe').map((f) => f.symbols)).toEqual([['MSFT']]);
    server.last.send({ type: 'ticks', updates: [{ ...fields('AAPL', 50, 190), n: 1 }] });
    await waitFor('b to keep receiving AAPL', () => b.book.get('AAPL')?.seq === 50);
    expect(a.book.size).toBe(0);
    await b.remove(['AAPL']);
    expect(server.last.framesOf('unsubscribe').map((f) => f.symbols)).toEqual([['MSFT'], ['AAPL']]);
  });

  it('merges snapshot and updates into the book and drops older seq', async () => {
    const { feed } = open();
    const sub = feed.subscribe(['AAPL']);
    const seen: Array<[number, boolean]> = [];
    sub.on('quote', (quote, update) => seen.push([quote.seq, update !== undefined]));
    await sub.ready;
    const c = server.last;
    c.send(snapshot('AAPL', 10, 189));
    c.send({
      type: 'ticks',
      updates: [
        { ...fields('AAPL', 9, 100), n: 1 },
        { ...fields('AAPL', 12, 190), n: 3 },
      ],
    });
    c.send({
      type: 'ticks',
      updates: [
        { ...fields('AAPL', 11, 100), n: 1 },
        { ...fields('MSFT', 1, 400), n: 1 },
      ],
    });
    c.send({ type: 'ticks', updates: [{ ...fields('AAPL', 13, 191), n: 1 }] });
    await waitFor('seq 13', () => sub.book.get('AAPL')?.seq === 13);
    expect(seen).toEqual([
      [10, false],
      [12, true],
      [13, true],
    ]);
    expect(sub.book.get('AAPL')?.last).toBe(191);
    expect(sub.book.has('MSFT')).toBe(false);
    expect(feed.metrics.lastMessageAt).toBeDefined();
  });

  it('restores every subscription with its rate after a reconnect; the last setMaxHz wins for a shared symbol', async () => {
    const { feed, states } = open();
    const a = feed.subscribe(['AAPL', 'MSFT'], { maxHz: 2 });
    const b = feed.subscribe(['MSFT'], { maxHz: 5 });
    await Promise.all([a.ready, b.ready]);
    await b.setMaxHz(10);
    const first = server.last;
    first.send(snapshot('AAPL', 5000, 189));
    await waitFor('the first snapshot', () => a.book.get('AAPL')?.seq === 5000);

    first.ws.close(1011, 'internal error');
    await waitFor('a second connection', () => server.connections.length === 2);
    await waitFor('open again', () => feed.state === 'open' && states.some(([s]) => s === 'reconnecting'));
    const reconnecting = states.find(([s]) => s === 'reconnecting')?.[1];
    expect(reconnecting).toMatchObject({ code: 1011, reason: 'internal error', attempt: 1 });
    expect(states[states.length - 1]).toEqual(['open', { attempt: 1, restored: 2 }]);
    const restore = server.last.framesOf('subscribe').map((f) => [f.maxHz, f.symbols]);
    expect(restore).toEqual(
      expect.arrayContaining([
        [2, ['AAPL']],
        [10, ['MSFT']],
      ]),
    );
    expect(restore).toHaveLength(2);
    expect(feed.metrics.reconnects).toBe(1);

    // The tick source restarted: its seq begins again, and the book follows it.
    server.last.send(snapshot('AAPL', 3, 170));
    await waitFor('the book to take the new baseline', () => a.book.get('AAPL')?.seq === 3);
  });

  it('restores subscriptions made before the first connection', async () => {
    server.sendWelcome = false;
    const { feed } = open();
    const sub = feed.subscribe(['AAPL', 'NOPE']);
    await waitFor('a connection', () => server.connections.length === 1);
    await sleep(50);
    expect(server.last.received).toHaveLength(0);
    server.last.welcome();
    expect(await sub.ready).toEqual(['AAPL']);
  });

  it('clamps rates to the limits of the server', async () => {
    const { feed } = open();
    const sub = feed.subscribe(['AAPL'], { maxHz: 500 });
    await sub.ready;
    expect(server.last.framesOf('subscribe')[0]?.maxHz).toBe(50);
  });

  it('refuses bad arguments at once', () => {
    const { feed } = open();
    expect(() => feed.subscribe([''])).toThrow(TypeError);
    expect(() => feed.subscribe('AAPL' as unknown as string[])).toThrow(TypeError);
    expect(() => feed.subscribe(['AAPL'], { maxHz: -1 })).toThrow(TypeError);
    expect(() => connect({ url: 'http://example.com' })).toThrow(TypeError);
  });
});

describe('close codes', () => {
  it('1001: reconnects at once', async () => {
    const { feed, states } = open({ reconnect: { initialDelayMs: 5000, maxDelayMs: 5000 } });
    await waitFor('open', () => feed.state === 'open');
    server.last.ws.close(1001, 'server going away');
    await waitFor('a second connection', () => server.connections.length === 2);
    expect(states.find(([s]) => s === 'reconnecting')?.[1]).toMatchObject({
      code: 1001,
      delayMs: 0,
      attempt: 1,
    });
    await waitFor('open again', () => feed.state === 'open');
  });

  it('1001 again right after a 1001: backs off instead of hammering the server', async () => {
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      server.onConnection = (connection) => {
        if (server.connections.length <= 2) setTimeout(() => connection.ws.close(1001, 'draining'), 20);
      };
      const { feed, states } = open({ reconnect: { initialDelayMs: 100, maxDelayMs: 100 } });
      await waitFor(
        'the third connection to open',
        () => server.connections.length === 3 && feed.state === 'open',
      );
      const delays = states.filter(([s]) => s === 'reconnecting').map(([, d]) => d?.delayMs);
      expect(delays).toEqual([0, 50]);
    } finally {
      random.mockRestore();
    }
  });

  it('4001: asks getToken for a new token and connects with it', async () => {
    let calls = 0;
    const { feed, states } = open({ token: 'expired', getToken: () => `fresh-${++calls}` });
    server.onConnection = (connection) => {
      if (connection.token === 'expired') connection.ws.close(4001, 'token expired');
    };
    await waitFor(
      'open with the fresh token',
      () => feed.state === 'open' && server.connections.length === 2,
    );
    expect(server.connections.map((c) => c.token)).toEqual(['expired', 'fresh-1']);
    expect(calls).toBe(1);
    expect(states.find(([s]) => s === 'reconnecting')?.[1]).toMatchObject({ code: 4001, delayMs: 0 });
  });

  it('4001: an async getToken is also called for the first connection when there is no token', async () => {
    const { feed } = open({ getToken: async () => 'from-login' });
    await waitFor('open', () => feed.state === 'open');
    expect(server.last.token).toBe('from-login');
    expect(server.last.url).toBe('/ws?token=from-login');
  });

  it('HTTP 401 at the upgrade counts as 4001: getToken is asked and the new token used', async () => {
    server.refuseUpgrade = (url) => (url.includes('token=expired') ? 401 : undefined);
    const tokens: string[] = [];
    const { feed } = open({ token: 'expired', getToken: () => 'renewed' });
    server.onConnection = (connection) => tokens.push(connection.token ?? '');
    await waitFor('open', () => feed.state === 'open');
    expect(tokens).toEqual(['renewed']);
  });

  it('retries with backoff when getToken fails, and asks it again', async () => {
    let calls = 0;
    const { feed, states } = open({
      getToken: () => {
        calls += 1;
        if (calls === 1) throw new Error('login service down');
        return 'second-try';
      },
    });
    await waitFor('open', () => feed.state === 'open');
    expect(calls).toBe(2);
    expect(server.last.token).toBe('second-try');
    expect(states.find(([s]) => s === 'reconnecting')?.[1]?.reason).toMatch(/login service down/);
  });

  it('4001 without getToken: stops and reports UNAUTHORIZED', async () => {
    server.onConnection = (connection) => connection.ws.close(4001, 'token expired');
    const { feed, errors } = open({ token: 'expired' });
    await waitFor('closed', () => feed.state === 'closed');
    expect(errors[0]).toMatchObject({ code: 'UNAUTHORIZED', closeCode: 4001 });
    await sleep(200);
    expect(server.connections).toHaveLength(1);
  });

  it.each([
    [1008, 'POLICY'],
    [1009, 'TOO_BIG'],
  ])('%i: stops and reports %s, without retrying', async (code, errorCode) => {
    const { feed, errors, states } = open();
    await waitFor('open', () => feed.state === 'open');
    const sub = feed.subscribe(['AAPL']);
    await sub.ready;
    server.last.ws.close(code, 'no');
    await waitFor('closed', () => feed.state === 'closed');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: errorCode, closeCode: code });
    expect(states[states.length - 1]).toEqual(['closed', { code, reason: 'no' }]);
    await sleep(200);
    expect(server.connections).toHaveLength(1);
    expect((await rejection(feed.ping())).code).toBe('CLOSED');
  });

  it('4009: reports SLOW_CONSUMER and reconnects with backoff', async () => {
    const { feed, errors, states } = open({ reconnect: { initialDelayMs: 200, maxDelayMs: 200 } });
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      await waitFor('open', () => feed.state === 'open');
      server.last.ws.close(4009, 'slow consumer');
      await waitFor('the reconnect', () => server.connections.length === 2 && feed.state === 'open');
    } finally {
      random.mockRestore();
    }
    expect(errors[0]).toMatchObject({ code: 'SLOW_CONSUMER', closeCode: 4009 });
    expect(states.find(([s]) => s === 'reconnecting')?.[1]).toMatchObject({
      code: 4009,
      delayMs: 100,
      attempt: 1,
    });
  });

  it('backs off while the server is unreachable and gives up after maxAttempts', async () => {
    const url = server.url;
    await server.close();
    const feed = connect({
      url,
      WebSocket,
      reconnect: { initialDelayMs: 10, maxDelayMs: 40, maxAttempts: 3 },
    });
    feeds.push(feed);
    const states: Array<[FeedState, StateDetail | undefined]> = [];
    const errors: FeedError[] = [];
    feed.on('state', (state, detail) => states.push([state, detail]));
    feed.on('error', (error) => errors.push(error));
    await waitFor('closed', () => feed.state === 'closed');
    expect(states.map(([s, d]) => `${s}:${d?.attempt ?? ''}`)).toEqual([
      'connecting:',
      'reconnecting:1',
      'reconnecting:2',
      'reconnecting:3',
      'closed:',
    ]);
    for (const [, detail] of states.filter(([s]) => s === 'reconnecting')) {
      expect(detail?.delayMs).toBeGreaterThanOrEqual(0);
      expect(detail?.delayMs).toBeLessThan(40);
    }
    expect(errors[0]?.code).toBe('CLOSED');
    server = await ScriptedServer.start();
  });
});

describe('heartbeat', () => {
  it('drops a connection that sends no welcome and tries again', async () => {
    server.sendWelcome = false;
    const { feed, states } = open({ requestTimeoutMs: 300 });
    await waitFor('a second connection', () => server.connections.length === 2);
    expect(states.find(([s]) => s === 'reconnecting')?.[1]?.reason).toMatch(/no welcome within 300 ms/);
    server.last.welcome();
    await waitFor('open', () => feed.state === 'open');
  });

  it('reconnects when nothing arrives for twice heartbeatMs', async () => {
    let silent = true;
    const answer = gatewayLike(['AAPL']);
    server.sendWelcome = false;
    server.onConnection = (connection) => connection.welcome({ heartbeatMs: 250 });
    server.script = (connection, frame) => {
      if (!silent) answer(connection, frame);
    };
    const { feed, states } = open();
    await waitFor('a reconnect after silence', () => server.connections.length >= 2);
    expect(states.find(([s]) => s === 'reconnecting')?.[1]?.reason).toMatch(/nothing received for 500 ms/);
    silent = false;
    await waitFor('open and answering', () => feed.state === 'open' && feed.metrics.rttMs !== undefined);
    // With pongs flowing every heartbeat, the watchdog leaves the connection alone.
    const connections = server.connections.length;
    await sleep(1500);
    expect(server.connections.length).toBe(connections);
  });
});

describe('runtime', () => {
  it('loads the ws package by itself in Node when no WebSocket is given', async () => {
    expect((globalThis as { WebSocket?: unknown }).WebSocket).toBeUndefined();
    const feed = connect({ url: server.url });
    feeds.push(feed);
    await waitFor('open', () => feed.state === 'open');
  });
});
