// Capacity model: how many gateway pods, and how much backplane traffic, a deployment needs, from the
// figures a benchmark run measured (docs/benchmarks-dashboard.json by default; a saturation run's
// docs/benchmarks-saturation.json gives its highest sustained step). Prints one table.
// Usage: node test/bench/capacity.mjs [--from FILE] [--server tickhub-aligned|tickhub]
//          [--core-target 0.6] [--ticks-per-symbol 50] [--source-hz 50] [--rss-per-conn-kib 6]
//          [--redis-from docs/benchmarks-redis-shard.json] [--redis-core-target 0.6] [--redis-shard-msgs N]
// A model, not a measurement: every input is printed with where it comes from.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const opts = {
  from: join(root, 'docs', 'benchmarks-dashboard.json'),
  server: 'tickhub-aligned',
  // Share of a core a pod is sized to use, leaving room for the clients of a pod that goes away.
  coreTarget: 0.6,
  // Source ticks per second per symbol (the dashboard workload: 10,000 ticks/s over 200 symbols).
  ticksPerSymbol: 50,
  // The source stage pre-conflates each symbol to the highest client rate (MAX_HZ, 50 by default).
  sourceHz: 50,
  // RSS per idle connection: the round-2 full run measured 5.6 KiB at 10,000 connections.
  rssPerConnKib: 6,
  // Deliveries per Redis CPU-second, as test/bench/redis-shard.mjs measured them (npm run bench:redis).
  redisFrom: join(root, 'docs', 'benchmarks-redis-shard.json'),
  // Share of its core a shard is sized to use.
  redisCoreTarget: 0.6,
  // Set to override the measured figure: messages one Redis shard delivers per second.
  redisShardMsgs: 0,
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  if (!(key in opts)) throw new Error(`unknown option ${argv[i]}`);
  opts[key] = typeof opts[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
}

/**
 * The measured figures the model needs, from a run.mjs run (its steady window) or a saturation.mjs run
 * (its highest sustained step, where the CPU per update is that of a busy process).
 */
function measured(run, server) {
  const row = run.results.find((r) => r.name === server);
  const w = run.workload;
  if (run.criteria) {
    const step = row?.highest;
    if (!step) throw new Error(`${opts.from} has no sustained step for ${server}`);
    // The whole CPU per update, the no-client cost included: a no-client figure taken seconds after
    // start-up on a busy machine is not steady enough to subtract.
    return {
      row,
      what: `highest sustained step, ${step.connected} connections; CPU per update gross`,
      updatesPerSec: step.updatesPerSec,
      cpuSecondsPerMillionUpdates: step.cpuSecondsPerMillionUpdates,
      connections: step.connected,
      noClientCpuPercent: 0,
      updatesPerFrame: step.updatesPerFrame,
    };
  }
  if (!row?.load) throw new Error(`${opts.from} has no measured row ${server}`);
  return {
    row,
    what: `${w.clients} connections`,
    updatesPerSec: row.load.steady.updatesPerSec,
    cpuSecondsPerMillionUpdates: row.load.steady.netCpuSecondsPerMillionUpdates,
    connections: w.clients,
    noClientCpuPercent: row.idle.baseline.noClientCpuPercent,
    updatesPerFrame: row.load.steady.updates / Math.max(1, row.load.steady.frames),
  };
}

const run = JSON.parse(readFileSync(opts.from, 'utf8'));
const {
  row,
  what,
  updatesPerSec,
  cpuSecondsPerMillionUpdates,
  connections,
  noClientCpuPercent,
  updatesPerFrame,
} = measured(run, opts.server);
let redisSource = 'given';
if (!opts.redisShardMsgs) {
  if (!existsSync(opts.redisFrom)) {
    throw new Error(`${opts.redisFrom} is missing: run npm run bench:redis, or give --redis-shard-msgs`);
  }
  const shard = JSON.parse(readFileSync(opts.redisFrom, 'utf8'));
  opts.redisShardMsgs = shard.deliveriesPerRedisCpuSecond * opts.redisCoreTarget;
  redisSource = `measured: ${shard.deliveriesPerRedisCpuSecond.toLocaleString('en-US')} deliveries per Redis CPU-second (${relative(root, opts.redisFrom)}, Redis ${shard.redis}, ${shard.options.payloadBytes}-byte messages), sized to ${opts.redisCoreTarget} of its core`;
}
const w = run.workload;
// Per connection of that profile: delivered updates/s, as the clients counted them.
const perConn = updatesPerSec / connections;
// CPU per delivered update, without the fixed cost a process pays with no client (simulated market,
// source stage, timers), which is counted per pod below.
const cpuPerUpdate = cpuSecondsPerMillionUpdates / 1e6;
const baseCores = noClientCpuPercent / 100;
const baseTicks = w.ticksPerSec;

