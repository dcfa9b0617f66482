// Keeps the Redis shard measurement and the capacity model that reads it working, against the real
// Redis at REDIS_URL. Figures are checked for meaning (every pod receives every message), never speed.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

describe('Redis shard benchmark and the capacity model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickhub-shard-'));
  const out = join(dir, 'shard.json');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures deliveries to every subscribing pod and the capacity model takes them', async () => {
    const pods = 3;
    await run(
      process.execPath,
      [
        'test/bench/redis-shard.mjs',
        '--pods',
        String(pods),
        '--channels',
        '20',
        '--seconds',
        '2',
        '--out',
        out,
      ],
      { cwd: root, timeout: 60_000 },
    );
    const shard = JSON.parse(readFileSync(out, 'utf8')) as {
      options: { pods: number };
      publishesPerSec: number;
      deliveriesPerSec: number;
      deliveriesPerRedisCpuSecond: number;
    };
    expect(shard.options.pods).toBe(pods);
    expect(shard.publishesPerSec).toBeGreaterThan(0);
    // Each message reaches each pod once (the window's edges cut a few in flight either way).
    const fanOut = shard.deliveriesPerSec / shard.publishesPerSec;
    expect(fanOut).toBeGreaterThan(pods * 0.8);
    expect(fanOut).toBeLessThan(pods * 1.2);
    expect(shard.deliveriesPerRedisCpuSecond).toBeGreaterThan(0);

    const { stdout } = await run(process.execPath, ['test/bench/capacity.mjs', '--redis-from', out], {
      cwd: root,
      timeout: 30_000,
    });
    const perShard = Math.round(shard.deliveriesPerRedisCpuSecond * 0.6).toLocaleString('en-US');
    expect(stdout).toContain(`a Redis shard delivers ${perShard} messages/s (measured:`);
    expect(stdout).toMatch(/\| 1,000,000 \| 5,000 \|/);
  }, 90_000);
});
