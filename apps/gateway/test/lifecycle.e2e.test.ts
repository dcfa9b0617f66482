import { startGateway } from '@tickhub/testkit';
import WebSocket from 'ws';
import { Client, metric } from './support/gateway';

jest.setTimeout(90_000);

describe('heartbeat', () => {
  it('terminates a peer that stops answering pings', async () => {
    const gw = await startGateway({ HEARTBEAT_MS: '300', SIM_RATE: '500' });
    try {
      const c = await Client.open(gw.ws);
      expect(c.all((m) => m.type === 'welcome')[0]?.heartbeatMs).toBe(300);
      const healthy = await Client.open(gw.ws);
      // A paused socket reads nothing, so ws cannot answer the server's pings.
      c.ws.pause();
      const deadline = Date.now() + 20_000;
      while ((await metric(gw.http, 'tickhub_gateway_heartbeat_terminations_total')) < 1) {
        if (Date.now() > deadline) throw new Error('no heartbeat termination');
        await new Promise((r) => setTimeout(r, 100));
      }
      c.ws.resume();
      expect((await c.closed).code).toBe(1006);
      // A peer that answers pings stays, well past several heartbeats.
      await new Promise((r) => setTimeout(r, 1200));
      expect(healthy.closeInfo).toBeUndefined();
      healthy.send({ type: 'ping', id: 'hb' });
      await healthy.next((m) => m.type === 'pong');
      healthy.close();
    } finally {
      await gw.stop();
    }
  });
});

describe('graceful drain on SIGTERM', () => {
  it('turns not ready, refuses upgrades, closes clients with 1001 and exits within the grace period', async () => {
    const gw = await startGateway({ DRAIN_GRACE_MS: '6000', SIM_RATE: '1000' });
    const a = await Client.open(gw.ws);
    a.send({ type: 'subscribe', symbols: ['AAPL'], maxHz: 10 });
    await a.next((m) => m.type === 'ticks');
    // A client that does not answer the close handshake keeps the drain waiting, so readiness can be observed.
    const stuck = await Client.open(gw.ws);
    stuck.ws.pause();

    const t0 = Date.now();
    gw.proc.kill('SIGTERM');
    expect((await a.closed).code).toBe(1001);
    // The stuck client holds the drain open, so the pod still answers /metrics.
    expect(await metric(gw.http, 'tickhub_gateway_closes_total', 'code="1001"')).toBeGreaterThanOrEqual(1);
    let sawNotReady = false;
    let refused = 0;
    while (gw.proc.exitCode === null && Date.now() - t0 < 5000) {
      const res = await fetch(`${gw.http}/health/ready`).catch(() => undefined);
      if (res?.status === 503) {
        sawNotReady = true;
        const body = (await res.json()) as { draining: boolean };
        expect(body.draining).toBe(true);
        refused = await new Promise<number>((resolve) => {
          const ws = new WebSocket(gw.ws);
          ws.on('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
          ws.on('open', () => resolve(101));
          ws.on('error', () => resolve(-1));
        });
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(sawNotReady).toBe(true);
    expect(refused).toBe(503);
    const exit = await gw.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(6000 + 2000);
    stuck.ws.resume();
    stuck.close();
    expect(gw.logs.some((l) => l.includes('"msg":"drained"'))).toBe(true);
  });
});

describe('configuration', () => {
  it('refuses a wrong value at start with one line naming the variable', async () => {
    await expect(startGateway({ MAX_HZ: 'fast' })).rejects.toThrow(/MAX_HZ must be a number/);
  });
});

describe('readiness', () => {
  it('is 503 while the tick source is not connected, and live all along', async () => {
    // Nothing listens on port 1: the Kafka consumer cannot connect.
    const gw = await startGateway(
      { KAFKA_BROKERS: '127.0.0.1:1', DRAIN_GRACE_MS: '3000', DASHBOARD_DIR: '/nonexistent/dashboard' },
      { waitReady: false },
    );
    try {
      const ready = await fetch(`${gw.http}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        status: 'not ready',
        draining: false,
        tickSource: { kind: 'kafka', connected: false },
      });
      expect((await fetch(`${gw.http}/health/live`)).status).toBe(200);
      expect(await metric(gw.http, 'tickhub_gateway_ready')).toBe(0);
      // Without a built dashboard, `/` is a small page naming the endpoints.
      const page = await (await fetch(`${gw.http}/`)).text();
      expect(page).toContain('The dashboard is not built');
    } finally {
      await gw.stop();
    }
    expect((await gw.exited).code).toBe(0);
  });
});
