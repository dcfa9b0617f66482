// Side-by-side benchmark: tickhub's gateway against Socket.IO and two plain ws servers, same workload.
// Usage: node test/bench/run.mjs [--quick|--full] [--clients N] [--symbols S] [--per-client K] [--hz H]
//          [--rate R] [--seconds T] [--idle 1000,10000] [--workers W] [--out-dir DIR] [--docs-dir DIR]
//          [--only tickhub,socketio,naive,preframed,tickhub-kafka]
// Writes bench-results/bench-<timestamp>.json, docs/benchmarks.md and docs/benchmarks.svg.
// A measurement, not a test: nothing here asserts a speed.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeReports } from './report.mjs';

const require = createRequire(import.meta.url);
const hdr = require('hdr-histogram-js');
const { createUniverse } = require('@tickhub/market-sim');

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

const PRESETS = {
  quick: {
    clients: 50,
    symbols: 20,
    perClient: 5,
    hz: 10,
    rate: 2000,
    seconds: 4,
    warmup: 1.5,
    idle: [200],
    idleTickhubExtra: [],
    workers: 2,
    slowEvery: 10,
  },
  full: {
    clients: 2000,
    symbols: 200,
    perClient: 20,
    hz: 10,
    rate: 5000,
    seconds: 15,
    warmup: 3,
    idle: [1000, 10000],
    idleTickhubExtra: [20000],
    workers: 2,
    slowEvery: 10,
  },
};

