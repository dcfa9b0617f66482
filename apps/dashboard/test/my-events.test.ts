import { createHmac, randomBytes } from 'node:crypto';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import type { Browser, Page } from 'playwright-core';
import { buildDashboard, launchChromium } from './support/browser';

const SECRET = randomBytes(32).toString('hex');
const ACCESS_KEY = randomBytes(32).toString('base64');

function jwt(claims: Record<string, unknown>, key: string): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/**
 * The "My events" panel in a real browser: a page opened with alice's token lists the fills that a
 * backend publishes to alice through the server publish API, and nobody else's.
 */
describe('My events panel', () => {
  let gateway: GatewayProcess;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    buildDashboard();
    gateway = await startGateway({
      AUTH_MODE: 'hs256',
      AUTH_HS256_SECRET: SECRET,
      PUBLISH_ACCESS_KEY: ACCESS_KEY,
    });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
  });

  const publishFill = async (user: string, fill: Record<string, unknown>) => {
    const url = `${gateway.http}/api/v1/hubs/markethub/users/${user}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${jwt({ aud: url }, ACCESS_KEY)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ target: 'ReceiveEvent', arguments: [fill] }),
    });
    expect(res.status).toBe(202);
  };

  it("lists the user's own fills, newest first", async () => {
    await page.goto(`${gateway.http}?token=${jwt({ sub: 'alice' }, SECRET)}`, {
      waitUntil: 'domcontentloaded',
    });
    await page.waitForFunction(
      () => document.querySelector('.my-events')?.getAttribute('data-state') === 'live',
    );
    const fill = { type: 'fill', symbol: 'AAPL', qty: 120, price: 187.25, ts: Date.now() };
    await publishFill('bob', { ...fill, orderId: 'o-bob', side: 'sell' });
    await publishFill('alice', { ...fill, orderId: 'o-1', side: 'buy' });
    await publishFill('alice', { ...fill, orderId: 'o-2', side: 'sell', symbol: 'MSFT' });
    await page.waitForFunction(() => document.querySelectorAll('.my-events-list li').length >= 2);
    const items = await page.$$eval('.my-events-list li', (lis) =>
      lis.map((li) => [li.className, li.textContent]),
    );
    expect(items).toEqual([
      ['tone-sell', expect.stringMatching(/SELL 120 MSFT @ 187\.25 · o-2$/)],
      ['tone-buy', expect.stringMatching(/BUY 120 AAPL @ 187\.25 · o-1$/)],
    ]);
    expect(pageErrors).toEqual([]);
  });
});
