// The shipped nginx configuration: it passes `nginx -t` with a pods file rendered by the shipped
// script, the script refuses bad input, and routing by the SignalR `id` reaches the pod that
// negotiated the connection: every transport of the official client works through nginx in front of
// three gateway pods (each poll, send and stream request of a connection must land on its pod).

import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { HttpTransportType, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { CuttableProxy } from '@tickhub/signalr/testing';
import {
  type GatewayPod,
  NGINX_DIR,
  type Nginx,
  nginxConfig,
  nginxTest,
  startNginx,
  startPod,
  waitFor,
} from './harness';

/** Every SignalR transport, the fallbacks first: they are the ones that need the sticky routing. */
const TRANSPORTS: Array<[string, HttpTransportType]> = [
  ['LongPolling', HttpTransportType.LongPolling],
  ['ServerSentEvents', HttpTransportType.ServerSentEvents],
  ['WebSockets', HttpTransportType.WebSockets],
];

describe('docker/nginx', () => {
  it('passes nginx -t with a rendered pods file', () => {
    const dir = nginxConfig(
      [
        { id: 'gateway-1', port: 18081 },
        { id: 'gw.2', port: 18082 },
      ],
      18080,
    );
    try {
      const out = (() => {
        try {
          return nginxTest(dir);
        } catch (error) {
          const e = error as { stderr?: string; message: string };
          throw new Error(`nginx -t failed: ${e.stderr ?? e.message}`);
        }
      })();
      expect(out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('render-pods.sh refuses pods it cannot route', () => {
    const render = (...args: string[]) =>
      execFileSync('sh', [path.join(NGINX_DIR, 'render-pods.sh'), ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    expect(() => render()).toThrow(/usage/);
    expect(() => render('gateway-1')).toThrow(/GATEWAY_ID=host:port/);
    expect(() => render('bad id=127.0.0.1:1')).toThrow(/bad pod/);
    expect(() => render('gw=127.0.0.1')).toThrow(/bad address/);
    expect(render('gw-1=10.0.0.1:8080')).toContain('gw-1 pod_gw-1;');
  });
});

describe('SignalR through nginx in front of three pods (embedded mode)', () => {
  const pods: GatewayPod[] = [];
  let nginx: Nginx;

  beforeAll(async () => {
    const run = Math.random().toString(36).slice(2, 8);
    for (let i = 1; i <= 3; i++)
      pods.push(await startPod(`sr${i}-${run}`, { SIM_RATE: '200', SIM_SYMBOLS: '20' }));
    nginx = await startNginx(pods.map((p) => ({ id: p.id, port: p.port })));
  }, 120_000);

  afterAll(async () => {
    await nginx?.stop();
    for (const p of pods) await p.stop();
  });

  it.each(TRANSPORTS)(
    '%s: market updates arrive on connections negotiated on any pod',
    async (_name, transport) => {
      const url = `http://127.0.0.1:${nginx.port}/hubs/market`;
      // Several connections, so that negotiate lands on more than one pod (least connections).
      const connections = Array.from({ length: 4 }, () =>
        new HubConnectionBuilder().withUrl(url, { transport }).configureLogging(LogLevel.None).build(),
      );
      const ticks = connections.map(() => ({ count: 0 }));
      try {
        for (const [i, c] of connections.entries()) {
          c.on('ticks', (updates: unknown[]) => {
            ticks[i]!.count += updates.length;
          });
          c.on('snapshot', () => undefined);
          await c.start();
        }
        const pods = new Set(
          connections.map((c) => c.connectionId?.slice(0, c.connectionId.lastIndexOf('.'))),
        );
        expect(pods.size).toBeGreaterThan(1);
        for (const c of connections) {
          const accepted = await c.invoke<string[]>('Subscribe', ['AAPL', 'MSFT'], 10);
          expect(accepted).toEqual(['AAPL', 'MSFT']);
        }
        await waitFor(() => ticks.every((t) => t.count >= 5), 30_000, 'ticks on every connection');
      } finally {
        await Promise.all(connections.map((c) => c.stop()));
      }
    },
  );

  // Run last in this block: each stops one of the three pods (SIGTERM drains, SIGKILL does not).
  it.each([
    ['SIGTERM', (p: GatewayPod) => p.stop()],
    [
      'SIGKILL',
      async (p: GatewayPod) => {
        p.proc.kill('SIGKILL');
        await p.exited;
      },
    ],
  ] as const)(
    'WebSockets: withAutomaticReconnect renegotiates through nginx on another pod after %s',
    async (signal, end) => {
      const url = `http://127.0.0.1:${nginx.port}/hubs/market`;
      const podOf = (id: string | null | undefined) => (id ? id.slice(0, id.lastIndexOf('.')) : '');
      const c = new HubConnectionBuilder()
        .withUrl(url, { transport: HttpTransportType.WebSockets })
        .withAutomaticReconnect([0, 500, 1000, 2000, 2000, 2000])
        .configureLogging(LogLevel.None)
        .build();
      const state = { ticks: 0, reconnectingAt: 0, reconnectedAt: 0 };
      c.on('ticks', (updates: unknown[]) => {
        state.ticks += updates.length;
      });
      c.on('snapshot', () => undefined);
      c.onreconnecting(() => {
        state.reconnectingAt = Date.now();
      });
      // Subscriptions live on the pod, so a reconnected client subscribes again.
      c.onreconnected(async () => {
        await c.invoke('Subscribe', ['AAPL', 'MSFT'], 10);
        state.reconnectedAt = Date.now();
      });
      try {
        await c.start();
        expect(await c.invoke<string[]>('Subscribe', ['AAPL', 'MSFT'], 10)).toEqual(['AAPL', 'MSFT']);
        await waitFor(() => state.ticks >= 5, 15_000, 'ticks before the pod stops');
        const first = podOf(c.connectionId);
        const pod = pods.find((p) => p.id === first);
        expect(pod).toBeDefined();
        const stoppedAt = Date.now();
        await end(pod!);
        await waitFor(() => state.reconnectedAt > 0, 20_000, 'automatic reconnect through nginx');
        const second = podOf(c.connectionId);
        expect(second).not.toBe(first);
        expect(pods.map((p) => p.id)).toContain(second);
        state.ticks = 0;
        await waitFor(() => state.ticks >= 5, 15_000, 'ticks after the reconnect');
        console.log(
          `[cluster] withAutomaticReconnect via nginx (${signal}): ${first} -> ${second}, ` +
            `reconnect ${state.reconnectedAt - Math.max(state.reconnectingAt, stoppedAt)} ms after the close, ` +
            `${state.reconnectedAt - stoppedAt} ms after ${signal}`,
        );
      } finally {
        await c.stop();
      }
    },
    60_000,
  );
});

describe('/chathub across two pods behind nginx, Redis backplane', () => {
  const pods: GatewayPod[] = [];
  let nginx: Nginx;

  beforeAll(async () => {
    const redisUrl = process.env.REDIS_URL;
    if (!redisUrl) throw new Error('REDIS_URL is not set: /chathub across pods needs a real Redis');
    const run = Math.random().toString(36).slice(2, 8);
    for (let i = 1; i <= 2; i++) {
      pods.push(
        await startPod(`chat${i}-${run}`, {
          REDIS_URL: redisUrl,
          REDIS_KEY_PREFIX: `tickhub-chat-${run}:`,
          SIM_RATE: '20',
          SIM_SYMBOLS: '5',
        }),
      );
    }
    nginx = await startNginx(pods.map((p) => ({ id: p.id, port: p.port })));
  }, 120_000);

  afterAll(async () => {
    await nginx?.stop();
    for (const p of pods) await p.stop();
  });

  it.each(TRANSPORTS)(
    '%s: a message sent on one pod reaches a client on the other',
    async (name, transport) => {
      const url = `http://127.0.0.1:${nginx.port}/chathub`;
      const podOf = (id: string | null) => (id ? id.slice(0, id.lastIndexOf('.')) : '');
      const open: Array<{ c: ReturnType<HubConnectionBuilder['build']>; got: string[] }> = [];
      try {
        // Connect until there is a connection on each pod (least connections spreads them).
        for (let i = 0; i < 8 && new Set(open.map((o) => podOf(o.c.connectionId))).size < 2; i++) {
          const c = new HubConnectionBuilder()
            .withUrl(url, { transport })
            .configureLogging(LogLevel.None)
            .build();
          const entry = { c, got: [] as string[] };
          c.on('ReceiveMessage', (user: string, message: string) => entry.got.push(`${user}:${message}`));
          await c.start();
          open.push(entry);
        }
        const first = open[0]!;
        const other = open.find((o) => podOf(o.c.connectionId) !== podOf(first.c.connectionId));
        expect(other).toBeDefined();
        await first.c.invoke('SendMessage', 'ann', `hello over ${name}`);
        await waitFor(
          () => open.every((o) => o.got.includes(`ann:hello over ${name}`)),
          15_000,
          'every chat client on both pods to receive the message',
        );
      } finally {
        await Promise.all(open.map((o) => o.c.stop()));
      }
    },
  );

  it('WebSockets with stateful reconnect: cuts between client and nginx lose and repeat nothing, across pods', async () => {
    const proxy = new CuttableProxy(nginx.port);
    const proxyPort = await proxy.listen();
    const podOf = (id: string | null) => (id ? id.slice(0, id.lastIndexOf('.')) : '');
    const build = (port: number, stateful: boolean) => {
      const builder = new HubConnectionBuilder()
        .withUrl(`http://127.0.0.1:${port}/chathub`, { transport: HttpTransportType.WebSockets })
        .configureLogging(LogLevel.None);
      return (stateful ? builder.withStatefulReconnect() : builder).build();
    };
    const roaming = build(proxyPort, true);
    const got: string[] = [];
    roaming.on('ReceiveMessage', (user: string, message: string) => {
      if (user === 'sender') got.push(message);
    });
    const senders: Array<ReturnType<typeof build>> = [];
    try {
      await roaming.start();
      const roamingId = roaming.connectionId;
      // A sender on the other pod: its messages cross the Redis backplane before they reach the roaming client.
      for (let i = 0; i < 8; i++) {
        const c = build(nginx.port, false);
        await c.start();
        senders.push(c);
        if (podOf(c.connectionId) !== podOf(roamingId)) break;
      }
      const sender = senders.at(-1)!;
      expect(podOf(sender.connectionId)).not.toBe(podOf(roamingId));
      const count = 60;
      for (let i = 0; i < count; i++) {
        // The chat's per-sender budget (10 messages a second) refuses a burst: such a send is retried.
        for (;;) {
          try {
            await sender.invoke('SendMessage', 'sender', `m${i}`);
            break;
          } catch (error) {
            if (!String(error).includes('RATE_LIMITED')) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        if (i % 15 === 7) proxy.cut();
      }
      await waitFor(() => got.length >= count, 30_000, 'every message at the roaming client');
      expect(got).toEqual(Array.from({ length: count }, (_, i) => `m${i}`));
      expect(proxy.cuts).toBe(4);
      // The same connection on the same pod: the reconnects went back to it by its id.
      expect(roaming.connectionId).toBe(roamingId);
    } finally {
      await Promise.all([roaming.stop(), ...senders.map((c) => c.stop())]);
      await proxy.close();
    }
  });
});
