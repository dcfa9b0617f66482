// Load-generator process of the benchmark: opens WebSocket (or Socket.IO) clients against one server,
// subscribes each to its symbols, counts updates and samples latency into an HDR histogram.
// It is driven by the orchestrator (run.mjs) over the child-process IPC channel; every command gets
// exactly one answer carrying the command's id.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { clientSymbols } from './workload.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const { io: ioClient } = require('socket.io-client');
const hdr = require('hdr-histogram-js');

/** Latency is recorded in microseconds, up to one minute. */
const newHistogram = () =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });

/** @type {{ close: () => void, slow: (on: boolean) => void, normal: boolean, index: number }[]} */
let clients = [];
let updates = 0;
let slowUpdates = 0;
let frames = 0;
let sampleEvery = 8;
let sampleCounter = 0;
let hist = newHistogram();
let slowHist = newHistogram();
let slowTimer;

// Sub-millisecond receipt time on the same clock as the servers' Date.now().
const nowMs = () => performance.timeOrigin + performance.now();

function record(ts, slow) {
  const us = Math.round((nowMs() - ts) * 1000);
  // Clock truncation of the integer ms `ts` can make a fresh update look up to 1 ms younger than 0.
  (slow ? slowHist : hist).recordValue(Math.max(1, us));
}

/** Counts the updates of a `ticks` text frame without parsing it; parses only the sampled frames. */
function onTextFrame(text, slow) {
  // {"type":"ticks",... : the 't' of "ticks" is the 10th character.
  if (text.charCodeAt(9) !== 116) return;
  let n = 0;
  let at = text.indexOf('"seq":');
  while (at >= 0) {
    n++;
    at = text.indexOf('"seq":', at + 6);
  }
  if (slow) slowUpdates += n;
  else updates += n;
  frames++;
  if (++sampleCounter >= sampleEvery) {
    sampleCounter = 0;
    const msg = JSON.parse(text);
    for (const u of msg.updates) record(u.ts, slow);
  }
}

function openWs(url, localAddress, symbols, hz, subscribeKind, extra) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
    const client = {
      normal: true,
      close: () => ws.terminate(),
      // The client stops reading its socket: the kernel buffers fill and the server sees backpressure.
      slow: (on) => {
        const socket = ws._socket;
        if (!socket) return;
        if (on) socket.pause();
        else socket.resume();
      },
    };
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      resolve(ok ? client : undefined);
    };
    ws.on('message', (data, isBinary) => {
      if (!isBinary) onTextFrame(data.toString(), !client.normal);
    });
    ws.on('open', () => {
      if (symbols.length > 0) {
        const msg =
          subscribeKind === 'tickhub'
            ? { type: 'subscribe', symbols, maxHz: hz, ...extra }
            : { type: 'subscribe', symbols };
        if (process.env.BENCH_DEBUG) console.error(JSON.stringify(msg));
        ws.send(JSON.stringify(msg));
      }
      finish(true);
    });
    ws.on('error', () => finish(false));
    ws.on('close', () => finish(false));
  });
}

function openSocketIo(url, localAddress, symbols) {
  return new Promise((resolve) => {
    const socket = ioClient(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      localAddress,
      timeout: 60_000,
    });
    const client = {
      normal: true,
      close: () => socket.disconnect(),
      slow: (on) => {
        const raw = socket.io.engine?.transport?.ws?._socket;
        if (!raw) return;
        if (on) raw.pause();
        else raw.resume();
      },
    };
    socket.on('tick', (q) => {
      if (client.normal) updates++;
      else slowUpdates++;
      frames++;
      if (++sampleCounter >= sampleEvery) {
        sampleCounter = 0;
        record(q.ts, !client.normal);
      }
    });
    socket.on('connect', () => {
      if (symbols.length > 0) socket.emit('subscribe', symbols);
      resolve(client);
    });
    socket.on('connect_error', () => resolve(undefined));
  });
}

async function connect(cmd) {
  const { kind, url, count, firstIndex, symbols, perClient, hz, localAddresses, concurrency } = cmd;
  // Fields a server variant adds to each subscribe (e.g. `leading`).
  const extra = cmd.subscribe ?? {};
  sampleEvery = cmd.sampleEvery ?? sampleEvery;
  let failed = 0;
  const before = clients.length;
  const pending = [];
  for (let j = 0; j < count; j++) {
    const i = firstIndex + j;
    const mine = clientSymbols(i, symbols, perClient);
    const localAddress = localAddresses[i % localAddresses.length];
    const p =
      kind === 'socketio'
        ? openSocketIo(url, localAddress, mine)
        : openWs(url, localAddress, mine, hz, kind === 'tickhub' ? 'tickhub' : 'peer', extra);
    pending.push(
      p.then((c) => {
        if (c) {
          c.index = i;
          clients.push(c);
        } else failed++;
      }),
    );
    if (pending.length >= concurrency) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  return { connected: clients.length - before, failed };
}

function reset() {
  updates = 0;
  slowUpdates = 0;
  frames = 0;
  hist = newHistogram();
  slowHist = newHistogram();
  return {};
}

function collect() {
  return {
    updates,
    slowUpdates,
    frames,
    histogram: hdr.encodeIntoCompressedBase64(hist),
    slowHistogram: hdr.encodeIntoCompressedBase64(slowHist),
  };
}

/** Marks every n-th client slow: it reads its socket only `readMs` out of every `periodMs`. */
function setSlow({ every, periodMs, readMs }) {
  clearInterval(slowTimer);
  const slow = [];
  // The global client index, so that one client in `every` is slow over all load generators together.
  clients.forEach((c) => {
    c.normal = every === 0 || c.index % every !== 0;
    if (!c.normal) slow.push(c);
  });
  if (slow.length === 0) return { slow: 0 };
  const cycle = () => {
    for (const c of slow) c.slow(false);
    setTimeout(() => {
      for (const c of slow) c.slow(true);
    }, readMs).unref();
  };
  for (const c of slow) c.slow(true);
  slowTimer = setInterval(cycle, periodMs);
  return { slow: slow.length };
}

function closeAll() {
  clearInterval(slowTimer);
  for (const c of clients) {
    c.slow(false);
    c.close();
  }
  clients = [];
  return {};
}

process.on('message', async (cmd) => {
  let answer;
  try {
    if (cmd.op === 'connect') answer = await connect(cmd);
    else if (cmd.op === 'reset') answer = reset();
    else if (cmd.op === 'collect') answer = collect();
    else if (cmd.op === 'slow') answer = setSlow(cmd);
    else if (cmd.op === 'close') answer = closeAll();
    else if (cmd.op === 'exit') {
      closeAll();
      process.send({ id: cmd.id });
      setTimeout(() => process.exit(0), 100);
      return;
    } else answer = { error: `unknown op ${cmd.op}` };
  } catch (error) {
    answer = { error: String(error?.stack ?? error) };
  }
  process.send({ id: cmd.id, ...answer });
});
process.on('disconnect', () => process.exit(0));
