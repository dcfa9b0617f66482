// What one Redis shard delivers as the backplane: pub/sub messages fanned out from symbol channels to
// subscribing pods, measured against the Redis at REDIS_URL (redis://127.0.0.1:6379 by default).
// Usage: node test/bench/redis-shard.mjs [--pods 8] [--channels 500] [--payload 160] [--seconds 6]
//          [--in-flight 512] [--out docs/benchmarks-redis-shard.json]
//
// On a small machine the clients (this process) are busier than Redis, so the raw rate says more about
// them than about the shard. The figure the capacity model takes is deliveries per second of Redis's own
// CPU (INFO cpu, main thread and I/O): what one shard delivers when its core is the limit.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const Redis = require('ioredis');
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const opts = {
  pods: 8,
  channels: 500,
  payload: 160,
  seconds: 6,
  inFlight: 512,
  out: join(root, 'docs', 'benchmarks-redis-shard.json'),
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  if (!(key in opts)) throw new Error(`unknown option ${argv[i]} (options: ${Object.keys(opts).join(', ')})`);
  opts[key] = typeof opts[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  if (typeof opts[key] === 'number' && !(opts[key] > 0))
    throw new Error(`${argv[i]} must be a positive number`);
}

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench-shard-${process.pid}:`;
const channels = Array.from({ length: opts.channels }, (_, i) => `${prefix}q:SYM${i}`);
const log = (msg) => process.stderr.write(`[redis-shard] ${msg}\n`);

/** Redis's own CPU-seconds so far (user + sys of every thread). */
async function redisCpuSeconds(client) {
  const info = await client.info('cpu');
  const field = (name) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
try {
  await admin.connect();
} catch (error) {
  log(`no Redis at ${url}: ${error?.message ?? error} (start one, or set REDIS_URL)`);
  process.exit(2);
}
const version = (await admin.info('server')).match(/^redis_version:(\S+)/m)?.[1] ?? 'unknown';

// One subscriber connection per pod, each subscribed to every symbol channel: the steady state of a
// pod whose connections ask for every symbol, which is what a busy pod reaches.
let delivered = 0;
const subscribers = [];
for (let p = 0; p < opts.pods; p++) {
  const sub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await sub.connect();
  await sub.subscribe(...channels);
  sub.on('messageBuffer', () => {
    delivered++;
  });
  subscribers.push(sub);
}
const publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
await publisher.connect();
const payload = Buffer.alloc(opts.payload, 0x61);

let published = 0;
let running = true;
let inFlight = 0;
let next = 0;
function pump() {
  while (running && inFlight < opts.inFlight) {
    inFlight++;
    publisher.publish(channels[next], payload).then(
      () => {
        inFlight--;
        published++;
        pump();
      },
      (error) => {
        running = false;
        log(`publish failed: ${error?.message ?? error}`);
      },
    );
    next = (next + 1) % channels.length;
  }
}

log(
  `Redis ${version} at ${url}: ${opts.pods} subscribing pods × ${opts.channels} channels, ${opts.payload}-byte messages, ${opts.seconds} s`,
);
// A second of warm-up, then the measured window.
pump();
await new Promise((r) => setTimeout(r, 1000));
const cpu0 = await redisCpuSeconds(admin);
const [d0, p0, t0] = [delivered, published, process.hrtime.bigint()];
const own0 = process.cpuUsage();
for (let s = 1; s <= opts.seconds; s++) {
  await new Promise((r) => setTimeout(r, 1000));
  log(`${s}/${opts.seconds} s: ${(delivered - d0).toLocaleString('en-US')} delivered`);
}
const cpu1 = await redisCpuSeconds(admin);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const own = process.cpuUsage(own0);
const d = delivered - d0;
const p = published - p0;
running = false;
while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
for (const sub of subscribers) sub.disconnect();
publisher.disconnect();
admin.disconnect();

const redisCpu = cpu1 - cpu0;
const result = {
  when: new Date().toISOString(),
  redis: version,
  options: { pods: opts.pods, channels: opts.channels, payloadBytes: opts.payload, seconds: opts.seconds },
  publishesPerSec: Math.round(p / seconds),
  deliveriesPerSec: Math.round(d / seconds),
  redisCpuCores: Number((redisCpu / seconds).toFixed(3)),
  clientCpuCores: Number(((own.user + own.system) / 1e6 / seconds).toFixed(3)),
  // The shard's capacity: deliveries (each a subscriber receiving one message) per Redis CPU-second.
  deliveriesPerRedisCpuSecond: Math.round(d / redisCpu),
  publishesPerRedisCpuSecond: Math.round(p / redisCpu),
};
writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
console.log(
  [
    `| Redis | pods | channels | message bytes | publishes/s | deliveries/s | Redis cores | deliveries per Redis CPU-s |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    `| ${version} | ${opts.pods} | ${opts.channels} | ${opts.payload} | ${result.publishesPerSec.toLocaleString('en-US')} | ${result.deliveriesPerSec.toLocaleString('en-US')} | ${result.redisCpuCores} | ${result.deliveriesPerRedisCpuSecond.toLocaleString('en-US')} |`,
  ].join('\n'),
);
log(`written to ${relative(root, opts.out)}; this process used ${result.clientCpuCores} cores`);
