// Side-by-side benchmark: tickhub's gateway against Socket.IO and two plain ws servers, same workload.
// Usage: node test/bench/run.mjs [--quick|--full] [--clients N] [--symbols S] [--per-client K] [--hz H]
//          [--rate R] [--seconds T] [--idle 1000,10000] [--idle-tickhub-extra max|N,...] [--workers W]
//          [--out-dir DIR] [--docs-dir DIR]
//          [--only tickhub,tickhub-aligned,tickhub-base,socketio,naive,preframed,tickhub-kafka,tickhub-kafka-base]
//          [--workload small|dashboard]   (a named workload: clients, symbols, rates, windows)
//          [--gateway-main PATH]   (another build's apps/gateway/dist/main.js, measured instead of this one)
//          [--baseline-main PATH]  (another build measured too, in the same run, as `tickhub-base`, and on
//                                   Kafka + Redis as `tickhub-kafka-base`)
// Writes bench-results/bench-<run>.json, each server's output to bench-results/<run>/<server>.log,
// docs/benchmarks.md and docs/benchmarks.svg.
// A measurement, not a test: nothing here asserts a speed.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as harness from './harness.mjs';
import { writeReports } from './report.mjs';
import { WORKLOADS } from './workload.mjs';

const require = createRequire(import.meta.url);
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
    // No-client CPU: measured over `idleCpuSeconds` once `settleSeconds` have passed after the server
    // listens, so that the tail of its start-up (JIT, the GC of start-up garbage) is not counted.
    settleSeconds: 1,
    idleCpuSeconds: 1.5,
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
    settleSeconds: 8,
    idleCpuSeconds: 5,
    idle: [1000, 10000],
    // As close to 20,000 as the gateway process's own fd limit allows (see idleTargetFromFdLimit).
    idleTickhubExtra: ['max'],
    workers: 2,
    slowEvery: 10,
  },
};

function parseArgs(argv) {
  const mode = argv.includes('--full') ? 'full' : 'quick';
  const o = { mode, ...PRESETS[mode], outDir: join(root, 'bench-results'), docsDir: join(root, 'docs') };
  o.only = undefined;
  o.workload = undefined;
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
    else if (a === '--workload') {
      if (!Object.hasOwn(WORKLOADS, v))
        throw new Error(`--workload takes ${Object.keys(WORKLOADS).join('|')}`);
      Object.assign(o, WORKLOADS[v]);
      o.workload = v;
      i++;
    } else if (a === '--clients') o.clients = num();
    else if (a === '--symbols') o.symbols = num();
    else if (a === '--per-client') o.perClient = num();
    else if (a === '--hz') o.hz = num();
    else if (a === '--rate') o.rate = num();
    else if (a === '--seconds') o.seconds = num();
    else if (a === '--warmup') o.warmup = num();
    else if (a === '--settle') o.settleSeconds = num();
    else if (a === '--idle-cpu-seconds') o.idleCpuSeconds = Math.max(0.5, num());
    else if (a === '--workers') o.workers = Math.max(1, num());
    else if (a === '--idle') {
      o.idle = String(v).split(',').filter(Boolean).map(Number);
      i++;
    } else if (a === '--idle-tickhub-extra') {
      o.idleTickhubExtra = String(v)
        .split(',')
        .filter(Boolean)
        .map((x) => {
          if (x === 'max') return 'max';
          const n = Number(x);
          if (!Number.isInteger(n) || n <= 0)
            throw new Error(`--idle-tickhub-extra takes max or counts, got ${x}`);
          return n;
        });
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
    } else if (a === '--gateway-main') {
      o.gatewayMain = resolve(v);
      i++;
    } else if (a === '--baseline-main') {
      o.baselineMain = resolve(v);
      i++;
    } else throw new Error(`unknown argument ${a}`);
  }
  if (o.perClient > o.symbols) throw new Error('--per-client must not exceed --symbols');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const {
  EMBEDDED_NOTES,
  metricsValue,
  procCpuSeconds,
  procFdLimit,
  procOpenFds,
  procRssBytes,
  sleep,
  sourceTickCounts,
  stopChild,
} = harness;
const log = harness.createLog('bench');
const runId = harness.newRunId();
const LOCAL_ADDRESSES = harness.LOCAL_ADDRESSES;

// ---- processes -------------------------------------------------------------------------------------

const logDir = () => join(opts.outDir, runId);
const { startNode, startWorker } = harness.createProcesses({ logDir });

