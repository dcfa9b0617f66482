// What candle aggregation costs the source stage. The same simulated ticks (500 symbols, 100k ticks per
// simulated second, a manual clock so that conflation does the same work in every run) go through the
// source stage without and with a CandleAggregator on the in-memory store. Each measurement runs in a
// process of its own, as a pod runs one way only: V8's decisions about the decoded tick objects (where to
// allocate them, what to inline) then follow one mode's history, not both modes' alternated in one heap.
// Two figures, each in ticks per second of the CPU time the process spent (process.cpuUsage: the
// machine is shared, and wall time would count the waits for a core):
//   - decode + stage: what a pod's source stage does per Kafka record (decodeTickRecord, then the
//     stage, as KafkaTickSource hands records over), with the candle flushes that fall due;
//   - stage only: each batch decoded just before the clock starts for it (so the stage reads ticks
//     that are in the cache, as it does behind a decoder), the stage and the flushes timed.
// After each batch the loop awaits one turn of the event loop, timed with the batch, as KafkaTickSource
// awaits its heartbeat after handing a batch over: the reads that a symbol's first tick starts (its
// last value from the backplane, its open candles from the store) complete there, as they do in a pod.
// Without it they completed only at the next candle flush, so in the run without candles, which never
// flushes, the 273 of the 500 symbols first seen after the first batch stayed loading for the whole
// run and were never published: of 1,000,000 ticks that run published 94,500 updates where the run
// with candles published 168,562 (both publish 176,492 now), and the difference counted as the cost
// of candles.
// The runs of a process follow each other in the tick stream and, with candles, share one store that
// each run's aggregator continues (as after a takeover): the measured runs write to a store that holds
// every symbol's candles, as a pod's has after its first seconds. A run on an empty store counted the
// store's one-off setup (a ring per symbol and timeframe, 2,000 typed arrays) as a cost per tick.
// A measurement, not a test: no assertions. Build first (npx turbo run build --filter=@tickhub/gateway...).
// Usage: node bench/source-candles.mjs [ticks=1000000] [rounds=7]
//   (internally: node bench/source-candles.mjs --child with|without ticks, one process per measurement)
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { SourceStage } = require('../dist/core/source-stage.js');
const { ManualClock } = require('../dist/core/clock.js');
const { loadConfig } = require('../dist/config.js');
const { MemoryBackplane } = require('@tickhub/backplane');
const { CandleAggregator, MemoryCandleStore } = require('@tickhub/candles');
const { Market } = require('@tickhub/market-sim');
const { decodeTickRecord, encodeTickRecord } = require('@tickhub/protocol');

const childMode = process.argv[2] === '--child' ? process.argv[3] : undefined;
const [total = 1_000_000, rounds = 7] = process.argv.slice(childMode ? 4 : 2).map(Number);
const RATE = 100_000;
const BATCH = 1_000;
const STEP_MS = (BATCH / RATE) * 1000;
const FLUSH_MS = loadConfig({}).candleFlushMs; // the gateway's default CANDLE_FLUSH_MS
const FLUSH_EVERY = Math.max(1, Math.round(FLUSH_MS / STEP_MS)); // batches per flush of simulated time
const POOL = 50;
const start = Date.UTC(2026, 0, 5, 14);

// A pool of batches made once; pass p over it moves seq and ts on by p pool lengths.
const market = new Market({ seed: 7, symbols: 500, firstSeq: 1 });
const records = [];
for (let i = 0; i < POOL; i++) {
  const out = [];
  market.fill(start + i * STEP_MS, BATCH, out);
  records.push(out.map((q) => Buffer.from(encodeTickRecord(q, 1))));
}
const passSeq = POOL * BATCH;
const passMs = POOL * STEP_MS;
const batchCount = Math.floor(total / BATCH);

function decode(i, out) {
  const pass = Math.floor(i / POOL);
  const batch = records[i % POOL];
  out.length = 0;
  for (let j = 0; j < batch.length; j++) {
    const tick = decodeTickRecord(batch[j]);
    tick.seq += pass * passSeq;
    tick.ts += pass * passMs;
    out.push(tick);
  }
  return out;
}

