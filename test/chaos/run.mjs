// npm run chaos [-- --runs N]: runs the fault suite (test/cluster/faults.test.ts: its own Kafka broker,
// a private redis-server, the ingester, two gateways) N times and prints each figure's min, median and
// max as a Markdown table, for docs/operations.md. The suite asserts behaviour; this measures speed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TEST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function parseRuns(argv) {
  const i = argv.indexOf('--runs');
  const runs = i === -1 ? 3 : Number(argv[i + 1]);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  return runs;
}

/** Arrays (one value per process or pod) count by their worst entry. */
function worst(value) {
  if (!Array.isArray(value)) return value;
  const numbers = value.filter((v) => typeof v === 'number' && Number.isFinite(v));
  return numbers.length > 0 ? Math.max(...numbers) : undefined;
}

function median(sorted) {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

function main() {
  const runs = parseRuns(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tickhub-chaos-'));
  const report = path.join(dir, 'figures.jsonl');
  try {
    for (let run = 1; run <= runs; run++) {
      process.stderr.write(`[chaos] run ${run}/${runs}\n`);
      const result = spawnSync('npx', ['jest', 'cluster/faults.test.ts'], {
        cwd: TEST_DIR,
        env: { ...process.env, TICKHUB_CHAOS_REPORT: report },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      if (result.status !== 0) throw new Error(`the fault suite failed on run ${run}`);
    }
    const values = new Map();
    for (const line of readFileSync(report, 'utf8').split('\n').filter(Boolean)) {
      for (const [fault, figures] of Object.entries(JSON.parse(line))) {
        for (const [name, value] of Object.entries(figures)) {
          const v = worst(value);
          if (v === undefined) continue;
          const key = `${fault} · ${name}`;
          if (!values.has(key)) values.set(key, []);
          values.get(key).push(v);
        }
      }
    }
    const rows = [...values].map(([key, list]) => {
      const sorted = [...list].sort((a, b) => a - b);
      return `| ${key} | ${sorted[0]} | ${median(sorted)} | ${sorted[sorted.length - 1]} |`;
    });
    process.stdout.write(
      `${[`Fault suite, ${runs} runs (ms unless named otherwise; per run, the worst process or pod):`, '', '| fault · figure | min | median | max |', '| --- | --- | --- | --- |', ...rows].join('\n')}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
