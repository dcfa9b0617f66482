// Ticks per second of Market.nextTick and Market.fill on one core (the benchmark is single-threaded). Run after a build:
//   npm run build -w packages/market-sim && npm run bench -w packages/market-sim
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Market } = require('../dist/index.js');

const TICKS = Number(process.env.BENCH_TICKS ?? 5_000_000);
const BATCH = 1000;
const T0 = Date.UTC(2026, 10, 25, 14, 30);

function measure(name, body) {
  // A short warm-up lets the optimising compiler settle before timing.
  body(Math.min(TICKS / 10, 500_000));
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const checksum = body(TICKS);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const perCpu = Math.round(TICKS / cpuSeconds).toLocaleString('en-US');
  const perWall = Math.round(TICKS / seconds).toLocaleString('en-US');
  // CPU time is the figure to compare: wall time also counts other processes on a shared machine.
  console.log(
    `${name.padEnd(10)} ${perCpu.padStart(12)} ticks per CPU-second, ${perWall.padStart(12)} per wall-second ` +
      `(${TICKS} ticks, checksum ${checksum.toFixed(2)})`,
  );
}

const market = new Market({ seed: 1 });
let now = T0;

measure('nextTick', (count) => {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    if (i % BATCH === 0) now += 1;
    sum += market.nextTick(now).bid;
  }
  return sum;
});

const out = [];
measure('fill', (count) => {
  let sum = 0;
  for (let done = 0; done < count; done += BATCH) {
    now += 1;
    market.fill(now, BATCH, out);
    sum += out[BATCH - 1].bid;
  }
  return sum;
});
