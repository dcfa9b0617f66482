import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { artifact, buildDashboard, launchChromium } from './support/browser';

/**
 * The dashboard as users get it: built files served by a real gateway process (embedded mode,
 * simulated market), driven in Debian's Chromium.
 */
describe('dashboard in a real browser against a running gateway', () => {
  let gateway: GatewayProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    buildDashboard();
    // A short drain, so that the graceful restart below does not wait for the page's connection.
    gateway = await startGateway({ DRAIN_GRACE_MS: '1000' });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(gateway.http, { waitUntil: 'domcontentloaded' });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gateway?.stop();
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  const rowSymbols = () =>
    page.$$eval('#rows .row', (rows) => rows.map((r) => (r as HTMLElement).dataset.symbol));
  const lastPrices = () =>
    page.$$eval('#rows .row', (rows) => rows.map((r) => r.querySelector('.c-last')?.textContent ?? ''));
  const selectedSymbol = () => page.$eval('#rows .row.sel', (r) => (r as HTMLElement).dataset.symbol);

  it('loads with a default watchlist whose prices change within seconds', async () => {
    await page.waitForFunction(
      () => document.querySelector('#status')?.getAttribute('data-state') === 'connected',
    );
    // The default list is filtered against /api/symbols; it mixes equities, FX and crypto.
    await page.waitForFunction(() => document.querySelector('#rows .row[data-asset]') !== null);
    const symbols = await rowSymbols();
    expect(symbols.length).toBeGreaterThanOrEqual(8);
    expect(symbols).toEqual(expect.arrayContaining(['AAPL', 'MSFT', 'EURUSD', 'USDJPY', 'BTCUSD', 'ETHUSD']));

    await page.waitForFunction(() =>
      [...document.querySelectorAll('#rows .c-last')].every((c) => /\d/.test(c.textContent ?? '')),
    );
    const before = await lastPrices();
    await page.waitForFunction(
      (initial) => {
        const now = [...document.querySelectorAll('#rows .c-last')].map((c) => c.textContent);
        return now.filter((text, i) => text !== initial[i]).length >= 3;
      },
      before,
      { timeout: 15_000 },
    );

    // Per-asset-class formatting: FX in pips, JPY pairs with 3, equities in cents.
    const cell = (s: string, c: string) =>
      page.$eval(`#rows .row[data-symbol="${s}"] .c-${c}`, (e) => e.textContent ?? '');
    expect(await cell('EURUSD', 'bid')).toMatch(/^\d\.\d{5}$/);
    expect(await cell('USDJPY', 'bid')).toMatch(/^\d{3}\.\d{3}$/);
    expect(await cell('AAPL', 'last')).toMatch(/^\d{1,3}(,\d{3})*\.\d{2}$/);
    expect(await cell('BTCUSD', 'last')).toMatch(/^\d{1,3}(,\d{3})+\.\d{2}$/);
    expect(await cell('AAPL', 'pct')).toMatch(/^[+−]?\d+\.\d{2}%$/);

    // Connection status shows round-trip time and updates per second once measured.
    await page.waitForFunction(
      () => /ms$/.test(document.getElementById('status-rtt')?.textContent ?? ''),
      null,
      {
        timeout: 15_000,
      },
    );
    await page.waitForFunction(() => /\d/.test(document.getElementById('status-rate')?.textContent ?? ''));
  });

  it('flashes cells on moves and reports per-symbol update rates', async () => {
    await page.waitForSelector('#rows .fu, #rows .fd', { timeout: 10_000 });
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#rows .c-hz')].some((c) => /\d/.test(c.textContent ?? '')),
    );
  });

  it('adds a symbol through type-ahead search and keeps it across reloads', async () => {
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('search');
    await page.keyboard.type('meta');
    await page.waitForSelector('#search-results .opt[data-symbol="META"]');
    await page.screenshot({
      path: artifact('dashboard-search.png'),
      clip: { x: 0, y: 0, width: 720, height: 320 },
    });
    const first = await page.$eval('#search-results .opt', (li) => (li as HTMLElement).dataset.symbol);
    expect(first).toBe('META');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#rows .row[data-symbol="META"]');
    expect((await rowSymbols()).at(-1)).toBe('META');
    expect(await selectedSymbol()).toBe('META');
    await page.waitForFunction(() =>
      /\d/.test(document.querySelector('#rows .row[data-symbol="META"] .c-last')?.textContent ?? ''),
    );

    // Mouse path: click into the search, type, click the suggestion.
    await page.keyboard.press('Escape');
    await page.click('#search');
    await page.keyboard.type('XRP');
    await page.click('#search-results .opt[data-symbol="XRPUSD"]');
    await page.waitForSelector('#rows .row[data-symbol="XRPUSD"]');
    await page.keyboard.press('Escape');

    const order = await rowSymbols();
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#rows .row[data-symbol="XRPUSD"]');
    expect(await rowSymbols()).toEqual(order);
    expect(await selectedSymbol()).toBe('XRPUSD');
    await page.waitForFunction(() =>
      /\d/.test(document.querySelector('#rows .row[data-symbol="XRPUSD"] .c-last')?.textContent ?? ''),
    );
  });

  it('reorders with the keyboard and removes symbols, persistently', async () => {
    const before = await rowSymbols();
    // XRPUSD is selected and last: move it up twice.
    await page.keyboard.press('Alt+ArrowUp');
    await page.keyboard.press('Alt+ArrowUp');
    const moved = await rowSymbols();
    expect(moved.indexOf('XRPUSD')).toBe(before.length - 3);

    // Remove META with its row button, XRPUSD with the Delete key.
    await page.hover('#rows .row[data-symbol="META"]');
    await page.click('#rows .row[data-symbol="META"] .rm');
    await page.waitForSelector('#rows .row[data-symbol="META"]', { state: 'detached' });
    await page.click('#rows .row[data-symbol="XRPUSD"] .sym');
    await page.keyboard.press('Delete');
    await page.waitForSelector('#rows .row[data-symbol="XRPUSD"]', { state: 'detached' });
    const after = await rowSymbols();
    expect(after).toEqual(before.filter((s) => s !== 'META' && s !== 'XRPUSD'));

    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#rows .row');
    expect(await rowSymbols()).toEqual(after);
  });

  it('changes the watchlist update rate', async () => {
    await page.click('[data-hz="10"]');
    expect(await page.getAttribute('[data-hz="10"]', 'aria-pressed')).toBe('true');
    await page.keyboard.press(']');
    expect(await page.getAttribute('[data-hz="20"]', 'aria-pressed')).toBe('true');
    await page.keyboard.press('[');
    await page.reload({ waitUntil: 'domcontentloaded' });
    expect(await page.getAttribute('[data-hz="10"]', 'aria-pressed')).toBe('true');
  });

  it('draws the chart of the selected symbol, as candles and as a line', async () => {
    await page.click('#rows .row[data-symbol="BTCUSD"] .sym');
    await page.waitForFunction(() => document.getElementById('chart')?.dataset.symbol === 'BTCUSD');
    expect(await page.textContent('#q-symbol')).toBe('BTCUSD');
    await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.points) >= 2, null, {
      timeout: 20_000,
    });
    expect(await settledInk(page, 20, '#1fbf75', '#f0444f')).toBeGreaterThan(20);

    await page.keyboard.press('c');
    expect(await page.getAttribute('[data-mode="line"]', 'aria-pressed')).toBe('true');
    expect(await settledInk(page, 20, '#4d9fff')).toBeGreaterThan(20);
    await page.keyboard.press('c');
    // The intervals are the served timeframes, 1m by default: 1m → 5m, then round to 1m again.
    await page.keyboard.press('i');
    expect(await page.getAttribute('[data-seconds="300"]', 'aria-pressed')).toBe('true');
    await page.keyboard.press('i');
    await page.keyboard.press('i');
    await page.keyboard.press('i');
    expect(await page.getAttribute('[data-seconds="60"]', 'aria-pressed')).toBe('true');

    await page.keyboard.press('ArrowUp');
    const selected = await selectedSymbol();
    expect(selected).not.toBe('BTCUSD');
    await page.waitForFunction((s) => document.getElementById('chart')?.dataset.symbol === s, selected);

    await page.keyboard.press('?');
    expect(await page.isVisible('#help')).toBe(true);
    await page.keyboard.press('Escape');
    expect(await page.isVisible('#help')).toBe(false);

    // Let the chart gather some bars before the picture is taken.
    await page.click('#rows .row[data-symbol="AAPL"] .sym');
    await page.click('[data-seconds="1"]');
    await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.points) >= 45, null, {
      timeout: 90_000,
    });
    await page.mouse.move(0, 0);
    await page.screenshot({ path: artifact('dashboard.png') });
  });

  it('shows the offline banner when the gateway stops and recovers without a reload', async () => {
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    expect(await page.isVisible('#banner')).toBe(false);

    await gateway.stop('SIGKILL');
    await page.waitForSelector('#banner', { state: 'visible', timeout: 20_000 });
    expect(await page.textContent('#banner-text')).toMatch(/Gateway unreachable/);
    expect(await page.getAttribute('#status', 'data-state')).toBe('offline');
    expect(await page.textContent('#status-label')).toBe('Offline');
    await page.waitForTimeout(1500);
    await page.screenshot({ path: artifact('dashboard-offline.png') });

    await gateway.restart();
    await page.waitForSelector('#banner', { state: 'hidden', timeout: 60_000 });
    await page.waitForFunction(
      () => document.querySelector('#status')?.getAttribute('data-state') === 'connected',
    );
    const before = await lastPrices();
    await page.waitForFunction(
      (initial) =>
        [...document.querySelectorAll('#rows .c-last')].some((c, i) => c.textContent !== initial[i]),
      before,
      { timeout: 20_000 },
    );
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(
      true,
    );
  });

  it('also rides out a graceful shutdown (close 1001) of the gateway', async () => {
    await gateway.stop('SIGTERM');
    await page.waitForSelector('#banner', { state: 'visible', timeout: 20_000 });
    await gateway.restart();
    await page.waitForSelector('#banner', { state: 'hidden', timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(
      true,
    );
  });
});

