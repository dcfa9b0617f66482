import { Market, TickPacer } from '@tickhub/market-sim';
import { firstSeqAt, type Quote, type SymbolInfo } from '@tickhub/protocol';
import type { PartitionState, TickSource, TickSourceHandler } from './tick-source';

export interface SimTickSourceOptions {
  symbols: SymbolInfo[];
  seed: number;
  /** Source ticks per second over the whole universe. */
  ratePerSec: number;
  /** `seq` of each symbol's first tick; default: from the clock, so a restart never goes back. */
  firstSeq?: number;
  onError?: (error: unknown) => void;
}

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
