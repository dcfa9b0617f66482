// Turns one saturation run into its JSON files and the "Saturation" section of docs/benchmarks.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TITLE = '## Saturation';

const num = (v, digits = 0) =>
  v === null || v === undefined || Number.isNaN(v)
    ? '—'
    : Number(v).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (ratio) => (ratio === null || ratio === undefined ? '—' : `${Math.round(ratio * 100)}%`);

/** The marks of a step whose limit may not have been the server's own. */
const flags = (step) =>
  `${step?.loadgenBound ? ' ⚠ load generator' : ''}${step?.machineBound ? ' ⚠ machine' : ''}`;

function stopText(r) {
  if (r.error) return `failed: ${r.error.replace(/\|/g, '/').slice(0, 120)}`;
  if (r.stoppedBy === 'failing step') return `${r.stop.clients} clients: ${r.stop.reasons.join('; ')}`;
  if (r.stoppedBy === 'ceiling') return 'passed every step (the ceiling)';
  return `${r.stoppedBy} (after ${r.steps.length} steps)`;
}

/** The section: how to read it, one row per server, then every step. */
export function saturationSection(report) {
  const { workload: w, machine: m, criteria: c } = report;
  const lines = [TITLE, ''];
  lines.push(
    `How much each server sustains on one process: \`npm run bench:saturation\` (\`test/bench/saturation.mjs\`) starts each`,
    'server in turn and steps the number of dashboard clients up, holding each step for a measured window, until',
    'a step fails. **How to read it:** "highest sustained" is the last step that passed; its delivered',
    'updates/s is what the clients counted, and "updates per server-CPU-second" divides them by the server',
    "process's own CPU time (`utime + stime`) over the same window: the higher, the cheaper each update.",
    '"Connections per server core" is that step\'s clients over the share of a core the server used (a',
    'capacity figure for one process, before the machine runs out). A step fails when the p99 latency',
    `(tick creation to client receipt, throttle wait included) exceeds one interval + ${c.p99SlackMs} ms, or when`,
    `the server **falls behind**: the clients receive less than ${pct(c.minDelivered)} of the updates the throttle allows`,
    '(per client and symbol, one update per interval in which the symbol ticked at least once; the',
    "simulator's Zipf law over the symbols gives that probability, so a server that conflates or drops",
    'under load shows it here), or when a client cannot connect. Servers, load generators and whatever else',
    "runs on the machine share its cores: each step also lists the load generators' CPU (a generator near a",
    `full core, ≥ ${c.loadgenBoundPercent}%, may be the limit, not the server: marked ⚠ load generator) and the machine's busy`,
    `share with what other processes used (≥ ${c.machineBoundPercent}% busy: the server had no idle CPU to grow into, so`,
    'other work on the machine may be the limit: marked ⚠ machine). A server that fails a step while using',
    'far less than a core was starved, not saturated: read its figures as a lower bound. The CPU figures include',
    'what the server pays with no client (the simulated market, its timers), which weighs most at small steps.',
    '',
  );
  const steps = report.results.flatMap((r) => r.steps ?? []);
  if (steps.length) {
    const others = steps.reduce((sum, s) => sum + s.otherCpuPercent, 0) / steps.length;
    const starved = steps.filter((s) => s.machineBound).length;
    lines.push(
      `While this run measured, other processes on the machine used ${Math.round(others)}% of a core on average (of ${m.cores * 100}%); ${starved} of ${steps.length} steps found the machine ≥ ${c.machineBoundPercent}% busy.`,
      '',
    );
  }
  lines.push(
    `Run \`${report.runId}\` (${report.date}), **${report.mode}**: \`${report.command}\`. Machine: ${m.cores} cores (${m.cpuModel}), Node ${m.node}, ${m.loadGenerators} load-generator processes; ${m.note}.`,
    '',
    `Workload: clients ${w.steps.join(' → ')}, each subscribed to ${w.symbolsPerClient} of ${w.symbols} symbols at ${w.maxHz} Hz; ${w.ticksPerSec} source ticks/s; ${w.windowSeconds} s measured ${w.settleSeconds} s after each step's clients connected; at most ${w.budgetSecondsPerServer} s per server. Criteria: ${c.text}.`,
    '',
    '| server | highest sustained: clients | delivered updates/s (of allowed) | p99 ms | server CPU | CPU-s per 1M updates | updates per server-CPU-second | connections per server core | stopped at |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const r of report.results) {
    const h = r.highest;
    const perCore = h && h.serverCpuSeconds > 0 ? h.connected / (h.serverCpuSeconds / h.windowSeconds) : null;
    lines.push(
      `| ${r.label} | ${h ? num(h.connected) : '—'} | ${h ? `${num(h.updatesPerSec)} (${pct(h.deliveredRatio)})` : '—'} | ${num(h?.latency?.p99Ms)} | ${h ? `${h.serverCpuPercent}%` : '—'} | ${num(h?.cpuSecondsPerMillionUpdates, 2)} | ${num(h?.updatesPerCpuSecond)} | ${num(perCore)} | ${stopText(r)}${flags(r.stop)} |`,
    );
  }
  lines.push(
    '',
    '### Every step',
    '',
    '| server | clients | delivered updates/s | of allowed | p99 ms | server CPU | updates per CPU-s | load generators CPU | machine busy (others) | verdict |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const r of report.results) {
    for (const s of r.steps ?? []) {
      lines.push(
        `| ${r.name} | ${num(s.connected)} | ${num(s.updatesPerSec)} | ${pct(s.deliveredRatio)} | ${num(s.latency.p99Ms)} | ${s.serverCpuPercent}% | ${num(s.updatesPerCpuSecond)} | ${s.loadgenCpuPercent.map((p) => `${p}%`).join(' / ')} | ${s.machineBusyPercent}% (${s.otherCpuPercent}% of a core) | ${s.pass ? 'pass' : `fail: ${s.reasons.join('; ')}`}${flags(s)} |`,
      );
    }
  }
  return lines;
}

/** The page with its Saturation section replaced, or added at the end; the rest of the page is kept. */
function withSection(page, section) {
  const at = page.search(/^## Saturation\s*$/m);
  if (at < 0) return `${page.trimEnd()}\n\n${section}\n`;
  const rest = page.slice(at + TITLE.length);
  const next = rest.search(/^## /m);
  const after = next < 0 ? '' : `\n${rest.slice(next)}`;
  return `${page.slice(0, at)}${section}\n${after}`;
}

/** Writes the run's JSON (results and docs) and the Saturation section; returns their paths. */
export function writeSaturationReports(report, { outDir, docsDir }) {
  mkdirSync(outDir, { recursive: true });
  mkdirSync(docsDir, { recursive: true });
  const jsonPath = join(outDir, `saturation-${report.runId}.json`);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(jsonPath, text);
  writeFileSync(join(docsDir, 'benchmarks-saturation.json'), text);
  const mdPath = join(docsDir, 'benchmarks.md');
  const section = saturationSection(report).join('\n');
  const page = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : '# Benchmarks\n';
  writeFileSync(mdPath, withSection(page, section));
  return [jsonPath, mdPath];
}
