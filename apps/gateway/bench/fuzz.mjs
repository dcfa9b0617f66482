#!/usr/bin/env node
// Fuzzing and abuse run against live gateways (`node dist/main.js` through @tickhub/testkit, build first):
//   node bench/fuzz.mjs [--frames 100000] [--seed 1] [--json]
// Phases: generated hostile frames, subscribe/unsubscribe floods, connect/disconnect churn, and
// throughout them clients that stop reading (each must be closed by the gateway with 4009).
// Afterwards a normal client must be served on time and the heap must be back near its baseline.
// Every hostile client must end with a docs/protocol.md error or close code; closes the fuzzer starts
// itself (1000) are counted apart. Prints the counts; exits 1 when a check fails.
import { startGateway } from '@tickhub/testkit';
import { pack } from 'msgpackr';
import WebSocket from 'ws';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const FRAMES = opt('frames', 100_000);
const SEED = opt('seed', 1);
const JSON_OUT = args.includes('--json');
const PROTOCOL_CLOSES = new Set([1001, 1008, 1009, 1011, 4001, 4008, 4009]);
const PROTOCOL_ERRORS = new Set([
  'BAD_REQUEST',
  'UNKNOWN_TYPE',
  'UNKNOWN_SYMBOL',
  'FORBIDDEN',
  'TOO_MANY_SUBSCRIPTIONS',
  'RATE_LIMITED',
  'INTERNAL',
]);

// A small seeded generator (mulberry32): a failing run can be replayed with its seed.
let state = SEED >>> 0;
function rnd() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rnd() * n);
const pick = (a) => a[int(a.length)];
const randomBytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)));

const WEIRD_STRINGS = [
  '\ud800',
  '\udfff',
  '\u0000',
  '\u202e',
  '\u200b',
  '\ufeff',
  '💥',
  'A'.repeat(70),
  'ÄÖÜ',
  '𝔸𝔸𝔸𝕃',
  '',
  ' ',
  'AAPL\u0000',
  'aapl',
];
const WEIRD_VALUES = [
  null,
  true,
  0,
  -0,
  -1,
  1e308,
  -1e308,
  5e-324,
  2 ** 53 + 1,
  '1',
  [],
  {},
  [[[]]],
  { length: 1 },
  'AAPL',
];
const REQUESTS = ['subscribe', 'unsubscribe', 'ping', 'symbols'];

