// What candle aggregation costs the source stage. The same simulated ticks (500 symbols, 100k ticks per
// simulated second, a manual clock so that conflation does the same work in every run) go through the
// source stage without and with a CandleAggregator on the in-memory store. Each mode runs in a process
// of its own, as a pod runs one way only: V8's decisions about the decoded tick objects (where to
// allocate them, what to inline) then follow one mode's history, and each mode pays for its own garbage
// collections (in one heap, a period without candles could pay for collecting the candles' garbage).
// Two figures, each in ticks per second of the CPU time the process
// spent (process.cpuUsage: the machine is shared, and wall time would count the waits for a core):
//   - decode + stage: what a pod's source stage does per Kafka record (decodeTickRecord, then the
//     stage, as KafkaTickSource hands records over), with the candle flushes that fall due;
//   - stage only: each batch decoded just before the clock starts for it (so the stage reads ticks
//     that are in the cache, as it does behind a decoder), the stage and the flushes timed.
// The two processes run in lockstep on one core, a flush period each in turn (see the parent below):
// on a shared VM, a process's CPU per tick moved by up to 2× from one second to the next, and figures
// of processes measured one after another moved by tens of percent between rounds.
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
//   ticks per figure and round (a period is 100,000 of them); rounds: a pair of processes each
//   (internally: node bench/source-candles.mjs --child with|without ticks, driven over stdin)
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
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

/**
 * A stage over the stream from batch `first` on, candles to `store` if given. Its `batches(count)` runs
 * the next batches and returns the CPU ms they took; with candles, every FLUSH_EVERY-th batch ends with
 * the flush that falls due, so a period of FLUSH_EVERY batches holds exactly one flush.
 */
