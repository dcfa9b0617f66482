// Fan-out figure for embedded mode: N clients × S symbols at H Hz against a spawned gateway.
// Prints delivered updates/s and the gateway's CPU share. A measurement, not a test: no assertions.
// Usage: node bench/fanout.mjs [clients=1000] [symbolsPerClient=20] [hz=4] [seconds=15]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const here = dirname(fileURLToPath(import.meta.url));
const [clients = 1000, perClient = 20, hz = 4, seconds = 15] = process.argv.slice(2).map(Number);

const env = {
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  SIM_RATE: process.env.SIM_RATE ?? '2000',
};
delete env.KAFKA_BROKERS;
delete env.REDIS_URL;
env.LOG_LEVEL = 'info';
const gw = spawn(process.execPath, [join(here, '..', 'dist', 'main.js')], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise((resolve) => {
  let buf = '';
  gw.stdout.on('data', (d) => {
    buf += d;
    const m = /"msg":"listening"[^\n]*"port":(\d+)/.exec(buf);
    if (m) resolve(Number(m[1]));
  });
});
const symbols = (await (await fetch(`http://127.0.0.1:${port}/api/symbols`)).json())
  .map((s) => s.symbol)
  .slice(0, 100);

let updates = 0;
let frames = 0;
const sockets = [];
for (let i = 0; i < clients; i++) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  ws.on('message', (data) => {
    const s = data.toString();
    if (s.charCodeAt(9) !== 116) return; // only {"type":"ticks",...
    frames++;
    let at = s.indexOf('"n":');
    while (at >= 0) {
      updates++;
      at = s.indexOf('"n":', at + 4);
    }
  });
  ws.on('open', () => {
    const mine = [];
    for (let k = 0; k < perClient; k++) mine.push(symbols[(i * 7 + k * 13) % symbols.length]);
    ws.send(JSON.stringify({ type: 'subscribe', symbols: [...new Set(mine)], maxHz: hz }));
  });
  ws.on('error', () => undefined);
  sockets.push(ws);
  if (i % 100 === 99) await new Promise((r) => setTimeout(r, 50));
}
await new Promise((r) => setTimeout(r, 3000));

const cpu = () => {
  const f = readFileSync(`/proc/${gw.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in seconds (USER_HZ = 100)
};
// A scrape resets the event-loop delay histogram: the figure below covers the measured window only.
await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const u0 = updates;
const f0 = frames;
const c0 = cpu();
const t0 = Date.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const elapsed = (Date.now() - t0) / 1000;
const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const line = (name) =>
  metrics
    .split('\n')
    .find((l) => l.startsWith(name))
    ?.split(' ')
    .pop();
console.log(
  JSON.stringify({
    clients,
    symbolsPerClient: perClient,
    hz,
    seconds: elapsed,
    ceilingUpdatesPerSec: clients * perClient * hz,
    deliveredUpdatesPerSec: Math.round((updates - u0) / elapsed),
    framesPerSec: Math.round((frames - f0) / elapsed),
    gatewayCpuPercent: Math.round(((cpu() - c0) / elapsed) * 100),
    gatewayEncodes: Number(line('tickhub_gateway_update_encodes_total')),
    gatewayUpdatesSent: Number(line('tickhub_gateway_updates_sent_total')),
    eventLoopLagP99s: Number(line('tickhub_gateway_nodejs_eventloop_lag_p99_seconds')),
  }),
);
for (const ws of sockets) ws.terminate();
gw.kill('SIGTERM');
