import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';

// The browser build of the SDK in a real headless Chromium, against the real gateway.
jest.setTimeout(120000);

const CHROMIUM = '/usr/bin/chromium';

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tickhub client</title></head>
<body>
<script type="module">
  import { connect } from './tickhub-client.js';
  const params = new URLSearchParams(location.search);
  const report = { states: [], quotes: [], accepted: null, errors: [], rtt: null, hasBook: false };
  window.report = report;
  const feed = connect({ url: params.get('gateway'), maxHz: 10 });
  feed.on('state', (state) => report.states.push(state));
  feed.on('error', (error) => report.errors.push(error.code + ': ' + error.message));
  const sub = feed.subscribe(['AAPL', 'EURUSD']);
  sub.on('quote', (quote) => {
    report.quotes.push({ symbol: quote.symbol, seq: quote.seq, last: quote.last });
    report.hasBook = sub.book.has('AAPL') && sub.book.has('EURUSD');
  });
  sub.ready.then((symbols) => { report.accepted = symbols; }, (error) => report.errors.push(error.code));
  feed.ping().then((rtt) => { report.rtt = rtt; });
</script>
</body></html>`;

interface PageReport {
  states: string[];
  quotes: Array<{ symbol: string; seq: number; last: number }>;
  accepted: string[] | null;
  errors: string[];
  rtt: number | null;
  hasBook: boolean;
}

let gateway: GatewayProcess | undefined;
let http: Server | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await gateway?.stop();
});

it('receives quotes in headless Chromium through the browser bundle', async () => {
  expect(existsSync(CHROMIUM)).toBe(true);
  const bundle = await build({
    entryPoints: [join(__dirname, '../src/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    external: ['msgpackr', 'ws'],
    write: false,
  });
  const code = bundle.outputFiles[0]?.contents;
  expect(code).toBeDefined();

  gateway = await startGateway();

  http = createServer((req, res) => {
    if (req.url?.startsWith('/tickhub-client.js')) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
    } else if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve));
  const pagePort = (http.address() as AddressInfo).port;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.goto(`http://127.0.0.1:${pagePort}/?gateway=${encodeURIComponent(gateway.ws)}`);

  await page.waitForFunction(
    () => {
      const r = (globalThis as unknown as { report?: PageReport }).report;
      return r?.hasBook === true && r.quotes.length >= 6 && r.rtt !== null;
    },
    undefined,
    { timeout: 60000, polling: 100 },
  );
  const report = await page.evaluate(() => (globalThis as unknown as { report: PageReport }).report);
  expect(pageErrors).toEqual([]);
  expect(report.errors).toEqual([]);
  expect(report.accepted).toEqual(['AAPL', 'EURUSD']);
  expect(report.states).toEqual(['connecting', 'open']);
  expect(report.rtt).toBeGreaterThanOrEqual(0);
  const symbols = new Set(report.quotes.map((q) => q.symbol));
  expect(symbols).toEqual(new Set(['AAPL', 'EURUSD']));
  for (const q of report.quotes) expect(q.last).toBeGreaterThan(0);
});
