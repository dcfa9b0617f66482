// Saturation benchmark: each server in turn (one run, one after another) under a client count that
// steps up on the dashboard workload (many symbols per client at a few Hz) until a step fails; reports
// per server the highest load it sustained and what that cost it in CPU.
// Usage: node test/bench/saturation.mjs [--quick] [--steps 100,200,...] [--seconds T] [--settle T]
//          [--symbols S] [--per-client K] [--hz H] [--rate R] [--workers W]
//          [--p99-slack-ms 50] [--min-delivered 0.95] [--budget-seconds N]
//          [--only tickhub,tickhub-aligned,socketio,naive,preframed] [--out-dir DIR] [--docs-dir DIR]
// A step passes when, over its measured window, the clients' p99 latency is at most one throttle interval
// + the slack and they received at least --min-delivered of what the throttle allows (else the server
// "falls behind"), with every client connected. Writes bench-results/saturation-<run>.json,
// docs/benchmarks-saturation.json and the "Saturation" section of docs/benchmarks.md.
// A measurement, not a test: nothing here asserts a speed.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as harness from './harness.mjs';
import { writeSaturationReports } from './saturation-report.mjs';
import { allowedUpdatesPerSec, WORKLOADS } from './workload.mjs';

const require = createRequire(import.meta.url);
const { createUniverse } = require('@tickhub/market-sim');

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

const { sleep, procCpuSeconds, machineCpuTicks } = harness;

/** A load generator using this share of one core or more during a step may be what limited it. */
const LOADGEN_BOUND_PERCENT = 90;
/** A machine this busy over a step had no CPU left for the server: other work may be what limited it. */
const MACHINE_BOUND_PERCENT = 95;

const PRESETS = {
  // ≤ ~10 minutes on 2 cores when every server reaches the ceiling; a failing step ends a server sooner.
  default: {
    steps: [25, 50, 100, 200, 350, 500, 700, 1000, 1400, 2000, 2800, 4000],
    seconds: 5,
    settle: 2,
    budgetSeconds: 110,
  },
  // ≤ ~3 minutes.
  quick: { steps: [50, 150, 400, 1000], seconds: 3, settle: 1.5, budgetSeconds: 32 },
};

/** Rising client counts, e.g. `100,200,400`. */
function parseSteps(text) {
  const steps = text.split(',').map(Number);
  if (steps.some((n, k) => !Number.isInteger(n) || n <= 0 || (k > 0 && n <= steps[k - 1])))
    throw new Error('--steps takes rising client counts, e.g. 100,200,400');
  return steps;
}

/** Each flag: the option it sets and how its value is read. */
const FLAGS = {
  '--steps': ['steps', parseSteps],
  '--seconds': ['seconds', Number],
  '--settle': ['settle', Number],
  '--symbols': ['symbols', Number],
  '--per-client': ['perClient', Number],
  '--hz': ['hz', Number],
  '--rate': ['rate', Number],
  '--workers': ['workers', (v) => Math.max(1, Number(v))],
  '--p99-slack-ms': ['p99SlackMs', Number],
  '--min-delivered': ['minDelivered', Number],
  '--budget-seconds': ['budgetSeconds', Number],
  '--only': ['only', (v) => v.split(',')],
  '--out-dir': ['outDir', resolve],
  '--docs-dir': ['docsDir', resolve],
};

