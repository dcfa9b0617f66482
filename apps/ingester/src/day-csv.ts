import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createUniverse, Market } from '@tickhub/market-sim';
import type { Quote } from '@tickhub/protocol';

export interface DayCsvOptions {
  /** Start of the day (ms since the epoch); default: the last UTC midnight. */
  start?: number;
  /** Length of the recording; default one day. */
  durationMs?: number;
  /** Symbols of the simulated universe (its most active ones first). */
  symbols: number;
  /** Ticks per second over the universe. */
  ratePerSec: number;
  seed?: number;
}

const STEP_MS = 100;
const DAY_MS = 86_400_000;

function line(q: Quote): string {
  return `${q.symbol},${q.ts},${q.bid},${q.ask},${q.last},${q.lastSize},${q.bidSize},${q.askSize},${q.volume}\n`;
}

/**
 * Writes a recording of the simulated market in the replay format (REPLAY_FILE): a day of ticks that
 * a replay at full speed with recorded timestamps turns into a day of candles in seconds.
 * Resolves with the number of ticks written.
 */
export async function writeDayCsv(file: string, options: DayCsvOptions): Promise<number> {
  const start = options.start ?? Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const end = start + (options.durationMs ?? DAY_MS);
  const market = new Market({
    seed: options.seed ?? 1,
    symbols: createUniverse(options.symbols),
    startTime: start,
  });
  const out = createWriteStream(file);
  out.write('symbol,timestamp,bid,ask,last,size,bidSize,askSize,volume\n');
  const batch: Quote[] = [];
  let written = 0;
  for (let t = start; t < end; t += STEP_MS) {
    // Exactly ratePerSec per second on average, without a running float sum that drifts.
    const count = Math.floor(((t + STEP_MS - start) * options.ratePerSec) / 1000) - written;
    if (count === 0) continue;
    market.fill(t, count, batch);
    let text = '';
    for (const q of batch) text += line(q);
    written += count;
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return written;
}