/** One hostile frame: `kind` names the family, for the counts. */
export function hostileFrame() {
  const kind = int(12);
  switch (kind) {
    case 0:
      return { kind: 'random-binary', data: randomBytes(1 + int(200)), binary: true };
    case 1:
      return { kind: 'random-text-bytes', data: randomBytes(1 + int(200)), binary: false };
    case 2: {
      const valid = JSON.stringify({ type: pick(REQUESTS), id: String(int(1e6)), symbols: ['AAPL', 'MSFT'] });
      return { kind: 'broken-json', data: valid.slice(0, int(valid.length)), binary: false };
    }
    case 3: {
      const open = pick(['[', '{"a":']);
      // Deep but within maxPayloadBytes (16 KiB), so that the parser sees it.
      const depth = 100 + int(Math.floor(15_000 / (open.length + 1)) - 100);
      const close = open === '[' ? ']' : '}';
      const body = open.repeat(depth) + (rnd() < 0.5 ? close.repeat(depth) : '');
      return { kind: 'deep-nesting', data: body, binary: false };
    }
    case 4: {
      const n = pick([
        '1e999',
        '-1e999',
        `1${'0'.repeat(400)}`,
        `0.${'0'.repeat(400)}1`,
        'NaN',
        'Infinity',
        '-0',
      ]);
      return {
        kind: 'huge-number',
        data: `{"type":"subscribe","id":"n","symbols":["AAPL"],"maxHz":${n}}`,
        binary: false,
      };
    }
    case 5: {
      const key = pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']);
      const forms = [
        `{"${key}":{"type":"subscribe","symbols":["AAPL"]}}`,
        `{"type":"subscribe","symbols":["${key}"],"id":"${key}"}`,
        `{"type":"${key}"}`,
        `{"type":"subscribe","${key}":{"maxHz":1000},"symbols":["AAPL"]}`,
        `{"constructor":{"prototype":{"polluted":1}},"type":"ping"}`,
      ];
      return { kind: 'prototype-keys', data: pick(forms), binary: false };
    }
    case 6: {
      const msg = { type: pick([...REQUESTS, ...WEIRD_VALUES]) };
      if (rnd() < 0.7) msg.symbols = pick(WEIRD_VALUES);
      if (rnd() < 0.5) msg.id = pick([...WEIRD_VALUES, 'x'.repeat(65)]);
      if (rnd() < 0.5) msg.maxHz = pick(WEIRD_VALUES);
      return { kind: 'wrong-types', data: JSON.stringify(msg), binary: false };
    }
    case 7: {
      const symbols = Array.from({ length: 1 + int(5) }, () => pick(WEIRD_STRINGS));
      return {
        kind: 'unicode',
        data: JSON.stringify({ type: pick(REQUESTS), id: pick(WEIRD_STRINGS).slice(0, 60), symbols }),
        binary: false,
      };
    }
    case 8:
      // MessagePack (binary) on the JSON protocol.
      return { kind: 'binary-on-text', data: pack({ type: 'subscribe', symbols: ['AAPL'] }), binary: true };
    case 9:
      return {
        kind: 'unknown-type',
        data: JSON.stringify({ type: `t${int(1e9)}`, id: String(int(100)) }),
        binary: false,
      };
    case 10: {
      const arr = Array.from({ length: 1 + int(150) }, () => pick(WEIRD_STRINGS.concat(['AAPL', 'MSFT'])));
      return {
        kind: 'many-symbols',
        data: JSON.stringify({ type: 'subscribe', symbols: arr }),
        binary: false,
      };
    }
    default:
      return {
        kind: 'json-scalars',
        data: pick(['null', '[]', '1', '"x"', 'true', '{}', '""', '[{}]']),
        binary: false,
      };
  }
}

const gateways = [];
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const g of gateways) g.proc.kill('SIGKILL');
    process.exit(1);
  });
}

/** A ready gateway (embedded mode, loopback, free port), remembered for the signal handler above. */
async function gateway(env) {
  const g = await startGateway(env);
  gateways.push(g);
  return g;
}

/** What the gateway wrote to stderr, and the uncaught errors and rejections it logged. */
function crashes(g) {
  return g.logs.filter((l) => l.startsWith('stderr: ') || l.includes('"uncaught') || l.includes('"unhandled'))
    .length;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A counter of the gateway's /metrics, summed over its labels (every series carries `gateway`). */
async function metricValue(port, name) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const l of text.split('\n')) {
    if (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) sum += Number(l.split(' ').pop());
  }
  return sum;
}

async function heapUsed(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('tickhub_gateway_nodejs_heap_size_used_bytes'));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

const stats = {
  framesTried: 0,
  framesByKind: {},
  errorsByCode: {},
  /** Closes the gateway started (or answered with its own code), by code. */
  gatewayClosesByCode: {},
  /** Closes the fuzzer started itself: 1000 after a lane's last frame, 1006 when it had to give up. */
  fuzzerClosesByCode: {},
  hostileClients: 0,
  hostileClientsAnswered: 0,
  nonProtocolAnswers: 0,
  connectChurn: 0,
  crashes: 0,
};
const bump = (map, key, n = 1) => {
  map[key] = (map[key] ?? 0) + n;
};

