import { Market, TickPacer } from '@tickhub/market-sim';
import { firstSeqAt, type Quote, type QuoteUpdate, type SymbolInfo } from '@tickhub/protocol';
import type { PartitionState, TickSource, TickSourceHandler } from './tick-source';

export interface SimTickSourceOptions {
  symbols: SymbolInfo[];
  seed: number;
  /** Source ticks per second over the whole universe. */
  ratePerSec: number;
  /** `seq` of each symbol's first tick; default: from the clock, so a restart never goes back. */
  firstSeq?: number;
  /**
   * Simulated history run at full speed before live ticks, ending now (0 = none): the candle store is
   * full when the first client comes. Its ticks carry their simulated times.
   */
  warmupSeconds?: number;
  /**
   * Ticks per simulated second of the warm-up, over the whole universe. Below `ratePerSec` each warm-up
   * tick stands for the ticks the live market would have had (`n` and the traded volume are scaled), so
   * the history's candles carry as many ticks and as much volume as the live ones after them.
   */
  warmupRate?: number;
  onError?: (error: unknown) => void;
}

const WARMUP_STEP_MS = 100;
/** Ticks of warm-up between two yields to the event loop. */
const WARMUP_CHUNK_TICKS = 20_000;

/** The in-memory tick source of embedded mode: the simulated market, paced in-process. */
export class SimTickSource implements TickSource {
  readonly kind = 'simulator';
  private pacer: TickPacer | undefined;
  private connected = false;
  readonly market: Market;

  constructor(private readonly options: SimTickSourceOptions) {
    // With a Redis backplane the last seq of each symbol outlives this process: a restart that counted
    // from 1 again would have its ticks dropped as stale.
    this.market = new Market({
      seed: options.seed,
      symbols: options.symbols,
      firstSeq: options.firstSeq ?? firstSeqAt(Date.now()),
    });
  }

  async start(handler: TickSourceHandler): Promise<void> {
    if (this.pacer) throw new Error('tick source already started');
    await this.warmUp(handler);
    // The first quote of every symbol goes out at once, so snapshots exist from the start.
    const now = Date.now();
    const initial: Quote[] = [];
    for (const info of this.options.symbols) {
      const q = this.market.quote(info.symbol);
      if (q) initial.push(q.ts === 0 ? { ...q, ts: now } : q);
    }
    handler.onTicks(initial);
    this.pacer = new TickPacer({
      market: this.market,
      ratePerSec: this.options.ratePerSec,
      onTicks: (ticks: Quote[]) => handler.onTicks(ticks),
      onError: (error: unknown) => this.options.onError?.(error),
    });
    this.pacer.start();
    this.connected = true;
  }

  /** Ticks produced by the warm-up (0 before start or without one). */
  warmupTicks = 0;
  private warmedUp = false;

  /**
   * Runs the simulated market over the last `warmupSeconds` in steps of WARMUP_STEP_MS, yielding to
   * the event loop between chunks so that health checks are answered and candle writes go out.
   */
  private async warmUp(handler: TickSourceHandler): Promise<void> {
    const seconds = this.options.warmupSeconds ?? 0;
    const rate = this.options.warmupRate ?? 0;
    // Once per source: a start retried after a failure must not fold past ticks into live candles.
    if (seconds <= 0 || rate <= 0 || this.warmedUp) return;
    this.warmedUp = true;
    const end = Date.now();
    const start = end - seconds * 1000;
    const batch: Quote[] = [];
    const weight = Math.max(1, Math.round(this.options.ratePerSec / rate));
    let produced = 0;
    let sinceYield = 0;
    for (let t = start; t < end; t += WARMUP_STEP_MS) {
      // Exactly `rate` ticks per simulated second on average, without a running float sum that drifts.
      const count = Math.floor(((t + WARMUP_STEP_MS - start) * rate) / 1000) - produced;
      if (count <= 0) continue;
      this.market.fill(t, count, batch, weight);
      if (weight > 1) for (const q of batch) (q as QuoteUpdate).n = weight;
      handler.onTicks(batch);
      produced += count;
      this.warmupTicks = produced;
      sinceYield += count;
      if (sinceYield >= WARMUP_CHUNK_TICKS) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  async stop(): Promise<void> {
    this.connected = false;
    this.pacer?.stop();
    this.pacer = undefined;
  }

  problem(): string | undefined {
    return this.connected ? undefined : 'simulator not started';
  }

  lag(): number {
    return 0;
  }

  partitionStates(): ReadonlyArray<PartitionState> {
    return [];
  }
}