function parseArgs(argv) {
  const mode = argv.includes('--quick') ? 'quick' : 'default';
  const { symbols, perClient, hz, rate } = WORKLOADS.dashboard;
  const o = {
    mode,
    symbols,
    perClient,
    hz,
    rate,
    ...PRESETS[mode],
    workers: 2,
    p99SlackMs: 50,
    minDelivered: 0.95,
    only: ['tickhub', 'tickhub-aligned', 'socketio', 'naive', 'preframed'],
    outDir: join(root, 'bench-results'),
    docsDir: join(root, 'docs'),
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') continue;
    const flag = FLAGS[argv[i]];
    if (!flag) throw new Error(`unknown argument ${argv[i]}`);
    const [key, read] = flag;
    const value = read(String(argv[++i]));
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new Error(`${argv[i - 1]} needs a number, got ${JSON.stringify(argv[i])}`);
    o[key] = value;
  }
  if (o.perClient > o.symbols) throw new Error('--per-client must not exceed --symbols');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const log = harness.createLog('saturation');
const runId = harness.newRunId();
const { startNode, startWorker } = harness.createProcesses({ logDir: () => join(opts.outDir, runId) });
const starters = harness.createStarters({ ...opts, startNode, runId });
const gatewayMain = join(root, 'apps', 'gateway', 'dist', 'main.js');
const SERVERS = [...harness.embeddedServers(starters, gatewayMain), ...harness.peerServers(starters)];
const symbolNames = createUniverse(opts.symbols).map((s) => s.symbol);
const intervalMs = 1000 / opts.hz;
const p99LimitMs = intervalMs + opts.p99SlackMs;
const criteria = {
  p99LimitMs,
  minDelivered: opts.minDelivered,
  text: `a step passes when the clients' p99 ≤ ${intervalMs} ms (the throttle interval) + ${opts.p99SlackMs} ms = ${p99LimitMs} ms, they receive ≥ ${Math.round(opts.minDelivered * 100)}% of the updates the throttle allows (below that the server falls behind), and every client connects`,
};

/** The CPU of the server, the load generators and the whole machine over one measured window. */
async function measureStep(workers, server, noClientCpu) {
  const loadgen0 = workers.map((w) => procCpuSeconds(w.child.pid));
  const machine0 = machineCpuTicks();
  const t0 = Date.now();
  const window = await harness.measureWindow(workers, server, opts.seconds, noClientCpu, log);
  const elapsed = (Date.now() - t0) / 1000;
  const machine1 = machineCpuTicks();
  const loadgenCpuPercent = workers.map((w, i) =>
    Math.round(((procCpuSeconds(w.child.pid) - loadgen0[i]) / elapsed) * 100),
  );
  const cores = harness.machineInfo(workers.length).cores;
  const machineBusyPercent = Math.round(
    ((machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total)) * 100,
  );
  // What the rest of the machine (other processes than this run's) used, in % of one core.
  const otherCpuPercent = Math.max(
    0,
    Math.round(
      machineBusyPercent * cores - window.serverCpuPercent - loadgenCpuPercent.reduce((s, p) => s + p, 0),
    ),
  );
  return { window, loadgenCpuPercent, machineBusyPercent, otherCpuPercent };
}

/** Steps one server up through opts.steps until a step fails, the steps end or its time is up. */
async function ramp(def, server, workers, noClientCpu, deadline) {
  const steps = [];
  let connected = 0;
  for (const clients of opts.steps) {
    // A step is begun only if its window ends within the server's share of the run's time.
    if (Date.now() + (opts.settle + opts.seconds) * 1000 > deadline)
      return { steps, stoppedBy: 'time budget' };
    server.phase = `${clients} clients`;
    const r = await harness.connectClients(workers, server, clients - connected, opts.perClient, {
      symbols: symbolNames,
      hz: opts.hz,
      firstIndex: connected,
    });
    connected += r.connected;
    await sleep(opts.settle * 1000);
    const m = await measureStep(workers, server, noClientCpu);
    const w = m.window;
    const allowed = allowedUpdatesPerSec({
      clients: connected,
      symbols: symbolNames,
      perClient: opts.perClient,
      hz: opts.hz,
      rate: opts.rate,
    });
    const deliveredRatio = allowed > 0 ? Math.round((w.updatesPerSec / allowed) * 1000) / 1000 : null;
    const p99 = w.latency.p99Ms;
    const reasons = [];
    if (r.failed > 0 || connected < clients)
      reasons.push(`${clients - connected} of ${clients} clients not connected`);
    if (p99 === null) reasons.push('no latency sample');
    else if (p99 > p99LimitMs) reasons.push(`p99 ${p99} ms > ${p99LimitMs} ms`);
    if (deliveredRatio === null || deliveredRatio < opts.minDelivered)
      reasons.push(
        `fell behind: delivered ${Math.round((deliveredRatio ?? 0) * 100)}% of what the throttle allows`,
      );
    if (server.child.exitCode !== null) reasons.push(`server exited with ${server.child.exitCode}`);
    const loadgenBound = Math.max(...m.loadgenCpuPercent) >= LOADGEN_BOUND_PERCENT;
    const machineBound = m.machineBusyPercent >= MACHINE_BOUND_PERCENT;
    const step = {
      clients,
      connected,
      failed: clients - connected,
      allowedUpdatesPerSec: Math.round(allowed),
      updatesPerSec: w.updatesPerSec,
      deliveredRatio,
      latency: w.latency,
      serverCpuPercent: w.serverCpuPercent,
      serverCpuSeconds: w.serverCpuSeconds,
      cpuSecondsPerMillionUpdates: w.cpuSecondsPerMillionUpdates,
      netCpuSecondsPerMillionUpdates: w.netCpuSecondsPerMillionUpdates,
      updatesPerCpuSecond:
        w.serverCpuSeconds > 0 ? Math.round((w.updates + w.slowUpdates) / w.serverCpuSeconds) : null,
      updatesPerFrame: w.frames > 0 ? Math.round((w.updates / w.frames) * 10) / 10 : null,
      loadgenCpuPercent: m.loadgenCpuPercent,
      loadgenBound,
      machineBound,
      machineBusyPercent: m.machineBusyPercent,
      otherCpuPercent: m.otherCpuPercent,
      windowSeconds: w.seconds,
      pass: reasons.length === 0,
      reasons,
    };
    steps.push(step);
    log(
      `${def.name}: ${connected} clients: ${w.updatesPerSec} updates/s (${Math.round((deliveredRatio ?? 0) * 100)}% of ${step.allowedUpdatesPerSec} allowed), p99 ${p99} ms, server CPU ${w.serverCpuPercent}%, ${step.updatesPerCpuSecond} updates/CPU-s, load generators ${m.loadgenCpuPercent.join('/')}% CPU, machine ${m.machineBusyPercent}% busy (others ${m.otherCpuPercent}% of a core): ${step.pass ? 'pass' : `FAIL (${reasons.join('; ')})`}${loadgenBound ? ' [a load generator was near a full core]' : ''}${machineBound ? ' [the machine had no idle CPU]' : ''}`,
    );
    if (!step.pass) return { steps, stoppedBy: 'failing step' };
  }
  return { steps, stoppedBy: 'ceiling' };
}

async function main() {
  const chosen = opts.only.map((name) => {
    const def = SERVERS.find((s) => s.name === name);
    if (!def) throw new Error(`--only: unknown server ${name} (${SERVERS.map((s) => s.name).join(', ')})`);
    return def;
  });
  log(
    `${opts.mode}: clients ${opts.steps.join(' → ')}, each subscribed to ${opts.perClient} of ${opts.symbols} symbols at ${opts.hz} Hz, ${opts.rate} ticks/s; ${opts.seconds} s windows after ${opts.settle} s; at most ${opts.budgetSeconds} s per server; servers: ${chosen.map((s) => s.name).join(', ')}`,
  );
  log(criteria.text);
  const workers = Array.from({ length: opts.workers }, startWorker);
  const all = (cmd) => Promise.all(workers.map((w) => w.call(cmd)));
  const results = [];
  for (const def of chosen) {
    const started = Date.now();
    log(`${def.name}: starting`);
    const entry = { name: def.name, label: def.label };
    let server;
    let stopWatch;
    try {
      server = await def.start();
      server.kind = def.kind;
      server.subscribe = def.subscribe;
      server.phase = 'no clients';
      stopWatch = harness.watchSourceFlow(def, server, log);
      entry.notes = server.notes;
      entry.noClientCpuPercent = await harness.noClientCpuPercent(server.child.pid, 2, 1.5);
      const { steps, stoppedBy } = await ramp(
        def,
        server,
        workers,
        entry.noClientCpuPercent,
        started + opts.budgetSeconds * 1000,
      );
      entry.steps = steps;
      entry.stoppedBy = stoppedBy;
      entry.highest = steps.filter((s) => s.pass).at(-1) ?? null;
      entry.stop = stoppedBy === 'failing step' ? steps.at(-1) : null;
      log(
        `${def.name}: highest sustained ${entry.highest ? `${entry.highest.updatesPerSec} updates/s with ${entry.highest.connected} clients, ${entry.highest.updatesPerCpuSecond} updates per server-CPU-second` : 'none (the first step failed)'}; stopped by ${stoppedBy}${entry.stop ? ` at ${entry.stop.clients} clients` : ''}`,
      );
    } catch (error) {
      entry.error = String(error?.message ?? error);
      log(`${def.name}: FAILED: ${entry.error}`);
    }
    await all({ op: 'close' }).catch(() => undefined);
    if (stopWatch) entry.sourceStalls = stopWatch();
    if (server) await harness.stopChild(server.child);
    entry.seconds = Math.round((Date.now() - started) / 1000);
    results.push(entry);
  }
  await all({ op: 'exit' });

  const report = {
    runId,
    command: `node test/bench/saturation.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
    mode: opts.mode,
    criteria: {
      intervalMs,
      p99SlackMs: opts.p99SlackMs,
      p99LimitMs,
      minDelivered: opts.minDelivered,
      loadgenBoundPercent: LOADGEN_BOUND_PERCENT,
      machineBoundPercent: MACHINE_BOUND_PERCENT,
      text: criteria.text,
    },
    workload: {
      steps: opts.steps,
      symbolsPerClient: opts.perClient,
      symbols: opts.symbols,
      ticksPerSec: opts.rate,
      maxHz: opts.hz,
      seed: 42,
      windowSeconds: opts.seconds,
      settleSeconds: opts.settle,
      budgetSecondsPerServer: opts.budgetSeconds,
    },
    machine: harness.machineInfo(opts.workers),
    results,
  };
  const files = writeSaturationReports(report, { outDir: opts.outDir, docsDir: opts.docsDir });
  log(`wrote ${files.join(', ')}`);
  console.log(JSON.stringify({ json: files[0], markdown: files[1] }));
}

main().then(
  () => process.exit(0),
  (error) => {
    log(`failed: ${error?.stack ?? error}`);
    process.exit(1);
  },
);