/** The connection count the target asks one gateway process to hold. */
const TARGET_CONNECTIONS = 20_000;
/** Descriptors the server may open besides the idle sockets (metrics scrapes, logs, reconnects). */
const FD_MARGIN = 16;

/**
 * How many idle sockets the server can hold: its fd soft limit (the shell raised it to the hard limit)
 * minus the descriptors it already has open minus a margin, capped at the 20,000 target.
 */
function idleTargetFromFdLimit(pid) {
  const limit = procFdLimit(pid);
  const fdsAtStart = procOpenFds(pid);
  const target = Math.max(0, Math.min(TARGET_CONNECTIONS, limit.soft - fdsAtStart - FD_MARGIN));
  return { target, fdLimitSoft: limit.soft, fdLimitHard: limit.hard, fdsAtStart, margin: FD_MARGIN };
}

// ---- load generators ---------------------------------------------------------------------------------

const workers = Array.from({ length: opts.workers }, startWorker);
const all = (cmd) => Promise.all(workers.map((w) => w.call(cmd)));

/** Sockets one load generator is given at most: half its fd limit, so no client process nears it. */
function socketsPerWorker() {
  const { soft } = procFdLimit(workers[0].child.pid);
  return Math.max(500, Math.min(10_000, Math.floor(soft / 2)));
}

/** Starts more load generators until `count` idle sockets fit (the load phase keeps to --workers). */
function ensureWorkersFor(count) {
  const need = Math.ceil(count / socketsPerWorker());
  while (workers.length < need) workers.push(startWorker());
}

const symbolNames = createUniverse(opts.symbols).map((s) => s.symbol);

/**
 * Opens `count` clients spread over the workers (the first --workers of them unless `pool` says
 * otherwise); `perClient` 0 makes idle connections.
 */
async function connectClients(server, count, perClient, pool = workers.slice(0, opts.workers)) {
  return harness.connectClients(pool, server, count, perClient, { symbols: symbolNames, hz: opts.hz });
}

// ---- servers under test ------------------------------------------------------------------------------

const starters = harness.createStarters({ ...opts, startNode, runId });
const { simEnv, gatewayEnv, startEmbeddedGateway } = starters;
const gatewayMain = opts.gatewayMain ?? join(root, 'apps', 'gateway', 'dist', 'main.js');
const ingesterMain = join(root, 'apps', 'ingester', 'dist', 'main.js');

/** The gateway build `main` fed by the ingester through Kafka, with the Redis backplane when REDIS_URL is set. */
async function startKafkaGateway(main, name, ingesterEnv = {}, notes = '') {
  const topic = `bench.ticks.${runId}.${name}`;
  const redisKeyPrefix = `bench-${runId}-${name}:`;
  const ing = startNode(
    ingesterMain,
    {
      ...simEnv,
      KAFKA_BROKERS: process.env.KAFKA_BROKERS,
      KAFKA_TOPIC: topic,
      KAFKA_PARTITIONS: '3',
      KAFKA_CLIENT_ID: `bench-ingester-${runId}-${name}`,
      TICK_RATE: String(opts.rate),
      INGESTER_HTTP_PORT: '0',
      INGESTER_HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...ingesterEnv,
    },
    /"port":(\d+)/,
    60_000,
    `${name}-ingester`,
  );
  await ing.ready;
  const env = gatewayEnv({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: `bench-gw-${runId}-${name}`,
    REDIS_URL: process.env.REDIS_URL ?? '',
    // Runs never share the backplane's last values (seq per symbol); deleted after the run.
    REDIS_KEY_PREFIX: redisKeyPrefix,
  });
  const p = startNode(main, env, /"msg":"listening"[^\n]*"port":(\d+)/, 90_000, name);
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
    gcNow: p.gcNow,
    extra: [ing.child],
    topic,
    redisKeyPrefix: process.env.REDIS_URL ? redisKeyPrefix : undefined,
    url: `ws://127.0.0.1:${port}/ws`,
    heap: () => metricsValue(port, 'tickhub_gateway_nodejs_heap_size_used_bytes'),
    sent: () => metricsValue(port, 'tickhub_gateway_updates_sent_total'),
    sourceTicks: () => sourceTickCounts(port),
    notes: `${notes}tick source: ingester → Kafka topic ${topic}; ${backplane}; CPU and memory are the gateway process only (the ingester is the tick source)`,
    stderr: p.stderr,
  };
}

