// Frames and latency of the edge stage's scheduling alone, without sockets or a loaded machine: the
// simulated market → SourceStage → EdgeStage on a ManualClock, clients as sinks that count what they
// are given. Deterministic (same seed, same figures), so a change of scheduling (coalescing, grids) can
// be compared where the harness's noise would hide it. A measurement of scheduling, not of CPU.
//   node test/bench/schedule-sim.cjs [--clients 500] [--symbols 200] [--per-client 40] [--hz 4]
//     [--rate 10000] [--seconds 20] [--leading true|false] [--coalesce MS]
// Measures the build in apps/gateway/dist (`npm run build` first). Prints one JSON line: frames/s,
// updates/s, updates per frame, frames sent from a leading edge's flush, latency (tick ts to write,
// as the clock moves) p50/p99/p99.9/max.
const { join } = require('node:path');

const root = join(__dirname, '..', '..');
const { ManualClock } = require(join(root, 'apps/gateway/dist/core/clock.js'));
const { EdgeStage } = require(join(root, 'apps/gateway/dist/core/edge-stage.js'));
const { SourceStage } = require(join(root, 'apps/gateway/dist/core/source-stage.js'));
const { jsonUpdateEncoding } = require(join(root, 'apps/gateway/dist/core/encodings.js'));
const { Market, createUniverse } = require('@tickhub/market-sim');
const { DEFAULT_LIMITS } = require('@tickhub/protocol');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const clients = Number(arg('clients', 500));
const symbolCount = Number(arg('symbols', 200));
const perClient = Number(arg('per-client', 40));
const hz = Number(arg('hz', 4));
const rate = Number(arg('rate', 10000));
const seconds = Number(arg('seconds', 20));
const leading = arg('leading', 'true') === 'true';
const coalesce = arg('coalesce', undefined);
const WARMUP_MS = 3000;
/** The gateway's pre-conflation rate (MAX_HZ) and the simulator's pacing, as in embedded mode. */
const SOURCE_HZ = 50;
const STEP_MS = 10;

const clock = new ManualClock();
// A backplane that delivers at once: the sim measures scheduling, not the bus.
let deliver;
const lastValues = new Map();
const backplane = {
  podId: 'sim',
  onUpdate: (handler) => {
    deliver = handler;
  },
  publish: (symbol, payload) => {
    lastValues.set(symbol, payload);
    deliver?.(symbol, payload);
  },
  setLastValue: (symbol, payload) => lastValues.set(symbol, payload),
  getLastValue: async (symbol) => lastValues.get(symbol),
  getLastValues: async (symbols) =>
    new Map(symbols.filter((s) => lastValues.has(s)).map((s) => [s, lastValues.get(s)])),
  addInterest: async () => undefined,
  removeInterest: async () => undefined,
};
const universe = createUniverse(symbolCount);
const known = new Set(universe.map((u) => u.symbol));
const edge = new EdgeStage({
  backplane,
  clock,
  isKnownSymbol: (s) => known.has(s),
  ...(coalesce !== undefined ? { coalesceMs: Number(coalesce) } : {}),
});
const source = new SourceStage({ backplane, clock, maxHz: SOURCE_HZ });
const market = new Market({ seed: 42, symbols: universe });

let measuring = false;
let frames = 0;
let updates = 0;
let leadingFrames = 0;
let inLeadingFlush = false;
const latencies = [];
// Frames written by the deferred flush (leading edges) rather than by the timer wheel.
const flushAll = edge.flushAll;
edge.flushAll = () => {
  inLeadingFlush = true;
  flushAll();
  inLeadingFlush = false;
};
const TS_KEY = Buffer.from('"ts":');
let seed = 7;
const random = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
for (let c = 0; c < clients; c++) {
  const sink = {
    encoding: jsonUpdateEncoding,
    writeSnapshot: () => undefined,
    bufferedBytes: () => 0,
    close: () => undefined,
    writeTicks(list) {
      if (!measuring) return;
      frames++;
      updates += list.count;
      if (inLeadingFlush) leadingFrames++;
      const now = clock.now();
      for (let i = 0; i < list.count; i++) {
        const body = Buffer.from(list.bodies[i]);
        const at = body.indexOf(TS_KEY) + TS_KEY.length;
        latencies.push(now - Number.parseInt(body.subarray(at, at + 16).toString('latin1'), 10));
      }
    },
  };
  const session = edge.openSession(sink, { limits: { ...DEFAULT_LIMITS } });
  const symbols = new Set();
  while (symbols.size < perClient) symbols.add(universe[Math.floor(random() * symbolCount)].symbol);
  session.subscribe([...symbols], hz, leading);
}

(async () => {
  const ticks = [];
  const totalMs = seconds * 1000;
  for (let t = 0; t < totalMs; t += STEP_MS) {
    // Lets the snapshot reads (promises) settle, as the event loop would.
    await new Promise((resolve) => setImmediate(resolve));
    if (t >= WARMUP_MS) measuring = true;
    ticks.length = 0;
    market.fill(clock.now(), (rate * STEP_MS) / 1000, ticks);
    source.onTicks(ticks);
    clock.advance(STEP_MS);
  }
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.floor(p * (latencies.length - 1))];
  const measured = (totalMs - WARMUP_MS) / 1000;
  console.log(
    JSON.stringify({
      leading,
      coalesceMs: coalesce === undefined ? 'default' : Number(coalesce),
      framesPerSec: Math.round(frames / measured),
      updatesPerSec: Math.round(updates / measured),
      updatesPerFrame: Number((updates / frames).toFixed(2)),
      leadingFramesPerSec: Math.round(leadingFrames / measured),
      p50Ms: q(0.5),
      p99Ms: q(0.99),
      p999Ms: q(0.999),
      maxMs: latencies.at(-1),
    }),
  );
})();
