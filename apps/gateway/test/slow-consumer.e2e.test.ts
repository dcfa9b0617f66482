import { Client, type GatewayProcess, metric, spawnGateway, waitFor } from './support/gateway';

jest.setTimeout(120_000);

let gw: GatewayProcess;
const clients: Client[] = [];

beforeAll(async () => {
  gw = await spawnGateway({
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
