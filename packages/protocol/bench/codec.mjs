// Operations per CPU-second of the hot-path encoders and decoders. Run after a build:
//   npm run build -w packages/protocol && npm run bench -w packages/protocol
// CPU time rather than wall time, so that other processes on a shared machine skew the figures less.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const p = require('../dist/index.js');

const ROUNDS = 200;

function update(i) {
  const bid = 100 + (i % 997) / 100;
  return {
    symbol: `S${i % 500}`,
    seq: 1_000_000 + i,
    ts: 1_764_000_000_000 + i,
    bid,
    ask: bid + 0.01,
    bidSize: 100 * (1 + (i % 30)),
    askSize: 100 * (1 + (i % 17)),
    last: bid,
    lastSize: 37,
    volume: 12_345_678 + i,
    open: 100.5,
    high: 110.25,
    low: 99.75,
    n: 1 + (i % 7),
  };
}

const updates = Array.from({ length: 1000 }, (_, i) => update(i));
const records = updates.map((u) => p.encodeTickRecord(u));
const requests = updates.map((u, i) => ({
  type: 'subscribe',
  id: String(i),
  symbols: [u.symbol, 'MSFT'],
  maxHz: 4,
}));
const jsonFrames = requests.map((r) => JSON.stringify(r));
const msgpackFrames = requests.map((r) => p.msgpackCodec.encode(r));
const jsonParts = updates.slice(0, 20).map(p.encodeUpdateJson);
const msgpackParts = updates.slice(0, 20).map(p.encodeUpdateMsgpack);

function measure(name, items, body) {
  let best = 0;
  for (let r = 0; r < 5; r++) {
    const start = process.cpuUsage();
    for (let k = 0; k < ROUNDS; k++) for (let i = 0; i < items.length; i++) body(items[i]);
    const used = process.cpuUsage(start);
    best = Math.max(best, (items.length * ROUNDS) / ((used.user + used.system) / 1e6));
  }
  console.log(`${name.padEnd(28)} ${Math.round(best).toLocaleString('en-US').padStart(12)} /s`);
}

measure('encodeTickRecord', updates, p.encodeTickRecord);
measure('decodeTickRecord', records, p.decodeTickRecord);
measure('encodeUpdateJson', updates, p.encodeUpdateJson);
measure('encodeUpdateMsgpack', updates, p.encodeUpdateMsgpack);
measure('msgpackr pack (reference)', updates, (u) => p.msgpackCodec.encode(u));
measure('frameTicksJson (20 parts)', [jsonParts], p.frameTicksJson);
measure('frameTicksMsgpack (20 parts)', [msgpackParts], p.frameTicksMsgpack);
measure('decodeClientFrame json', jsonFrames, (f) => p.decodeClientFrame(f, p.jsonCodec));
measure('decodeClientFrame msgpack', msgpackFrames, (f) => p.decodeClientFrame(f, p.msgpackCodec));
