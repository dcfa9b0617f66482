// Keeps the benchmark harness working: a tiny quick run through every server, then the report files are
// checked for shape. Figures are never compared with anything: speed is not what this test is about.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

interface Latency {
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
}
interface Window {
  updatesPerSec: number;
  serverCpuSeconds: number;
  cpuSecondsPerMillionUpdates: number | null;
  latency: Latency;
}
interface Result {
  name: string;
  error?: string;
  idle?: {
    baseline: { gcs: number };
    levels: {
      connections: number;
      rssPerConnBytes: number | null;
      heapPerConnBytes: number | null;
      gcs: number;
      fdsOpen: number;
    }[];
  };
  sourceStalls?: unknown[];
  load?: { connected: number; steady: Window; withSlow: Window; slowClients: number };
}
interface Report {
  runId: string;
  machine: { cores: number; node: string };
  results: Result[];
  targets: { name: string; met: boolean | null }[];
}

describe('benchmark harness (quick mode, tiny sizes)', () => {
  let dir: string;
  beforeAll(() => {
    if (!process.env.REDIS_URL) {
      throw new Error('REDIS_URL must be set: the Socket.IO server under test uses @socket.io/redis-adapter');
    }
    if (!existsSync(join(root, 'apps', 'gateway', 'dist', 'main.js'))) {
      throw new Error('apps/gateway is not built: run `npx turbo run build --filter=@tickhub/gateway...`');
    }
    dir = mkdtempSync(join(tmpdir(), 'tickhub-bench-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every server and writes the JSON, Markdown and SVG reports', async () => {
    const args = [
      join(root, 'test', 'bench', 'run.mjs'),
      '--quick',
      ...['--clients', '10', '--symbols', '10', '--per-client', '3', '--hz', '10', '--rate', '500'],
      ...['--seconds', '1.5', '--warmup', '0.5', '--idle', '20', '--idle-tickhub-extra', ''],
      ...['--only', 'tickhub,socketio,naive,preframed'],
      ...['--out-dir', join(dir, 'results'), '--docs-dir', join(dir, 'docs')],
    ];
    // KAFKA_BROKERS is left out: the Kafka variant needs minutes of group joins, too slow for every CI run.
    const env = { ...process.env, KAFKA_BROKERS: '' };
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, args, { env, timeout: 110_000, maxBuffer: 1 << 24 }, (error, out, err) => {
        if (error) reject(new Error(`${error.message}\n${err}`));
        else resolve(out);
      });
    });
    const files = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      json: string;
      markdown: string;
      svg: string;
    };
    expect(readdirSync(join(dir, 'results')).filter((f) => /^bench-.*\.json$/.test(f))).toHaveLength(1);

    const report = JSON.parse(readFileSync(files.json, 'utf8')) as Report;
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.node).toBe(process.version);
    expect(report.results.map((r) => r.name)).toEqual(['tickhub', 'socketio', 'naive', 'preframed']);
    for (const r of report.results) {
      expect({ name: r.name, error: r.error }).toEqual({ name: r.name, error: undefined });
      expect(r.load?.connected).toBe(10);
      for (const w of [r.load!.steady, r.load!.withSlow]) {
        expect(w.updatesPerSec).toBeGreaterThan(0);
        expect(typeof w.serverCpuSeconds).toBe('number');
        expect(typeof w.cpuSecondsPerMillionUpdates).toBe('number');
      }
      expect(r.load!.steady.latency.samples).toBeGreaterThan(0);
      expect(typeof r.load!.steady.latency.p99Ms).toBe('number');
      expect(r.load!.slowClients).toBe(1);
      const idle = r.idle!.levels[0]!;
      expect(idle.connections).toBe(20);
      expect(typeof idle.rssPerConnBytes).toBe('number');
      expect(typeof idle.heapPerConnBytes).toBe('number');
      // Every memory figure follows forced GCs that the server acknowledged.
      expect([r.idle!.baseline.gcs, idle.gcs]).toEqual([3, 3]);
      expect(idle.fdsOpen).toBeGreaterThan(20);
      const serverLog = readFileSync(join(dir, 'results', report.runId, `${r.name}.log`), 'utf8');
      expect(serverLog).toContain('"msg":"listening"');
      expect(serverLog).toContain('bench-gc ');
    }
    expect(Array.isArray(report.results[0]!.sourceStalls)).toBe(true);
    expect(report.targets.length).toBe(7);

    const md = readFileSync(files.markdown, 'utf8');
    for (const label of ['tickhub gateway', 'Socket.IO + redis-adapter', 'naive', 'pre-framed'])
      expect(md).toContain(label);
    expect(md).toContain('× tickhub');
    const svg = readFileSync(files.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});
