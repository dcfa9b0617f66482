import type { Logger } from '@tickhub/log';
import { type BurstProfile, Market, TickPacer } from '@tickhub/market-sim';
import type { Quote } from '@tickhub/protocol';
import { errorText } from './error-text';
import type { TickSink, TickSource } from './source';

export interface SimOptions {
  seed: number;
  symbols: number;
  ratePerSec: number;
  bursts: BurstProfile[];
  intervalMs?: number;
  /** `seq` of each symbol's first tick; default 1. */
  firstSeq?: number;
}

/**
 * The simulated market, paced to the configured rate and burst profile. A live market cannot wait,
 * so when the buffer is full its ticks are folded per symbol rather than delayed.
 */
export class SimulatedMarketSource implements TickSource {
  readonly market: Market;
  private readonly pacer: TickPacer;
  private sink: TickSink | undefined;

  constructor(options: SimOptions, log: Logger) {
    this.market = new Market({
      seed: options.seed,
      symbols: options.symbols,
      firstSeq: options.firstSeq ?? 1,
    });
    this.pacer = new TickPacer({
      market: this.market,
      ratePerSec: options.ratePerSec,
      bursts: options.bursts,
      intervalMs: options.intervalMs ?? 5,
      onTicks: (ticks) => this.deliver(ticks),
      onError: (err) => log.error('tick delivery failed', { error: errorText(err) }),
    });
  }

  get produced(): number {
    return this.pacer.produced;
  }

  start(sink: TickSink): void {
    this.sink = sink;
    this.pacer.start();
  }

  async stop(): Promise<void> {
    this.pacer.stop();
  }

  private deliver(ticks: Quote[]): void {
    const sink = this.sink!;
    const now = Date.now();
    for (let i = 0; i < ticks.length; i++) sink.push(ticks[i]!, now);
    sink.flush();
  }
}
