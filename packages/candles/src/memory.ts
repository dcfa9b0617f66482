import { CANDLE_RETENTION, type Candle, TIMEFRAMES, type Timeframe } from '@tickhub/protocol';
import {
  type CandleStore,
  type CandleWrite,
  type LatestCandles,
  type StoredCandle,
  wireCandle,
} from './store';

/**
 * The in-memory twin of the candle store (embedded mode). Per symbol and timeframe a sorted array
 * holds up to twice the retention and is cut back to the retention in one splice, so trimming costs
 * O(1) per candle on average; reads never see more than the retention.
 */
export class MemoryCandleStore implements CandleStore {
  private readonly series = new Map<string, StoredCandle[]>();

  async write(batch: readonly CandleWrite[]): Promise<void> {
    for (const w of batch) this.upsert(w.symbol, w.tf, w.candle);
  }

  async query(symbol: string, tf: Timeframe, limit: number): Promise<Candle[]> {
    const list = this.series.get(key(symbol, tf));
    if (!list) return [];
    const count = Math.min(limit, CANDLE_RETENTION[tf], list.length);
    const out = new Array<Candle>(count);
    for (let i = 0, from = list.length - count; i < count; i++) out[i] = wireCandle(list[from + i]!);
    return out;
  }

  async latest(symbol: string): Promise<LatestCandles> {
    const out: LatestCandles = {};
    for (const tf of TIMEFRAMES) {
      const list = this.series.get(key(symbol, tf));
      const last = list?.[list.length - 1];
      if (last) out[tf] = { ...last };
    }
    return out;
  }

  /** Symbol-timeframe series held (for tests and metrics). */
  size(): number {
    return this.series.size;
  }

  private upsert(symbol: string, tf: Timeframe, candle: StoredCandle): void {
    const k = key(symbol, tf);
    let list = this.series.get(k);
    if (!list) {
      list = [];
      this.series.set(k, list);
    }
    const copy = { ...candle };
    const last = list[list.length - 1];
    if (!last || last.t < copy.t) {
      list.push(copy);
      const retention = CANDLE_RETENTION[tf];
      if (list.length >= 2 * retention) list.splice(0, list.length - retention);
      return;
    }
    // A candle at or before the newest one: replace its twin, or insert it in order.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.t < copy.t) lo = mid + 1;
      else hi = mid;
    }
    const at = list[lo];
    if (at && at.t === copy.t) {
      if (copy.s > at.s) list[lo] = copy;
      return;
    }
    // Older than everything the retention keeps: it would be trimmed at once.
    if (list.length >= CANDLE_RETENTION[tf] && lo < list.length - CANDLE_RETENTION[tf] + 1) return;
    list.splice(lo, 0, copy);
  }
}

function key(symbol: string, tf: Timeframe): string {
  return `${tf}\u0000${symbol}`;
}
