// The peer servers of the benchmark, each as small as its kind allows, all fed by the same simulated
// market as tickhub's embedded mode (same seed, rate and universe) and throttled per symbol to MAX_HZ.
//
//   PEER=socketio   Socket.IO, rooms per symbol, @socket.io/redis-adapter on REDIS_URL (in-memory
//                   adapter when REDIS_URL is unset); every throttle interval `io.to(symbol).emit`.
//   PEER=naive      ws: each update goes to each subscriber as its own frame, serialized per send.
//   PEER=preframed  ws: each update is serialized and framed once; the same bytes go to every
//                   subscriber (the practical floor for Node).
//
// Env: PEER, PORT (0 = any), SIM_RATE, SIM_SEED, SIM_SYMBOLS, MAX_HZ, REDIS_URL, REDIS_KEY.
// Logs {"msg":"listening","port":N} on stdout; GET /debug/memory answers process.memoryUsage().
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Market, TickPacer, createUniverse } = require('@tickhub/market-sim');

const peer = process.env.PEER ?? '';
const rate = Number(process.env.SIM_RATE ?? 2000);
const seed = Number(process.env.SIM_SEED ?? 42);
const symbolCount = Number(process.env.SIM_SYMBOLS ?? 500);
const maxHz = Number(process.env.MAX_HZ ?? 4);
if (!['socketio', 'naive', 'preframed'].includes(peer)) {
  console.error(`PEER must be socketio, naive or preframed, got ${JSON.stringify(peer)}`);
  process.exit(2);
}
for (const [name, v] of [
  ['SIM_RATE', rate],
  ['SIM_SEED', seed],
  ['SIM_SYMBOLS', symbolCount],
  ['MAX_HZ', maxHz],
]) {
  if (!Number.isFinite(v) || v < 0) {
    console.error(`${name} must be a number >= 0`);
    process.exit(2);
  }
}

const universe = createUniverse(symbolCount);
const known = new Set(universe.map((s) => s.symbol));
const market = new Market({ seed, symbols: universe });

const http = createServer((req, res) => {
  if (req.url === '/debug/memory') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(process.memoryUsage()));
    return;
  }
  res.statusCode = 404;
  res.end();
});

/** Latest quote per symbol since the last flush: the simple per-symbol throttle. */
const dirty = new Map();
let publish;

if (peer === 'socketio') {
  const { Server } = require('socket.io');
  const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
  if (process.env.REDIS_URL) {
    const { createAdapter } = require('@socket.io/redis-adapter');
    const Redis = require('ioredis');
    const pub = new Redis(process.env.REDIS_URL);
    const sub = pub.duplicate();
    io.adapter(createAdapter(pub, sub, { key: process.env.REDIS_KEY ?? `bench-${process.pid}` }));
  }
  io.on('connection', (socket) => {
    socket.on('subscribe', (symbols) => {
      if (!Array.isArray(symbols)) return;
      socket.join(symbols.filter((s) => typeof s === 'string' && known.has(s)));
    });
  });
  publish = (symbol, quote) => io.to(symbol).emit('tick', quote);
} else {
  const WebSocket = require('ws');
  const wss = new WebSocket.Server({ server: http, perMessageDeflate: false, clientTracking: false });
  /** @type {Map<string, Set<import('ws').WebSocket>>} */
  const rooms = new Map();
  wss.on('connection', (ws) => {
    const mine = [];
    ws.on('message', (data) => {
      let msg;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (msg?.type !== 'subscribe' || !Array.isArray(msg.symbols)) return;
      for (const s of msg.symbols) {
        if (typeof s !== 'string' || !known.has(s)) continue;
        let room = rooms.get(s);
        if (!room) {
          room = new Set();
          rooms.set(s, room);
        }
        room.add(ws);
        mine.push(s);
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      for (const s of mine) rooms.get(s)?.delete(ws);
    });
  });
  if (peer === 'naive') {
    publish = (symbol, quote) => {
      const room = rooms.get(symbol);
      if (!room) return;
      for (const ws of room) {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ticks', updates: [quote] }));
      }
    };
  } else {
    const frameOptions = { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false };
    publish = (symbol, quote) => {
      const room = rooms.get(symbol);
      if (!room || room.size === 0) return;
      const payload = Buffer.from(JSON.stringify({ type: 'ticks', updates: [quote] }));
      // One header + payload for everyone: the frame bytes are built once, as socket.io-adapter's
      // broadcast does with a pre-encoded WebSocket frame.
      const frame = Buffer.concat(WebSocket.Sender.frame(payload, frameOptions));
      for (const ws of room) {
        if (ws.readyState === WebSocket.OPEN) ws._sender.sendFrame([frame]);
      }
    };
  }
}

const pacer = new TickPacer({
  market,
  ratePerSec: rate,
  onTicks: (ticks) => {
    for (const q of ticks) dirty.set(q.symbol, q);
  },
  onError: (error) => console.error(String(error)),
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  pacer.start();
  setInterval(
    () => {
      if (dirty.size === 0) return;
      for (const [symbol, quote] of dirty) publish(symbol, quote);
      dirty.clear();
    },
    Math.max(1, Math.round(1000 / maxHz)),
  );
  console.log(JSON.stringify({ msg: 'listening', peer, port: http.address().port }));
});

const stop = () => {
  pacer.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
