// Keeps the saturation benchmark working: tiny ramps whose criteria are set so that every step passes,
// or so that the first one fails, then the results file and the docs section are checked for shape.
// Figures are never compared with a speed: the criteria used here cannot depend on the machine.
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

interface Step {
  clients: number;
  connected: number;
  allowedUpdatesPerSec: number;
  updatesPerSec: number;
  deliveredRatio: number | null;
  latency: { samples: number; p99Ms: number | null };
  serverCpuSeconds: number;
  cpuSecondsPerMillionUpdates: number | null;
  updatesPerCpuSecond: number | null;
  loadgenCpuPercent: number[];
  machineBusyPercent: number;
  pass: boolean;
  reasons: string[];
}
interface Result {
  name: string;
  error?: string;
  steps: Step[];
  stoppedBy: string;
  highest: Step | null;
  stop: Step | null;
}
interface Report {
  runId: string;
  machine: { cores: number; node: string };
  workload: { steps: number[]; symbolsPerClient: number; maxHz: number };
  criteria: { p99LimitMs: number; minDelivered: number; text: string };
  results: Result[];
}

function saturation(dir: string, args: string[]): Promise<{ json: string; markdown: string }> {
  const argv = [
    join(root, 'test', 'bench', 'saturation.mjs'),
    '--quick',
    ...['--steps', '6,12', '--seconds', '2', '--settle', '0.5'],
    ...['--symbols', '20', '--per-client', '5', '--hz', '4', '--rate', '500'],
    ...['--out-dir', join(dir, 'results'), '--docs-dir', join(dir, 'docs')],
    ...args,
  ];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { timeout: 150_000, maxBuffer: 1 << 24 }, (error, out, err) => {
      if (error) reject(new Error(`${error.message}\n${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}'));
    });
  });
}

describe('saturation benchmark (tiny ramps)', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(join(root, 'apps', 'gateway', 'dist', 'main.js'))) {
      throw new Error('apps/gateway is not built: run `npx turbo run build --filter=@tickhub/gateway...`');
    }
    dir = mkdtempSync(join(tmpdir(), 'tickhub-saturation-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ramps every server through its steps up to the ceiling and writes the results and the docs section', async () => {
    const docs = join(dir, 'docs');
    mkdirSync(docs, { recursive: true });
    writeFileSync(
      join(docs, 'benchmarks.md'),
      '# Benchmarks\n\n## Results\n\nkept before\n\n## Saturation\n\nan earlier run\n\n## Profile\n\nkept after\n',
    );
    // No step can fail on these criteria: any p99 up to 10 minutes, any delivered share.
    const files = await saturation(dir, [
      ...['--only', 'tickhub-aligned,preframed', '--p99-slack-ms', '600000', '--min-delivered', '0'],
    ]);
    expect(readdirSync(join(dir, 'results')).filter((f) => /^saturation-.*\.json$/.test(f))).toHaveLength(1);
    const report = JSON.parse(readFileSync(files.json, 'utf8')) as Report;
    expect(JSON.parse(readFileSync(join(docs, 'benchmarks-saturation.json'), 'utf8'))).toEqual(report);
    expect(report.machine.node).toBe(process.version);
    expect(report.workload.steps).toEqual([6, 12]);
    expect(report.criteria.p99LimitMs).toBe(250 + 600000);
    expect(report.results.map((r) => r.name)).toEqual(['tickhub-aligned', 'preframed']);
    for (const r of report.results) {
      expect({ name: r.name, error: r.error }).toEqual({ name: r.name, error: undefined });
      expect(r.steps.map((s) => [s.clients, s.connected, s.reasons, s.pass])).toEqual([
        [6, 6, [], true],
        [12, 12, [], true],
      ]);
      expect(r.stoppedBy).toBe('ceiling');
      expect(r.stop).toBeNull();
      expect(r.highest).toEqual(r.steps[1]);
      for (const s of r.steps) {
        expect(s.updatesPerSec).toBeGreaterThan(0);
        expect(s.allowedUpdatesPerSec).toBeGreaterThan(0);
        expect(s.latency.samples).toBeGreaterThan(0);
        expect(typeof s.serverCpuSeconds).toBe('number');
        expect(s.loadgenCpuPercent).toHaveLength(2);
        expect(typeof s.machineBusyPercent).toBe('number');
      }
      // The allowance grows with the clients: the second step's 12 include the first step's 6.
      expect(r.steps[1]!.allowedUpdatesPerSec).toBeGreaterThan(r.steps[0]!.allowedUpdatesPerSec);
    }
    const md = readFileSync(files.markdown, 'utf8');
    expect(md).not.toContain('an earlier run');
    expect(md.indexOf('kept before')).toBeLessThan(md.indexOf('## Saturation'));
    expect(md.indexOf('## Saturation')).toBeLessThan(md.indexOf('kept after'));
    expect(md.match(/^## Saturation$/gm)).toHaveLength(1);
    for (const text of [
      'How to read it',
      'tickhub gateway (embedded), leading: false',
      'pre-framed',
      report.runId,
    ])
      expect(md).toContain(text);
    expect(md).toContain('passed every step (the ceiling)');
  });

  it('stops a server at its first failing step and says why', async () => {
    // No server can deliver a thousand times what the throttle allows: the first step falls behind.
    const files = await saturation(join(dir, 'failing'), [
      ...['--only', 'naive', '--min-delivered', '1000', '--p99-slack-ms', '600000'],
    ]);
    const report = JSON.parse(readFileSync(files.json, 'utf8')) as Report;
    const [naive] = report.results;
    expect(naive!.error).toBeUndefined();
    expect(naive!.stoppedBy).toBe('failing step');
    expect(naive!.steps).toHaveLength(1);
    expect(naive!.highest).toBeNull();
    expect(naive!.stop).toEqual(naive!.steps[0]);
    expect(naive!.stop!.pass).toBe(false);
    expect(naive!.stop!.reasons.join('; ')).toMatch(
      /^fell behind: delivered \d+% of what the throttle allows/,
    );
    expect(readFileSync(files.markdown, 'utf8')).toContain('6 clients: fell behind');
  });
});