/** Counts chart pixels close to any of `colors`: proof that series are painted, not just created. */
/**
 * The chart paints on a later animation frame than the one its data lands in (and later still on a
 * loaded machine): count until more than `min` pixels carry the colours, or give the last count after 10 s.
 */
async function settledInk(page: Page, min: number, ...colors: string[]): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const count = await chartInk(page, ...colors);
    if (count > min || Date.now() > deadline) return count;
    await page.waitForTimeout(100);
  }
}

async function chartInk(page: Page, ...colors: string[]): Promise<number> {
  return page.evaluate((hexes) => {
    const targets = hexes.map((h) => [1, 3, 5].map((i) => Number.parseInt(h.slice(i, i + 2), 16)));
    let count = 0;
    for (const canvas of document.querySelectorAll<HTMLCanvasElement>('#chart canvas')) {
      const ctx = canvas.getContext('2d');
      if (!ctx || canvas.width === 0 || canvas.height === 0) continue;
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < data.length; i += 4) {
        for (const [r, g, b] of targets) {
          if (
            Math.abs((data[i] as number) - (r as number)) < 12 &&
            Math.abs((data[i + 1] as number) - (g as number)) < 12 &&
            Math.abs((data[i + 2] as number) - (b as number)) < 12
          ) {
            count++;
            break;
          }
        }
      }
    }
    return count;
  }, colors);
}