// Bytes on the wire per delivered update: a `ticks` frame of as many updates as the benchmark's frames
// carried, in JSON (the larger encoding), plus its WebSocket header, shared by its updates.
const { jsonCodec } = createRequire(import.meta.url)(join(root, 'packages', 'protocol', 'dist', 'index.js'));
const perFrame = Math.max(1, Math.round(updatesPerFrame ?? 1));
const sampleUpdate = (i) => ({
  symbol: `SYM${i}`,
  seq: 48_213_907 + i,
  ts: 1_764_900_000_123 + i,
  bid: 187.42 + i / 100,
  ask: 187.45 + i / 100,
  bidSize: 300,
  askSize: 1200,
  last: 187.44 + i / 100,
  lastSize: 100,
  volume: 18_734_512,
  open: 185.1,
  high: 188.02,
  low: 184.77,
  n: 3,
});
const frameBytes = Buffer.byteLength(
  jsonCodec.encode({ type: 'ticks', updates: Array.from({ length: perFrame }, (_, i) => sampleUpdate(i)) }),
);
const bytesPerUpdate = (frameBytes + (frameBytes < 65_536 ? 4 : 10)) / perFrame;

const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2));
const int = (n) => Math.round(n).toLocaleString('en-US');
const lines = [];
lines.push(
  `inputs: ${relative(root, opts.from)} (run ${run.runId}), row "${row.label}" (${what}): ${w.symbolsPerClient} symbols per connection at ${w.maxHz} Hz,`,
  `  ${fmt(perConn)} delivered updates/s per connection, ${fmt(cpuPerUpdate * 1e6)} µs of CPU per update net of the no-client ${fmt(baseCores * 100)}% (at ${baseTicks} ticks/s);`,
  `  pods sized to ${opts.coreTarget} of a core; ${opts.ticksPerSymbol} ticks/s per symbol, pre-conflated to ${opts.sourceHz} Hz;`,
  `  ${fmt(bytesPerUpdate)} bytes on the wire per update (JSON frames of ${perFrame} updates, as the benchmark's);`,
  `  ${opts.rssPerConnKib} KiB RSS per connection; a Redis shard delivers ${fmt(opts.redisShardMsgs)} messages/s (${redisSource}).`,
  '',
  '| connections | symbols | delivered updates/s | gateway cores | pods | connections per pod | RSS per pod MiB | egress Gbit/s | backplane publishes/s | backplane deliveries/s | Redis shards |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
);
for (const symbols of [500, 5000]) {
  for (const connections of [1_000, 100_000, 1_000_000]) {
    const updates = connections * perConn;
    const ticks = symbols * opts.ticksPerSymbol;
    // The no-client cost grows with the ticks each pod's source stage and simulator handle; with Kafka,
    // source work is spread over the pods that own partitions, so it is counted once, not per pod.
    const sourceCores = baseCores * (ticks / baseTicks);
    const deliveryCores = updates * cpuPerUpdate;
    const pods = Math.max(1, Math.ceil((deliveryCores + sourceCores) / opts.coreTarget));
    const published = symbols * Math.min(opts.ticksPerSymbol, opts.sourceHz);
    // Every pod with a subscriber of a symbol receives its updates: with many connections per pod, all.
    const deliveries = published * pods;
    const shards = Math.max(1, Math.ceil(deliveries / opts.redisShardMsgs));
    const perPod = connections / pods;
    lines.push(
      `| ${int(connections)} | ${int(symbols)} | ${int(updates)} | ${fmt(deliveryCores + sourceCores)} | ${int(pods)} | ${int(perPod)} | ${fmt((perPod * opts.rssPerConnKib) / 1024)} | ${fmt((updates * bytesPerUpdate * 8) / 1e9)} | ${int(published)} | ${int(deliveries)} | ${int(shards)} |`,
    );
  }
}
console.log(lines.join('\n'));
