import { request } from 'node:http';
import path from 'node:path';

export { freePort, type IngesterExit as Exit, IngesterProcess, type LogLine } from '@tickhub/testkit';

export const APP_DIR = path.resolve(__dirname, '..', '..');

export function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, method: 'GET', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Unlabelled sample values of a Prometheus text exposition, by metric name. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const { status, body } = await httpGet(port, '/metrics');
  if (status !== 200) throw new Error(`/metrics answered ${status}`);
  const values = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const name = m[2] === undefined ? m[1]! : `${m[1]}${m[2]}`;
    values.set(name, Number(m[3]));
  }
  return values;
}

export function metric(values: Map<string, number>, name: string): number {
  const v = values.get(`tickhub_ingester_${name}`);
  if (v === undefined) throw new Error(`metric tickhub_ingester_${name} is missing`);
  return v;
}

/** Polls `probe` until it returns true. */
export async function until(
  probe: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