const SERVERS = [
  ...harness.embeddedServers(starters, gatewayMain),
  {
    name: 'tickhub-base',
    label: 'tickhub gateway (embedded), baseline build',
    kind: 'tickhub',
    enabled: () => Boolean(opts.baselineMain),
    start: () => {
      if (!opts.baselineMain) throw new Error('tickhub-base needs --baseline-main PATH');
      return startEmbeddedGateway(
        opts.baselineMain,
        'tickhub-base',
        `${EMBEDDED_NOTES}; ${opts.baselineMain}`,
      );
    },
  },
  {
    name: 'tickhub-kafka',
    label: 'tickhub gateway (Kafka + Redis)',
    kind: 'tickhub',
    enabled: () => Boolean(process.env.KAFKA_BROKERS),
    start: () => startKafkaGateway(gatewayMain, 'tickhub-kafka'),
  },
  {
    // The `--baseline-main` build on Kafka + Redis; its ingester lingers 5 ms, the default before 1 ms.
    name: 'tickhub-kafka-base',
    label: 'tickhub gateway (Kafka + Redis), baseline build',
    kind: 'tickhub',
    enabled: () => Boolean(process.env.KAFKA_BROKERS && opts.baselineMain),
    start: () => {
      if (!opts.baselineMain) throw new Error('tickhub-kafka-base needs --baseline-main PATH');
      return startKafkaGateway(
        opts.baselineMain,
        'tickhub-kafka-base',
        { BATCH_LINGER_MS: '5' },
        `${opts.baselineMain}, ingester BATCH_LINGER_MS=5; `,
      );
    },
  },
  ...harness.peerServers(starters),
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

async function deleteRedisKeys(prefix) {
  const Redis = require('ioredis');
  const redis = new Redis(process.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch (error) {
    log(`could not delete Redis keys ${prefix}*: ${error?.message ?? error}`);
  } finally {
    redis.disconnect();
  }
}

// ---- phases ------------------------------------------------------------------------------------------

const watchSourceFlow = (def, server) => harness.watchSourceFlow(def, server, log);

const GC_SAMPLES = 3;

/**
 * Memory after forced full GCs: GC_SAMPLES times, a GC (acknowledged by the server), a short pause for
 * the freed pages to leave RSS, then RSS and heap; the minimum of each is kept (what survives a GC).
 */
async function memorySnapshot(server) {
  let rss = Number.POSITIVE_INFINITY;
  let heap = Number.POSITIVE_INFINITY;
  let gcs = 0;
  for (let i = 0; i < GC_SAMPLES; i++) {
    if (await server.gcNow()) gcs++;
    await sleep(250);
    rss = Math.min(rss, procRssBytes(server.child.pid));
    heap = Math.min(heap, await server.heap());
  }
  return { rss, heap, gcs };
}

async function idlePhase(def, server) {
  const extra = def.name === 'tickhub' ? opts.idleTickhubExtra : [];
  // CPU with no client at all: the simulated market and the server's own timers, paid by every server;
  // measured once start-up has settled and before any forced GC so that neither is in it.
  const noClientCpuPercent = await harness.noClientCpuPercent(
    server.child.pid,
    opts.settleSeconds,
    opts.idleCpuSeconds,
  );
  const base = await memorySnapshot(server);
  // The fd budget is read once the server is up and idle: its own limit, less what it has open.
  const fd = idleTargetFromFdLimit(server.child.pid);
  const levels = [
    ...opts.idle.map((target) => ({ target })),
    ...extra.map((x) => {
      const target = x === 'max' ? fd.target : Math.min(x, fd.target);
      return target === x ? { target } : { target, requested: x, fd };
    }),
  ]
    // One row per count; a count that the fd limit set keeps its note.
    .sort((a, b) => a.target - b.target || (b.fd ? 1 : 0) - (a.fd ? 1 : 0))
    .filter((l, i, list) => i === 0 || l.target !== list[i - 1].target);
  if (extra.length)
    log(
      `${def.name}: fd limit ${fd.fdLimitSoft} (hard ${fd.fdLimitHard}), ${fd.fdsAtStart} fds open: at most ${fd.target} idle connections`,
    );
  ensureWorkersFor(Math.max(0, ...levels.map((l) => l.target)));
  const out = [];
  let open = 0;
  for (const level of levels) {
    if (level.target <= open) continue;
    const r = await connectClients(server, level.target - open, 0, workers);
    open += r.connected;
    await sleep(1500);
    const snap = await memorySnapshot(server);
    const row = {
      target: level.target,
      connections: open,
      failed: r.failed,
      rssBytes: snap.rss,
      heapBytes: snap.heap,
      rssPerConnBytes: open > 0 ? Math.round((snap.rss - base.rss) / open) : null,
      heapPerConnBytes: open > 0 ? Math.round((snap.heap - base.heap) / open) : null,
      gcs: snap.gcs,
      fdsOpen: procOpenFds(server.child.pid),
      ...(level.fd
        ? {
            fdBound: {
              requested: level.requested,
              goal: TARGET_CONNECTIONS,
              fdLimitSoft: level.fd.fdLimitSoft,
              fdLimitHard: level.fd.fdLimitHard,
              fdsAtStart: level.fd.fdsAtStart,
              margin: level.fd.margin,
            },
          }
        : {}),
    };
    out.push(row);
    log(
      `${def.name}: ${open} idle connections (${r.failed} failed): RSS +${(row.rssPerConnBytes / 1024).toFixed(1)} KiB/conn, heap +${(row.heapPerConnBytes / 1024).toFixed(1)} KiB/conn (after ${snap.gcs} forced GCs)`,
    );
    // Past the point where connections are refused, larger levels would only measure failures.
    if (r.failed > 0 && open < level.target * 0.9) break;
  }
  await all({ op: 'close' });
  return {
    baseline: { rssBytes: base.rss, heapBytes: base.heap, noClientCpuPercent, gcs: base.gcs },
    levels: out,
  };
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

const measureWindow = (server, noClientCpuPercent) =>
  harness.measureWindow(workers, server, opts.seconds, noClientCpuPercent, log);

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
  server.phase = 'slow clients';
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
  // `--only` also sets the order, so that before/after runs can alternate which goes first.
  const chosen = opts.only
    ? opts.only.map((name) => {
        const def = SERVERS.find((s) => s.name === name);
        if (!def)
          throw new Error(`--only: unknown server ${name} (${SERVERS.map((s) => s.name).join(', ')})`);
        return def;
      })
    : SERVERS.filter((s) => s.enabled?.() ?? true);
  log(
    `${opts.mode} mode: ${opts.clients} clients × ${opts.perClient}/${opts.symbols} symbols at ${opts.hz} Hz, ${opts.rate} ticks/s, ${opts.seconds} s windows, idle ${[...opts.idle, ...opts.idleTickhubExtra].join('/')}; servers: ${chosen.map((s) => s.name).join(', ')}`,
  );
  const results = [];
  for (const def of chosen) {
    log(`${def.name}: starting`);
    let server;
    let stopWatch;
    const entry = { name: def.name, label: def.label };
    try {
      server = await def.start();
      server.kind = def.kind;
      server.subscribe = def.subscribe;
      server.phase = 'idle connections';
      stopWatch = watchSourceFlow(def, server);
      entry.notes = server.notes;
      entry.idle = await idlePhase(def, server);
      server.phase = 'closing idle connections';
      await waitQuiet(server, entry.idle.baseline.noClientCpuPercent);
      server.phase = 'load';
      entry.load = await loadPhase(def, server, entry.idle.baseline.noClientCpuPercent);
      entry.peakRssBytes = procRssBytes(server.child.pid);
    } catch (error) {
      entry.error = String(error?.message ?? error);
      log(`${def.name}: FAILED: ${entry.error}`);
      await all({ op: 'close' }).catch(() => undefined);
    }
    if (stopWatch) entry.sourceStalls = stopWatch();
    if (server) {
      await stopChild(server.child);
      for (const c of server.extra ?? []) await stopChild(c);
      if (server.topic) await deleteTopic(server.topic);
      if (server.redisKeyPrefix) await deleteRedisKeys(server.redisKeyPrefix);
    }
    results.push(entry);
  }
  await all({ op: 'exit' });

  const report = {
    runId,
    date: new Date().toISOString(),
    mode: opts.mode,
    workloadName: opts.workload ?? null,
    command: `node test/bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    machine: harness.machineInfo(opts.workers),
    workload: {
      clients: opts.clients,
      symbols: opts.symbols,
      symbolsPerClient: opts.perClient,
      maxHz: opts.hz,
      ticksPerSec: opts.rate,
      seed: 42,
      windowSeconds: opts.seconds,
      warmupSeconds: opts.warmup,
      settleSeconds: opts.settleSeconds,
      idleCpuSeconds: opts.idleCpuSeconds,
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