function parseArgs(argv) {
  const mode = argv.includes('--full') ? 'full' : 'quick';
  const o = { mode, ...PRESETS[mode], outDir: join(root, 'bench-results'), docsDir: join(root, 'docs') };
  o.only = undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const num = () => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${a} needs a number >= 0, got ${JSON.stringify(v)}`);
      i++;
      return n;
    };
    if (a === '--quick' || a === '--full') continue;
    else if (a === '--clients') o.clients = num();
    else if (a === '--symbols') o.symbols = num();
    else if (a === '--per-client') o.perClient = num();
    else if (a === '--hz') o.hz = num();
    else if (a === '--rate') o.rate = num();
    else if (a === '--seconds') o.seconds = num();
    else if (a === '--warmup') o.warmup = num();
    else if (a === '--workers') o.workers = Math.max(1, num());
    else if (a === '--idle') {
      o.idle = String(v).split(',').filter(Boolean).map(Number);
      i++;
    } else if (a === '--idle-tickhub-extra') {
      o.idleTickhubExtra = String(v).split(',').filter(Boolean).map(Number);
      i++;
    } else if (a === '--out-dir') {
      o.outDir = resolve(v);
      i++;
    } else if (a === '--docs-dir') {
      o.docsDir = resolve(v);
      i++;
    } else if (a === '--only') {
      o.only = String(v).split(',');
      i++;
    } else throw new Error(`unknown argument ${a}`);
  }
  if (o.perClient > o.symbols) throw new Error('--per-client must not exceed --symbols');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const log = (msg) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
const CLK_TCK = 100; // USER_HZ of /proc/<pid>/stat on Linux
const LOCAL_ADDRESSES = [
  '127.0.0.2',
  '127.0.0.3',
  '127.0.0.4',
  '127.0.0.5',
  '127.0.0.6',
  '127.0.0.7',
  '127.0.0.8',
  '127.0.0.9',
];
const FD_LIMIT = 'ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)"';

// ---- processes -------------------------------------------------------------------------------------

const children = new Set();
function killAll() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

/** Starts `node <script>` through a shell that raises the fd limit; `exec` keeps the pid the node's. */
function startNode(script, env, readyPattern, timeoutMs = 60_000) {
  const child = spawn('bash', ['-c', `${FD_LIMIT}; exec "${process.execPath}" "${script}"`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  const ready = new Promise((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} not ready in ${timeoutMs} ms: ${err}`)),
      timeoutMs,
    );
    child.stdout.on('data', (d) => {
      out = (out + d).slice(-20000);
      const m = readyPattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveReady(m);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}: ${err.slice(-1500)}`));
    });
  });
  // Keep draining stdout so a chatty process never blocks on a full pipe.
  return { child, ready, stderr: () => err, stdout: () => out };
}

async function stopChild(child) {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([gone, sleep(12_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

function procCpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

function procRssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

// ---- load generators ---------------------------------------------------------------------------------

let nextId = 1;
function startWorker() {
  const child = fork(join(here, 'loadgen.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  const waiting = new Map();
  child.on('message', (m) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error));
    else w.resolve(m);
  });
  child.on('exit', () => {
    children.delete(child);
    for (const w of waiting.values()) w.reject(new Error('load generator exited'));
    waiting.clear();
  });
  const call = (cmd) =>
    new Promise((res, rej) => {
      const id = nextId++;
      waiting.set(id, { resolve: res, reject: rej });
      child.send({ id, ...cmd });
    });
  return { child, call };
}

const workers = Array.from({ length: opts.workers }, startWorker);
const all = (cmd) => Promise.all(workers.map((w) => w.call(cmd)));

const symbolNames = createUniverse(opts.symbols).map((s) => s.symbol);

/** Opens `count` clients spread over the workers; `perClient` 0 makes idle connections. */
async function connectClients(server, count, perClient) {
  const per = Math.ceil(count / workers.length);
  const answers = await Promise.all(
    workers.map((w, wi) => {
      const n = Math.max(0, Math.min(per, count - wi * per));
      return w.call({
        op: 'connect',
        kind: server.kind,
        url: server.url,
        count: n,
        firstIndex: wi * per,
        symbols: symbolNames,
        perClient,
        hz: opts.hz,
        localAddresses: LOCAL_ADDRESSES,
        concurrency: 100,
        sampleEvery: 4,
      });
    }),
  );
  const connected = answers.reduce((s, a) => s + a.connected, 0);
  const failed = answers.reduce((s, a) => s + a.failed, 0);
  return { connected, failed };
}

function mergeHistograms(encoded) {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const e of encoded) h.add(hdr.decodeFromCompressedBase64(e));
  return h;
}

const ms = (h, p) => (h.totalCount === 0 ? null : Math.round(h.getValueAtPercentile(p) / 10) / 100);
const latencyOf = (h) => ({
  samples: h.totalCount,
  p50Ms: ms(h, 50),
  p99Ms: ms(h, 99),
  p999Ms: ms(h, 99.9),
  maxMs: ms(h, 100),
});

// ---- servers under test ------------------------------------------------------------------------------

const simEnv = {
  SIM_RATE: String(opts.rate),
  SIM_SEED: '42',
  SIM_SYMBOLS: String(opts.symbols),
  LOG_LEVEL: 'warn',
  KAFKAJS_NO_PARTITIONER_WARNING: '1',
};
const gatewayMain = join(root, 'apps', 'gateway', 'dist', 'main.js');
const ingesterMain = join(root, 'apps', 'ingester', 'dist', 'main.js');

async function metricsValue(port, name) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  // Lines look like `name{gateway="gw-…"} 123` or `name 123`.
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

function gatewayEnv(extra) {
  const env = {
    ...simEnv,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    MAX_HZ: String(Math.max(50, opts.hz)),
    MAX_INBOUND_PER_SEC: '1000',
    ...extra,
  };
  return env;
}

const SERVERS = [
  {
    name: 'tickhub',
    label: 'tickhub gateway (embedded)',
    kind: 'tickhub',
    async start() {
      const env = gatewayEnv({});
      const p = startNode(
        gatewayMain,
        { ...env, KAFKA_BROKERS: '', REDIS_URL: '' },
        /"msg":"listening"[^\n]*"port":(\d+)/,
      );
      const port = Number((await p.ready)[1]);
      return {
        child: p.child,
        url: `ws://127.0.0.1:${port}/ws`,
        heap: () => metricsValue(port, 'tickhub_gateway_nodejs_heap_size_used_bytes'),
        sent: () => metricsValue(port, 'tickhub_gateway_updates_sent_total'),
        notes: 'tick source: in-process simulator; backplane: in-memory',
      };
    },
  },
  {
    name: 'tickhub-kafka',
    label: 'tickhub gateway (Kafka + Redis)',
    kind: 'tickhub',
    enabled: () => Boolean(process.env.KAFKA_BROKERS),
    async start() {
      const topic = `bench.ticks.${runId}`;
      const ing = startNode(
        ingesterMain,
        {
          ...simEnv,
          KAFKA_BROKERS: process.env.KAFKA_BROKERS,
          KAFKA_TOPIC: topic,
          KAFKA_PARTITIONS: '3',
          KAFKA_CLIENT_ID: `bench-ingester-${runId}`,
          TICK_RATE: String(opts.rate),
          INGESTER_HTTP_PORT: '0',
          INGESTER_HTTP_HOST: '127.0.0.1',
          LOG_LEVEL: 'info',
        },
        /"port":(\d+)/,
      );
      await ing.ready;
      const env = gatewayEnv({
        KAFKA_BROKERS: process.env.KAFKA_BROKERS,
        KAFKA_TOPIC: topic,
        KAFKA_GROUP_ID: `bench-gw-${runId}`,
        REDIS_URL: process.env.REDIS_URL ?? '',
      });
      const p = startNode(gatewayMain, env, /"msg":"listening"[^\n]*"port":(\d+)/, 90_000);
      const port = Number((await p.ready)[1]);
      // Ready once the consumer group has its partitions and ticks flow.
      for (let i = 0; i < 120; i++) {
        const r = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
        if (r?.status === 200) break;
        await sleep(500);
      }
      // Ready means connected; the group may still be joining. Wait until ticks reach the source stage.
      for (let i = 0; i < 120; i++) {
        if ((await metricsValue(port, 'tickhub_gateway_source_ticks_total').catch(() => 0)) > 0) break;
        await sleep(500);
      }
      // The gateway names the backplane it chose in its "starting" log line.
      const chosen = /"msg":"starting"[^\n]*"backplane":"([^"]+)"/.exec(p.stdout())?.[1] ?? 'unknown';
      const backplane = `backplane: ${chosen}${process.env.REDIS_URL && !/redis/i.test(chosen) ? ' (REDIS_URL was set, but this gateway build does not use Redis yet)' : ''}`;
      return {
        child: p.child,
        extra: [ing.child],
        topic,
        url: `ws://127.0.0.1:${port}/ws`,
        heap: () => metricsValue(port, 'tickhub_gateway_nodejs_heap_size_used_bytes'),
        sent: () => metricsValue(port, 'tickhub_gateway_updates_sent_total'),
        notes: `tick source: ingester → Kafka topic ${topic}; ${backplane}; CPU and memory are the gateway process only (the ingester is the tick source)`,
        stderr: p.stderr,
      };
    },
  },
  {
    name: 'socketio',
    label: process.env.REDIS_URL
      ? 'Socket.IO + redis-adapter'
      : 'Socket.IO (in-memory adapter: no REDIS_URL)',
    kind: 'socketio',
    async start() {
      return startPeer('socketio');
    },
  },
  {
    name: 'naive',
    label: 'ws, frame per update (naive)',
    kind: 'ws',
    async start() {
      return startPeer('naive');
    },
  },
  {
    name: 'preframed',
    label: 'ws, pre-framed once (floor)',
    kind: 'ws',
    async start() {
      return startPeer('preframed');
    },
  },
];

