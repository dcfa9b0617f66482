import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import WebSocket from 'ws';
import { connect, type Feed, FeedError } from '../src';

// feed.history against the real gateway process (embedded mode, with its warm-up) over a real socket.
jest.setTimeout(120000);

let gateway: GatewayProcess;
let feed: Feed;

beforeAll(async () => {
  gateway = await startGateway({ SIM_SYMBOLS: '50', SIM_WARMUP_SECONDS: '3600' });
  feed = connect({ url: gateway.ws, WebSocket });
});

afterAll(async () => {
  feed?.close();
  await gateway?.stop();
});

it('loads candle history, oldest first, with the limit asked for', async () => {
  const candles = await feed.history('AAPL', '1m', 30);
  expect(candles).toHaveLength(30);
  for (let i = 1; i < candles.length; i++)
    expect(candles[i]!.t - candles[i - 1]!.t).toBeGreaterThanOrEqual(60_000);
  expect(candles[0]).toEqual({
    t: expect.any(Number),
    o: expect.any(Number),
    h: expect.any(Number),
    l: expect.any(Number),
    c: expect.any(Number),
    v: expect.any(Number),
    n: expect.any(Number),
  });
  // Without a limit, the server's default applies (a full hour of 1m is 60 candles here).
  expect((await feed.history('AAPL', '1m')).length).toBeGreaterThanOrEqual(59);
});

it('rejects with the server error codes', async () => {
  await expect(feed.history('NOPE', '1m')).rejects.toMatchObject({
    code: 'UNKNOWN_SYMBOL',
    symbols: ['NOPE'],
  });
  const bad = await feed.history('AAPL', '2m' as never).catch((error: unknown) => error);
  expect(bad).toBeInstanceOf(FeedError);
  expect(bad).toMatchObject({ code: 'BAD_REQUEST' });
  await expect(feed.history('AAPL', '1s', 1001)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
});