/** One turn of the event loop, as KafkaTickSource's eachBatch awaits its heartbeat after each batch. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** CPU time of this process in ms. */
function cpu() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Batches first .. first + batchCount - 1 of the stream through a new stage; candles go to `store` if given. */
async function run(store, decodeTimed, first) {
  const clock = new ManualClock(start + first * STEP_MS);
  const backplane = new MemoryBackplane({ podId: 'bench' });
  await backplane.connect();
  const candles = store ? new CandleAggregator({ store, flushMs: FLUSH_MS }) : undefined;
  const stage = new SourceStage({ backplane, clock, maxHz: 50, ...(candles ? { candles } : {}) });
  const ticks = [];
  stage.onTicks(decode(first, ticks));
  await turn(); // last values and open candles read
  let busy = 0;
  for (let i = 1; i < batchCount; i++) {
    if (!decodeTimed) decode(first + i, ticks);
    const t0 = cpu();
    if (decodeTimed) decode(first + i, ticks);
    stage.onTicks(ticks);
    clock.advance(STEP_MS);
    if (candles && i % FLUSH_EVERY === 0) await candles.flush();
    await turn();
    busy += cpu() - t0;
  }
  const t0 = cpu();
  if (candles) await candles.flush();
  busy += cpu() - t0;
  stage.stop();
  return ((batchCount - 1) * BATCH) / (busy / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(11);

if (childMode) {
  // One mode in this process: a warm-up run of each figure, then a measured run of each, so that the
  // JIT has settled on both paths before anything is timed (after a single warm-up run the measured
  // decode + stage run still compiled some twenty functions again, with candles more, on CPU time the
  // process counts). The runs follow each other in the stream, and with candles share one store, which each run's
  // aggregator continues (as after a takeover): the measured runs write to a store that already holds
  // every symbol's candles, as a pod's does once it has run for a few seconds.
  const store = childMode === 'with' ? new MemoryCandleStore() : undefined;
  const out = {};
  let first = 0;
  for (const [decodeTimed, measured] of [
    [true, false],
    [false, false],
    [true, true],
    [false, true],
  ]) {
    const rate = await run(store, decodeTimed, first);
    first += batchCount;
    if (measured) out[decodeTimed ? 'decodeStage' : 'stageOnly'] = rate;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
} else {
  const self = fileURLToPath(import.meta.url);
  const measure = (mode) =>
    JSON.parse(execFileSync(process.execPath, [self, '--child', mode, String(total)], { encoding: 'utf8' }));
  const results = { without: [], with: [] };
  for (let r = 0; r < rounds; r++) {
    // Alternated, so that a machine that speeds up or slows down moves both alike.
    for (const mode of r % 2 === 0 ? ['without', 'with'] : ['with', 'without'])
      results[mode].push(measure(mode));
    process.stderr.write(`  round ${r + 1}/${rounds}\n`);
  }
  for (const figure of ['decodeStage', 'stageOnly']) {
    const a = median(results.without.map((x) => x[figure]));
    const b = median(results.with.map((x) => x[figure]));
    const label = figure === 'decodeStage' ? 'decode + stage' : 'stage only    ';
    console.log(
      `${label}  without candles ${fmt(a)} ticks/s   with candles ${fmt(b)} ticks/s   change ${(((b - a) / a) * 100).toFixed(1)}%   (median of ${rounds} processes each, ${total.toLocaleString('en-US')} ticks)`,
    );
    // The same figures as CPU per tick, and as the share of one core a pod spends at 100k ticks/s.
    const ns = (x) => (1e9 / x).toFixed(0);
    const core = (x) => ((RATE / x) * 100).toFixed(2);
    console.log(
      `${' '.repeat(label.length)}  CPU per tick ${ns(a)} ns → ${ns(b)} ns; at ${RATE.toLocaleString('en-US')} ticks/s ${core(a)}% → ${core(b)}% of one core`,
    );
  }
}