async function deleteTopic(topic) {
  const { Kafka, logLevel } = require('kafkajs');
  const admin = new Kafka({
    brokers: process.env.KAFKA_BROKERS.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
  } catch (error) {
    log(`could not delete topic ${topic}: ${error?.message ?? error}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function startPeer(peer) {
  const p = startNode(
    join(here, 'peer-server.mjs'),
    { ...simEnv, PEER: peer, PORT: '0', MAX_HZ: String(opts.hz), REDIS_KEY: `bench-sio-${runId}` },
    /"msg":"listening"[^\n]*"port":(\d+)/,
  );
  const port = Number((await p.ready)[1]);
  const path = peer === 'socketio' ? '' : '/';
  return {
    child: p.child,
    url: `${peer === 'socketio' ? 'http' : 'ws'}://127.0.0.1:${port}${path}`,
    heap: async () => (await (await fetch(`http://127.0.0.1:${port}/debug/memory`)).json()).heapUsed,
    notes:
      peer === 'socketio'
        ? process.env.REDIS_URL
          ? 'rooms per symbol; @socket.io/redis-adapter on REDIS_URL'
          : 'rooms per symbol; in-memory adapter (REDIS_URL unset)'
        : '',
  };
}

// ---- phases ------------------------------------------------------------------------------------------

async function memorySnapshot(server) {
  await sleep(1500);
  return { rss: procRssBytes(server.child.pid), heap: await server.heap() };
}

async function idlePhase(def, server) {
  const levels = [...opts.idle, ...(def.name === 'tickhub' ? opts.idleTickhubExtra : [])].sort(
    (a, b) => a - b,
  );
  const out = [];
  // CPU with no client at all: the simulated market and the server's own timers, paid by every server.
  const c0 = procCpuSeconds(server.child.pid);
  const base = await memorySnapshot(server);
  const noClientCpuPercent = Math.round(((procCpuSeconds(server.child.pid) - c0) / 1.5) * 1000) / 10;
  let open = 0;
  for (const level of levels) {
    const r = await connectClients(server, level - open, 0);
    open += r.connected;
    const snap = await memorySnapshot(server);
    const row = {
      target: level,
      connections: open,
      failed: r.failed,
      rssBytes: snap.rss,
      heapBytes: snap.heap,
      rssPerConnBytes: open > 0 ? Math.round((snap.rss - base.rss) / open) : null,
      heapPerConnBytes: open > 0 ? Math.round((snap.heap - base.heap) / open) : null,
    };
    out.push(row);
    log(
      `${def.name}: ${open} idle connections (${r.failed} failed): RSS +${(row.rssPerConnBytes / 1024).toFixed(1)} KiB/conn, heap +${(row.heapPerConnBytes / 1024).toFixed(1)} KiB/conn`,
    );
    // Past the point where connections are refused, larger levels would only measure failures.
    if (r.failed > 0 && open < level * 0.9) break;
  }
  await all({ op: 'close' });
  return { baseline: { rssBytes: base.rss, heapBytes: base.heap, noClientCpuPercent }, levels: out };
}

/** Closing thousands of idle connections keeps a server busy for a while: wait until its CPU settles. */
async function waitQuiet(server, noClientCpuPercent) {
  const deadline = Date.now() + 20_000;
  await sleep(1000);
  while (Date.now() < deadline) {
    const c0 = procCpuSeconds(server.child.pid);
    await sleep(500);
    const percent = ((procCpuSeconds(server.child.pid) - c0) / 0.5) * 100;
    if (percent <= noClientCpuPercent + 10) return;
  }
}

async function measureWindow(server, noClientCpuPercent) {
  await all({ op: 'reset' });
  const c0 = procCpuSeconds(server.child.pid);
  const s0 = server.sent ? await server.sent() : null;
  const w0 = Date.now();
  const tick = setInterval(() => log(`  … ${((Date.now() - w0) / 1000).toFixed(0)} s`), 5000);
  await sleep(opts.seconds * 1000);
  clearInterval(tick);
  const answers = await all({ op: 'collect' });
  const elapsed = (Date.now() - w0) / 1000;
  const cpu = procCpuSeconds(server.child.pid) - c0;
  const s1 = server.sent ? await server.sent() : null;
  const updates = answers.reduce((s, a) => s + a.updates, 0);
  const slowUpdates = answers.reduce((s, a) => s + a.slowUpdates, 0);
  const frames = answers.reduce((s, a) => s + a.frames, 0);
  return {
    seconds: Math.round(elapsed * 100) / 100,
    updates,
    slowUpdates,
    frames,
    updatesPerSec: Math.round((updates + slowUpdates) / elapsed),
    serverReportedUpdatesPerSec: s0 === null ? null : Math.round((s1 - s0) / elapsed),
    serverCpuSeconds: Math.round(cpu * 100) / 100,
    serverCpuPercent: Math.round((cpu / elapsed) * 100),
    netCpuSecondsPerMillionUpdates:
      updates + slowUpdates > 0
        ? Math.round(
            (Math.max(0, cpu - (noClientCpuPercent / 100) * elapsed) / (updates + slowUpdates)) * 1e6 * 1000,
          ) / 1000
        : null,
    cpuSecondsPerMillionUpdates:
      updates + slowUpdates > 0 ? Math.round((cpu / (updates + slowUpdates)) * 1e6 * 1000) / 1000 : null,
    latency: latencyOf(mergeHistograms(answers.map((a) => a.histogram))),
    slowLatency: latencyOf(mergeHistograms(answers.map((a) => a.slowHistogram))),
  };
}

async function loadPhase(def, server, noClientCpuPercent) {
  const r = await connectClients(server, opts.clients, opts.perClient);
  log(
    `${def.name}: ${r.connected} clients subscribed to ${opts.perClient} of ${opts.symbols} symbols (${r.failed} failed); warming up`,
  );
  await sleep(opts.warmup * 1000);
  // A server that reports what it sends is measured only once updates flow (a consumer group may still
  // be rebalancing); the wait is recorded, never hidden.
  let flowWaitSeconds = 0;
  if (server.sent) {
    const w0 = Date.now();
    while (Date.now() - w0 < 60_000) {
      const a = await server.sent();
      await sleep(1000);
      if ((await server.sent()) > a) break;
    }
    flowWaitSeconds = Math.round((Date.now() - w0) / 100) / 10;
    if (flowWaitSeconds > 2) log(`${def.name}: updates started to flow after ${flowWaitSeconds} s more`);
  }
  const steady = await measureWindow(server, noClientCpuPercent);
  log(
    `${def.name}: ${steady.updatesPerSec} updates/s (server says ${steady.serverReportedUpdatesPerSec ?? '—'}), CPU ${steady.serverCpuPercent}%, ${steady.cpuSecondsPerMillionUpdates} CPU-s/M updates, p50 ${steady.latency.p50Ms} ms, p99 ${steady.latency.p99Ms} ms`,
  );
  const s = await all({ op: 'slow', every: opts.slowEvery, periodMs: 1000, readMs: 100 });
  const slowCount = s.reduce((sum, a) => sum + a.slow, 0);
  await sleep(opts.warmup * 1000);
  const withSlow = await measureWindow(server, noClientCpuPercent);
  log(
    `${def.name}: with ${slowCount} slow clients: others' p99 ${withSlow.latency.p99Ms} ms (was ${steady.latency.p99Ms}), ${withSlow.updatesPerSec} updates/s`,
  );
  await all({ op: 'close' });
  return {
    connected: r.connected,
    failed: r.failed,
    flowWaitSeconds,
    steady,
    slowClients: slowCount,
    withSlow,
  };
}

// ---- main --------------------------------------------------------------------------------------------

async function main() {
  const chosen = SERVERS.filter((s) => (opts.only ? opts.only.includes(s.name) : (s.enabled?.() ?? true)));
  log(
    `${opts.mode} mode: ${opts.clients} clients × ${opts.perClient}/${opts.symbols} symbols at ${opts.hz} Hz, ${opts.rate} ticks/s, ${opts.seconds} s windows, idle ${[...opts.idle, ...opts.idleTickhubExtra].join('/')}; servers: ${chosen.map((s) => s.name).join(', ')}`,
  );
  const results = [];
  for (const def of chosen) {
    log(`${def.name}: starting`);
    let server;
    const entry = { name: def.name, label: def.label };
    try {
      server = await def.start();
      server.kind = def.kind;
      entry.notes = server.notes;
      entry.idle = await idlePhase(def, server);
      await waitQuiet(server, entry.idle.baseline.noClientCpuPercent);
      entry.load = await loadPhase(def, server, entry.idle.baseline.noClientCpuPercent);
      entry.peakRssBytes = procRssBytes(server.child.pid);
    } catch (error) {
      entry.error = String(error?.message ?? error);
      log(`${def.name}: FAILED: ${entry.error}`);
      await all({ op: 'close' }).catch(() => undefined);
    }
    if (server) {
      await stopChild(server.child);
      for (const c of server.extra ?? []) await stopChild(c);
      if (server.topic) await deleteTopic(server.topic);
    }
    results.push(entry);
  }
  await all({ op: 'exit' });

  const cpuList = cpus();
  const report = {
    runId,
    date: new Date().toISOString(),
    mode: opts.mode,
    command: `node test/bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cores: cpuList.length,
      cpuModel: cpuList[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadGenerators: opts.workers,
      note: 'servers and load generators share the same cores',
    },
    workload: {
      clients: opts.clients,
      symbols: opts.symbols,
      symbolsPerClient: opts.perClient,
      maxHz: opts.hz,
      ticksPerSec: opts.rate,
      seed: 42,
      windowSeconds: opts.seconds,
      warmupSeconds: opts.warmup,
      idleLevels: opts.idle,
      idleTickhubExtra: opts.idleTickhubExtra,
      slowClients: `1 in ${opts.slowEvery}, reading 100 ms of every 1000 ms`,
      sourceAddresses: LOCAL_ADDRESSES,
      kafka: Boolean(process.env.KAFKA_BROKERS),
      redis: Boolean(process.env.REDIS_URL),
    },
    results,
  };
  const files = writeReports(report, { outDir: opts.outDir, docsDir: opts.docsDir });
  log(`wrote ${files.join(', ')}`);
  console.log(JSON.stringify({ json: files[0], markdown: files[1], svg: files[2] }));
}

main().then(
  () => process.exit(0),
  (error) => {
    log(`failed: ${error?.stack ?? error}`);
    process.exit(1);
  },
);
