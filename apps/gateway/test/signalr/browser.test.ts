import { existsSync, readFileSync } from 'node:fs';
import { createLogger } from '@tickhub/log';
import { type HubHost, startHubHost, waitFor } from '@tickhub/signalr/testing';
import { type Browser, chromium } from 'playwright-core';
import { loadConfig } from '../../src/config';
import { type Entitlements, entitlementsFor } from '../../src/core/entitlements';
import { GatewayRuntime } from '../../src/runtime';
import { ChatHub } from '../../src/signalr/hubs/chat.hub';
import { MarketHub } from '../../src/signalr/hubs/market.hub';

jest.setTimeout(60_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  throw new Error(
    `Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`,
  );
}

const SIGNALR_JS = readFileSync(require.resolve('@microsoft/signalr/dist/browser/signalr.js'));

/**
 * The page removes window.WebSocket (and, for `?without=sse`, window.EventSource) before the
 * official browser client loads, then uses /hubs/market like a dashboard would.
 */
const PAGE = `<!doctype html><html><head><meta charset="utf-8">
<script>
  const without = new URLSearchParams(location.search).get('without') || '';
  window.WebSocket = undefined;
  if (without === 'sse') window.EventSource = undefined;
</script>
<script src="/signalr.js"></script>
</head><body><script>
  window.result = { ticks: 0, snapshots: 0, accepted: null, error: null, started: false };
  (async () => {
    try {
      const connection = new signalR.HubConnectionBuilder().withUrl('/hubs/market').build();
      connection.on('ticks', (updates) => { window.result.ticks += updates.length; });
      connection.on('snapshot', () => { window.result.snapshots += 1; });
      await connection.start();
      window.result.started = true;
      const symbols = await connection.invoke('ListSymbols');
      window.result.accepted = await connection.invoke('Subscribe', symbols.slice(0, 3).map((s) => s.symbol), 5);
    } catch (e) {
      window.result.error = String(e);
    }
  })();
</script></body></html>`;

interface PageResult {
  ticks: number;
  snapshots: number;
  accepted: string[] | null;
  error: string | null;
  started: boolean;
}

describe('the official browser client in headless Chromium falls back on its own', () => {
  let runtime: GatewayRuntime;
  let host: HubHost;
  let browser: Browser;

  beforeAll(async () => {
    const config = loadConfig({ LOG_LEVEL: 'error', SIM_SYMBOLS: '20', SIM_RATE: '400' });
    const logger = createLogger({ app: 'gateway', level: 'error' });
    runtime = new GatewayRuntime(config, logger);
    await runtime.start();
    const feed = {
      symbols: runtime.symbols,
      limits: config.limits,
      entitlementsFor: (token: Entitlements | undefined) => entitlementsFor(config.entitledSymbols, token),
      openSession: runtime.edge.openSession.bind(runtime.edge),
    };
    host = await startHubHost({
      hubs: [
        { path: '/hubs/market', hub: new MarketHub(feed) },
        { path: '/chathub', hub: new ChatHub() },
      ],
      // A closed page sends no DELETE: its long-polling connection goes after this idle time.
      transport: { disconnectTimeoutMs: 3000 },
      routes: (req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/') {
          res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE);
          return true;
        }
        if (path === '/signalr.js') {
          res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(SIGNALR_JS);
          return true;
        }
        return false;
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    await runtime?.stop();
  });

  it.each([
    { label: 'WebSocket', without: '', expected: 'ServerSentEvents' as const },
    { label: 'WebSocket and EventSource', without: 'sse', expected: 'LongPolling' as const },
  ])('without $label: receives ticks over $expected', async ({ without, expected }) => {
    const page = await browser.newPage();
    try {
      await page.goto(`${host.baseUrl}/?without=${without}`);
      expect(await page.evaluate(() => typeof WebSocket)).toBe('undefined');
      await page.waitForFunction(
        () => {
          const r = (globalThis as unknown as { result: PageResult }).result;
          return r.error !== null || r.ticks >= 5;
        },
        undefined,
        { timeout: 30_000 },
      );
      const result = await page.evaluate(() => (globalThis as unknown as { result: PageResult }).result);
      expect(result.error).toBeNull();
      expect(result.accepted).toHaveLength(3);
      expect(result.snapshots).toBeGreaterThanOrEqual(1);
      expect(host.signalr.connectionsByTransport()[expected]).toBe(1);
    } finally {
      await page.close();
    }
    await waitFor(() => host.signalr.connectionCount === 0, 20_000, 'the page’s connection to end');
  });
});
