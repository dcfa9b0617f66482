import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** The dashboard's folder: the gateway under test serves its dist/ (the gateway's default DASHBOARD_DIR). */
const DASHBOARD_DIR = path.resolve(__dirname, '../..');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(DASHBOARD_DIR, 'test-results');

/** Builds the dashboard into dist/, exactly as `npm run build` does, so the test serves current code. */
export function buildDashboard(): void {
  const vite = path.join(path.dirname(require.resolve('vite/package.json')), 'bin/vite.js');
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: DASHBOARD_DIR,
    stdio: 'inherit',
  });
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export function artifact(name: string): string {
  return path.join(ARTIFACTS, name);
}
