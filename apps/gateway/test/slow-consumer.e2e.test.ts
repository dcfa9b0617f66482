import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { Client, metric, waitFor } from './support/gateway';

jest.setTimeout(120_000);

let gw: GatewayProcess;
const clients: Client[] = [];

beforeAll(async () => {
  gw = await startGateway({
    SIM_RATE: '20000',
    HIGH_WATER_MARK_BYTES: '65536',
    SLOW_CONSUMER_TIMEOUT_MS: '1500',
  });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
});

describe('slow consumer (docs/protocol.md rule 6)', () => {
  it('closes a client that never reads with 4009 while a normal client keeps receiving on time', async () => {
    const symbols = ((await (await fetch(`${gw.http}/api/symbols`)).json()) as Array<{ symbol: string }>).map(
      (s) => s.symbol,
    );
    const normal = await Client.open(gw.ws);
    clients.push(normal);
    normal.send({ type: 'subscribe', symbols: ['AAPL', 'MSFT'], maxHz: 10 });
    await normal.next((m) => m.type === 'subscribed');

    const slow = await Client.open(gw.ws);
    clients.push(slow);
    slow.send({ type: 'subscribe', symbols, maxHz: 50 });
    await slow.next((m) => m.type === 'subscribed');
    // Stop reading: the kernel buffers fill, then the gateway's buffer passes the high-water mark.
    slow.ws.pause();
    const pausedAt = Date.now();

    const deadline = Date.now() + 90_000;
    let pauses = 0;
    for (;;) {
      if ((await metric(gw.http, 'tickhub_gateway_slow_consumer_closes_total')) >= 1) break;
      pauses = await metric(gw.http, 'tickhub_gateway_slow_consumer_pauses_total');
      if (Date.now() > deadline) throw new Error(`no slow-consumer close within 90 s (pauses: ${pauses})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const closedAt = Date.now();
    expect(await metric(gw.http, 'tickhub_gateway_slow_consumer_pauses_total')).toBeGreaterThanOrEqual(1);

    // The normal client received updates all along, without a stall.
    const frames = normal.messages.filter(
      (e) => e.msg.type === 'ticks' && e.at >= pausedAt && e.at <= closedAt,
    );
    expect(frames.length).toBeGreaterThan(5);
    let maxGap = 0;
    for (let i = 1; i < frames.length; i++) maxGap = Math.max(maxGap, frames[i]!.at - frames[i - 1]!.at);
    expect(maxGap).toBeLessThan(2000);

    // Reading again drains what was buffered; the close frame at its end carries 4009.
    slow.ws.resume();
    const closed = await slow.closed;
    expect(closed.code).toBe(4009);
    const seen = normal.updates().length;
    await waitFor(() => normal.updates().length > seen + 2, 10_000, 'the normal client to keep receiving');
  });

  it('also closes with 4009 a client that keeps requesting without reading the answers', async () => {
    const before = await metric(gw.http, 'tickhub_gateway_closes_total', 'code="4009"').catch(() => 0);
    const c = await Client.open(gw.ws);
    clients.push(c);
    c.ws.pause();
    let sent = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      // Within the inbound limit: this is not abuse, only a peer that never reads.
      for (let i = 0; i < 5; i++) c.send({ type: 'symbols', id: String(sent++) });
      await new Promise((r) => setTimeout(r, 300));
      const closes = await metric(gw.http, 'tickhub_gateway_closes_total', 'code="4009"').catch(() => 0);
      if (closes > before) break;
      if (Date.now() > deadline) throw new Error(`not closed after ${sent} requests`);
    }
    c.ws.resume();
    expect((await c.closed).code).toBe(4009);
    expect(c.all((m) => m.type === 'error' && m.code === 'RATE_LIMITED')).toEqual([]);
  });
});

describe('heartbeat and slow-consumer guard, in order (docs/architecture.md, "Slow and dead clients")', () => {
  let fast: GatewayProcess;
  const mine: Client[] = [];

  beforeAll(async () => {
    // The slow-consumer timeout is longer than a heartbeat interval: a heartbeat that ignored the
    // backlog would cut the client that stopped reading (1006) before the guard's 4009. The client's
    // kernel buffers fill within a few seconds at this rate, well inside the first interval.
    fast = await startGateway({
      SIM_RATE: '20000',
      HIGH_WATER_MARK_BYTES: '65536',
      SLOW_CONSUMER_TIMEOUT_MS: '6000',
      HEARTBEAT_MS: '4000',
    });
  });

  afterAll(async () => {
    for (const c of mine) c.close();
    await fast?.stop();
  });

  it('a client with a backlog above the mark gets 4009 from the guard, never a heartbeat cut', async () => {
    const symbols = (
      (await (await fetch(`${fast.http}/api/symbols`)).json()) as Array<{ symbol: string }>
    ).map((s) => s.symbol);
    const before = await metric(fast.http, 'tickhub_gateway_heartbeat_terminations_total');
    const slow = await Client.open(fast.ws);
    mine.push(slow);
    slow.send({ type: 'subscribe', symbols, maxHz: 50 });
    await slow.next((m) => m.type === 'subscribed');
    slow.ws.pause();
    const deadline = Date.now() + 30_000;
    while ((await metric(fast.http, 'tickhub_gateway_slow_consumer_closes_total')) < 1) {
      const cut = await metric(fast.http, 'tickhub_gateway_heartbeat_terminations_total');
      if (cut > before) throw new Error('the heartbeat cut a connection that the guard owned');
      if (Date.now() > deadline) throw new Error('no slow-consumer close within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    slow.ws.resume();
    expect((await slow.closed).code).toBe(4009);
    expect(await metric(fast.http, 'tickhub_gateway_heartbeat_terminations_total')).toBe(before);
    expect(await metric(fast.http, 'tickhub_gateway_closes_total', 'code="4009"')).toBe(1);
  });

  it('a client that stops reading below the mark is cut by the heartbeat and counted as such', async () => {
    const before = await metric(fast.http, 'tickhub_gateway_heartbeat_terminations_total');
    const slowBefore = await metric(fast.http, 'tickhub_gateway_slow_consumer_closes_total');
    const idle = await Client.open(fast.ws);
    mine.push(idle);
    idle.send({ type: 'subscribe', symbols: ['AAPL'], maxHz: 1 });
    await idle.next((m) => m.type === 'subscribed');
    idle.ws.pause();
    const deadline = Date.now() + 30_000;
    while ((await metric(fast.http, 'tickhub_gateway_heartbeat_terminations_total')) <= before) {
      if (Date.now() > deadline) throw new Error('no heartbeat termination within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    idle.ws.resume();
    expect((await idle.closed).code).toBe(1006);
    expect(await metric(fast.http, 'tickhub_gateway_slow_consumer_closes_total')).toBe(slowBefore);
  });
});