/** A hostile client: counts the error codes and the close code it gets. */
function hostile(url, protocols, options = {}) {
  stats.hostileClients++;
  const ws = new WebSocket(url, protocols, options);
  let answered = false;
  let closedByFuzzer = false;
  ws.on('error', () => undefined);
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    let msg;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (msg.type === 'error') {
      bump(stats.errorsByCode, msg.code);
      if (PROTOCOL_ERRORS.has(msg.code)) answered = true;
      else stats.nonProtocolAnswers++;
    }
  });
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`upgrade ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const closed = new Promise((resolve) =>
    ws.once('close', (code) => {
      // A gateway close that crossed the fuzzer's own keeps the gateway's code and counts as the gateway's.
      if (closedByFuzzer && !PROTOCOL_CLOSES.has(code)) bump(stats.fuzzerClosesByCode, code);
      else bump(stats.gatewayClosesByCode, code);
      if (PROTOCOL_CLOSES.has(code)) answered = true;
      resolve(code);
    }),
  );
  return {
    ws,
    opened,
    closed,
    answered: () => answered,
    close(code) {
      closedByFuzzer = true;
      ws.close(code);
    },
    terminate() {
      closedByFuzzer = true;
      ws.terminate();
    },
  };
}

/** Sends `count` hostile frames over `clients` parallel connections, opening a new one after each close. */
async function frameFuzz(url, count, parallel) {
  let left = count;
  const lane = async () => {
    while (left > 0) {
      const c = hostile(url);
      await c.opened;
      let open = true;
      c.closed.then(() => {
        open = false;
      });
      let sinceDrain = 0;
      while (open && left > 0) {
        left--;
        // One in 2,000 frames is over maxPayloadBytes: the gateway closes with 1009.
        const f =
          int(2000) === 0 ? { kind: 'oversized', data: 'x'.repeat(20_000), binary: false } : hostileFrame();
        if (c.ws.readyState !== WebSocket.OPEN) break;
        stats.framesTried++;
        bump(stats.framesByKind, f.kind);
        c.ws.send(f.data, { binary: f.binary });
        c.sent = (c.sent ?? 0) + 1;
        if (++sinceDrain >= 100) {
          sinceDrain = 0;
          // Let the answers flow, so that the client itself is not the one that stops reading.
          while (open && c.ws.bufferedAmount > 0) await sleep(1);
          await sleep(2);
        }
      }
      // Waits for the answers to what was sent before leaving.
      const until = Date.now() + 3000;
      while (open && !c.answered() && Date.now() < until) await sleep(10);
      await sleep(50);
      if (open) c.close(1000);
      const code = await c.closed;
      // Opened just as the other lanes sent the last frames: it sent nothing, so it was not hostile.
      if (c.sent === undefined) stats.hostileClients--;
      else if (!c.answered()) {
        stats.unanswered = (stats.unanswered ?? 0) + 1;
        stats.unansweredCloses ??= {};
        bump(stats.unansweredCloses, `${code}:${c.sent}`);
      } else stats.hostileClientsAnswered++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

/** Subscribe/unsubscribe as fast as possible, with the default inbound limit: RATE_LIMITED, then 4008. */
async function subscribeFlood(url, clients, framesEach) {
  await Promise.all(
    Array.from({ length: clients }, async (_, k) => {
      const c = hostile(url);
      await c.opened;
      for (let i = 0; i < framesEach && c.ws.readyState === WebSocket.OPEN; i++) {
        const type = i % 2 === 0 ? 'subscribe' : 'unsubscribe';
        c.ws.send(JSON.stringify({ type, id: `${k}-${i}`, symbols: ['AAPL', 'MSFT', 'EURUSD'] }));
        stats.framesTried++;
        bump(stats.framesByKind, 'subscribe-flood');
        if (i % 200 === 0) await sleep(1);
      }
      const code = await Promise.race([c.closed, sleep(15_000).then(() => undefined)]);
      if (code === undefined) c.terminate();
      if (c.answered()) stats.hostileClientsAnswered++;
      else stats.unanswered = (stats.unanswered ?? 0) + 1;
    }),
  );
}

/** Opens and drops connections `total` times, `parallel` at once. */
async function churn(url, total, parallel) {
  let left = total;
  const started = Date.now();
  const lane = async () => {
    while (left-- > 0) {
      await new Promise((resolve) => {
        const ws = new WebSocket(url);
        ws.on('error', () => resolve());
        ws.on('open', () => {
          stats.connectChurn++;
          ws.terminate();
          resolve();
        });
        ws.on('unexpected-response', () => resolve());
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return Math.round((stats.connectChurn / Math.max(1, Date.now() - started)) * 1000);
}

/**
 * Clients that subscribe to every symbol at the highest rate, take the big snapshot and the symbol
 * list, and stop reading. Started before the other phases so that the kernel buffers (several MB on
 * loopback) fill while they run; the gateway must pause each one above its high-water mark and close
 * it with 4009. A paused socket only sees the close frame once it reads again, so each reader resumes
 * once the gateway counts as many slow-consumer closes as there are readers (or the wait is over),
 * well before ws gives up on a close handshake (30 s) or the heartbeat ends a peer that never answered.
 */
async function startSlowReaders(url, port, count, symbols, waitMs) {
  const before = await metricValue(port, 'tickhub_gateway_slow_consumer_closes_total');
  const clients = [];
  for (let i = 0; i < count; i++) {
    const c = hostile(url);
    const welcome = new Promise((resolve) => {
      const onMessage = (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.type !== 'welcome') return;
        c.ws.off('message', onMessage);
        resolve(msg);
      };
      c.ws.on('message', onMessage);
    });
    await c.opened;
    const maxHz = (await welcome).limits.maxHz;
    c.ws.send(JSON.stringify({ type: 'subscribe', id: `slow-${i}`, symbols, maxHz }));
    c.ws.send(JSON.stringify({ type: 'symbols', id: `slow-${i}-list` }));
    c.ws._socket.pause();
    clients.push(c);
  }
  const closedByGateway = (async () => {
    const deadline = Date.now() + waitMs;
    let base = before;
    let seen = 0;
    let waiting = clients;
    while (waiting.length > 0) {
      while (Date.now() < deadline) {
        seen = (await metricValue(port, 'tickhub_gateway_slow_consumer_closes_total')) - base;
        if (seen >= waiting.length) break;
        await sleep(250);
      }
      for (const c of waiting) c.ws._socket.resume();
      if (Date.now() >= deadline) break;
      // Another connection's 4009 may have counted for a reader that is still open: that one stops
      // reading again until the gateway counts one more close.
      await Promise.race([Promise.all(waiting.map((c) => c.closed)), sleep(3000)]);
      waiting = waiting.filter((c) => c.ws.readyState !== WebSocket.CLOSED);
      for (const c of waiting) c.ws._socket.pause();
      base += seen;
    }
    return (await metricValue(port, 'tickhub_gateway_slow_consumer_closes_total')) - before;
  })();
  return { clients, closedByGateway };
}

/** Waits (bounded) for every slow reader's close; each must be the gateway's 4009. */
async function finishSlowReaders({ clients, closedByGateway }, waitMs) {
  const gatewayCloses = await closedByGateway;
  const codes = await Promise.all(clients.map((c) => Promise.race([c.closed, sleep(waitMs)])));
  stats.slowReaders = {
    count: clients.length,
    slowConsumerCloses: gatewayCloses,
    closedWith4009: 0,
    codes: {},
  };
  for (const [i, c] of clients.entries()) {
    bump(stats.slowReaders.codes, codes[i] ?? 'open');
    if (codes[i] === 4009) stats.slowReaders.closedWith4009++;
    if (c.answered()) stats.hostileClientsAnswered++;
    else stats.unanswered = (stats.unanswered ?? 0) + 1;
    if (codes[i] === undefined) c.terminate();
  }
}

/** A well-behaved client: welcome, subscribed and a snapshot within `timeoutMs`. */
async function normalClient(url, timeoutMs) {
  const started = Date.now();
  const ws = new WebSocket(url);
  ws.on('error', () => undefined);
  const seen = new Set();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`normal client not served within ${timeoutMs} ms`)),
      timeoutMs,
    );
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      seen.add(msg.type);
      if (msg.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', id: 'n', symbols: ['AAPL'] }));
      if (seen.has('subscribed') && seen.has('snapshot')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  ws.terminate();
  return Date.now() - started;
}

async function main() {
  const started = Date.now();
  const fuzzGw = await gateway({
    // Five times the default tick rate, so that the slow readers fill the kernel buffers within seconds.
    SIM_RATE: '10000',
    MAX_INBOUND_PER_SEC: '1000000',
    HIGH_WATER_MARK_BYTES: '65536',
    SLOW_CONSUMER_TIMEOUT_MS: '1500',
  });
  const floodGw = await gateway({ SIM_RATE: '500' });
  const result = { ok: false };
  try {
    const fuzzUrl = fuzzGw.ws;
    const floodUrl = floodGw.ws;
    await normalClient(fuzzUrl, 10_000);
    const baselineHeap = await heapUsed(fuzzGw.port);

    const phase = (name) =>
      process.stderr.write(`fuzz: ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    phase('slow readers start');
    const symbols = (await (await fetch(`http://127.0.0.1:${fuzzGw.port}/api/symbols`)).json()).map(
      (s) => s.symbol,
    );
    const slow = await startSlowReaders(fuzzUrl, fuzzGw.port, 4, symbols, 20_000);
    phase('frames');
    await frameFuzz(fuzzUrl, FRAMES, 8);
    phase('subscribe flood');
    await subscribeFlood(floodUrl, 10, 3000);
    phase('connect churn');
    const churnPerSec = await churn(fuzzUrl, Math.max(1000, Math.round(FRAMES / 20)), 50);
    phase('slow readers end');
    await finishSlowReaders(slow, 20_000);
    phase('normal client');

    const normalMs = Math.max(await normalClient(fuzzUrl, 5000), await normalClient(floodUrl, 5000));
    // The heap settles once the connections are gone and a collection ran.
    let heapAfter = await heapUsed(fuzzGw.port);
    const settle = Date.now() + 20_000;
    while (heapAfter > baselineHeap * 1.5 + 16 * 1024 * 1024 && Date.now() < settle) {
      await sleep(500);
      heapAfter = await heapUsed(fuzzGw.port);
    }
    for (const g of gateways) {
      if (g.proc.exitCode !== null) stats.crashes++;
      stats.crashes += crashes(g);
    }
    Object.assign(result, {
      ...stats,
      unanswered: stats.unanswered ?? 0,
      churnPerSec,
      normalClientMs: normalMs,
      heapBaselineMB: +(baselineHeap / 2 ** 20).toFixed(1),
      heapAfterMB: +(heapAfter / 2 ** 20).toFixed(1),
      seconds: +((Date.now() - started) / 1000).toFixed(1),
      seed: SEED,
    });
    const failures = [];
    if (stats.framesTried < FRAMES) failures.push('fewer frames than asked');
    if (result.crashes !== 0) failures.push('crashes');
    if (result.unanswered !== 0) failures.push('hostile clients without a protocol error or close code');
    if (stats.nonProtocolAnswers !== 0) failures.push('error codes outside docs/protocol.md');
    for (const code of Object.keys(stats.gatewayClosesByCode)) {
      if (!PROTOCOL_CLOSES.has(Number(code)))
        failures.push(`gateway close code ${code} outside docs/protocol.md`);
    }
    for (const code of Object.keys(stats.fuzzerClosesByCode)) {
      if (code !== '1000')
        failures.push(`the fuzzer had to end ${stats.fuzzerClosesByCode[code]} clients (${code})`);
    }
    if (stats.slowReaders.closedWith4009 !== stats.slowReaders.count)
      failures.push('slow readers not closed with 4009 by the gateway');
    if (heapAfter > baselineHeap * 1.5 + 16 * 1024 * 1024)
      failures.push('heap did not return near its baseline');
    result.failures = failures;
    result.ok = failures.length === 0;
  } catch (error) {
    result.failures = [String(error)];
  } finally {
    await Promise.all(gateways.map((g) => g.stop('SIGKILL')));
  }
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const { framesByKind, errorsByCode, gatewayClosesByCode, fuzzerClosesByCode, ...rest } = result;
    console.log('fuzz run', rest);
    console.log('frames by kind', framesByKind);
    console.log('errors by code', errorsByCode);
    console.log('closes by the gateway, by code', gatewayClosesByCode);
    console.log('closes by the fuzzer (its own, not hostile outcomes), by code', fuzzerClosesByCode);
  }
  process.exit(result.ok ? 0 : 1);
}

main();