async function pipeline(store, decodeTimed, first) {
  const clock = new ManualClock(start + first * STEP_MS);
  const backplane = new MemoryBackplane({ podId: 'bench' });
  await backplane.connect();
  const candles = store ? new CandleAggregator({ store, flushMs: FLUSH_MS }) : undefined;
  const stage = new SourceStage({ backplane, clock, maxHz: 50, ...(candles ? { candles } : {}) });
  const ticks = [];
  stage.onTicks(decode(first, ticks));
  await turn(); // last values and open candles read
  let i = 1;
  return {
    async batches(count) {
      let busy = 0;
      for (const end = i + count; i < end; i++) {
        if (!decodeTimed) decode(first + i, ticks);
        const t0 = cpu();
        if (decodeTimed) decode(first + i, ticks);
        stage.onTicks(ticks);
        clock.advance(STEP_MS);
        if (candles && i % FLUSH_EVERY === 0) await candles.flush();
        await turn();
        busy += cpu() - t0;
      }
      return busy;
    },
    async stop() {
      if (candles) await candles.flush();
      stage.stop();
      return first + i;
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(11);
const FIGURES = ['decodeStage', 'stageOnly'];

if (childMode) {
  // One mode in this process. First a warm-up run of each figure, so that the JIT has settled on both
  // paths before anything is timed (after a single warm-up run the decode + stage path still compiled
  // some twenty functions again, with candles more, on CPU time the process counts). Then the parent
  // has it run one period at a time, alternating with the other mode's process (see below). The runs
  // follow each other in the stream, and with candles share one store, which each run's aggregator
  // continues (as after a takeover): the measured runs write to a store that already holds every
  // symbol's candles, as a pod's does once it has run for a few seconds.
  const store = childMode === 'with' ? new MemoryCandleStore() : undefined;
  let first = 0;
  for (const figure of FIGURES) {
    const warm = await pipeline(store, figure === 'decodeStage', first);
    await warm.batches(batchCount - 1);
    first = await warm.stop();
  }
  const reply = (x) => process.stdout.write(`${JSON.stringify(x)}\n`);
  let current;
  reply('ready');
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, figure] = line.split(' ');
    if (command === 'start') {
      current = await pipeline(store, figure === 'decodeStage', first);
      reply('started');
    } else if (command === 'period') {
      reply(await current.batches(FLUSH_EVERY));
    } else if (command === 'stop') {
      first = await current.stop();
      reply('stopped');
    } else break;
  }
  process.exit(0);
} else {
  // The two modes run in two processes at once, each with its own heap (a pod runs one way only, and
  // V8's decisions about the tick objects, where to allocate them and what to inline, follow that
  // mode's history), but in lockstep on one core: one flush period (FLUSH_EVERY batches, one flush)
  // of one process, then one of the other, in alternating order. A shared machine that slows down for
  // a while slows both sides of a pair of periods alike, so the figure is the median over pairs of
  // with ÷ without. Measured one after another (a process of each mode, alternated) on a shared
  // 2-core VM, the same build's change moved by tens of percent from one pair of processes to the next.
  const self = fileURLToPath(import.meta.url);
  const periods = Math.max(1, Math.floor((batchCount - 1) / FLUSH_EVERY));
  const cpus = availableParallelism();
  // One core for both (the last, away from where the system's own work tends to run), when taskset is there.
  const pin = cpus > 1 && spawnSync('taskset', ['-V']).status === 0;
  const spawnMode = (mode) => {
    const args = [self, '--child', mode, String(total)];
    const child = pin
      ? spawn('taskset', ['-c', String(cpus - 1), process.execPath, ...args], {
          stdio: ['pipe', 'pipe', 'inherit'],
        })
      : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    return {
      async ask(command) {
        if (command !== undefined) child.stdin.write(`${command}\n`);
        const { value, done } = await lines.next();
        if (done) throw new Error(`the ${mode} process ended early`);
        return JSON.parse(value);
      },
      end: () => child.stdin.end(),
    };
  };
  const results = { decodeStage: [], stageOnly: [] };
  for (let r = 0; r < rounds; r++) {
    const without = spawnMode('without');
    const withCandles = spawnMode('with');
    await Promise.all([without.ask(), withCandles.ask()]); // both warmed up
    for (const figure of FIGURES) {
      await without.ask(`start ${figure}`);
      await withCandles.ask(`start ${figure}`);
      const pairs = [];
      for (let p = 0; p < periods; p++) {
        const order = p % 2 === 0 ? [without, withCandles] : [withCandles, without];
        const first = await order[0].ask('period');
        const second = await order[1].ask('period');
        pairs.push(order[0] === without ? [first, second] : [second, first]);
      }
      await without.ask('stop');
      await withCandles.ask('stop');
      results[figure].push({
        without: median(pairs.map(([a]) => a)),
        with: median(pairs.map(([, b]) => b)),
        ratio: median(pairs.map(([a, b]) => b / a)),
      });
    }
    without.end();
    withCandles.end();
    process.stderr.write(`  round ${r + 1}/${rounds}\n`);
  }
  const perPeriod = FLUSH_EVERY * BATCH;
  for (const figure of FIGURES) {
    const runs = results[figure];
    const a = perPeriod / (median(runs.map((x) => x.without)) / 1000);
    const b = perPeriod / (median(runs.map((x) => x.with)) / 1000);
    // The change in throughput: a period with candles takes `ratio` times the CPU of its pair without.
    const changes = runs.map((x) => (1 / x.ratio - 1) * 100);
    const label = figure === 'decodeStage' ? 'decode + stage' : 'stage only    ';
    console.log(
      `${label}  without candles ${fmt(a)} ticks/s   with candles ${fmt(b)} ticks/s   change ${median(changes).toFixed(1)}% (rounds: ${changes.map((c) => c.toFixed(1)).join(', ')})`,
    );
    // The same figures as CPU per tick, and as the share of one core a pod spends at 100k ticks/s.
    const ns = (x) => (1e9 / x).toFixed(0);
    const core = (x) => ((RATE / x) * 100).toFixed(2);
    console.log(
      `${' '.repeat(label.length)}  CPU per tick ${ns(a)} ns → ${ns(b)} ns; at ${RATE.toLocaleString('en-US')} ticks/s ${core(a)}% → ${core(b)}% of one core`,
    );
  }
  console.log(
    `(${rounds} rounds of a process per mode, ${periods} pairs of flush periods of ${perPeriod.toLocaleString('en-US')} ticks each per figure and round)`,
  );
}
