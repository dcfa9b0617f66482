import type { Quote } from '@tickhub/protocol';
import { type BurstProfile, isBurstActive } from './bursts';
import type { Market } from './market';

export interface PacerOptions {
  market: Market;
  /** Average ticks per second outside bursts. */
  ratePerSec: number;
  bursts?: BurstProfile[];
  /** Time between batches. Default 10 ms. */
  intervalMs?: number;
  /** Clock in ms; Date.now by default. */
  now?: () => number;
  /**
   * Longest stretch of time one batch makes up for after a stall of the event loop, in ms. Time beyond it
   * is dropped rather than sent as one giant burst. Default 5 × intervalMs.
   */
  maxCatchUpMs?: number;
  onTicks: (ticks: Quote[]) => void;
  /** Receives errors thrown by onTicks and the pacer goes on; without it the pacer stops and rethrows. */
  onError?: (error: unknown) => void;
}

export const DEFAULT_PACER_INTERVAL_MS = 10;

/**
 * Emits the market's ticks in batches every `intervalMs` so that the average rate is `ratePerSec` times
 * the multipliers of the bursts active at the moment. Fractions of a tick carry over to the next batch.
 */
export class TickPacer {
  private readonly market: Market;
  private readonly ratePerSec: number;
  private readonly bursts: readonly BurstProfile[];
  private readonly intervalMs: number;
  private readonly maxCatchUpMs: number;
  private readonly clock: () => number;
  private readonly onTicks: (ticks: Quote[]) => void;
  private readonly onError: ((error: unknown) => void) | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private startedAt = Number.NaN;
  private lastAt = Number.NaN;
  private carry = 0;
  private count = 0;

  constructor(o: PacerOptions) {
    if (!Number.isFinite(o.ratePerSec) || o.ratePerSec < 0) {
      throw new RangeError(`ratePerSec must be a finite number >= 0, got ${o.ratePerSec}`);
    }
    const intervalMs = o.intervalMs ?? DEFAULT_PACER_INTERVAL_MS;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new RangeError(`intervalMs must be a finite number > 0, got ${intervalMs}`);
    }
    const maxCatchUpMs = o.maxCatchUpMs ?? 5 * intervalMs;
    if (!Number.isFinite(maxCatchUpMs) || maxCatchUpMs < intervalMs) {
      throw new RangeError(`maxCatchUpMs must be a finite number >= intervalMs, got ${maxCatchUpMs}`);
    }
    for (const b of o.bursts ?? []) {
      if (!(b.durationMs > 0) || !(b.multiplier >= 0) || !Number.isFinite(b.startMs)) {
        throw new RangeError('each burst needs durationMs > 0, multiplier >= 0 and a finite startMs');
      }
    }
    this.market = o.market;
    this.ratePerSec = o.ratePerSec;
    this.bursts = [...(o.bursts ?? [])];
    this.intervalMs = intervalMs;
    this.maxCatchUpMs = maxCatchUpMs;
    this.clock = o.now ?? Date.now;
    this.onTicks = o.onTicks;
    this.onError = o.onError;
  }

  /** Ticks emitted so far. */
  get produced(): number {
    return this.count;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** The target rate (ticks per second) `elapsedMs` after start, bursts included. */
  rateAt(elapsedMs: number): number {
    let rate = this.ratePerSec;
    for (const burst of this.bursts) {
      if (isBurstActive(burst, elapsedMs)) rate *= burst.multiplier;
    }
    return rate;
  }

  start(): void {
    if (this.timer !== undefined) return;
    const now = this.clock();
    if (Number.isNaN(this.startedAt)) this.startedAt = now;
    // After a stop, time spent stopped is not made up for.
    this.lastAt = now;
    this.timer = setInterval(() => this.step(), this.intervalMs);
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Emits the ticks due since the previous step and returns how many. The timer calls it; tests with a
   * fake clock may call it directly.
   */
  step(): number {
    const now = this.clock();
    if (Number.isNaN(this.startedAt)) {
      this.startedAt = now;
      this.lastAt = now;
      return 0;
    }
    let span = now - this.lastAt;
    if (!(span > 0)) return 0;
    if (span > this.maxCatchUpMs) span = this.maxCatchUpMs;
    this.lastAt = now;

    // The rate at the start of the span applies to all of it, so a burst starts exactly on time.
    const due = (this.rateAt(now - span - this.startedAt) * span) / 1000 + this.carry;
    // The epsilon keeps rounding errors of the running carry from dropping a tick now and then.
    const n = Math.floor(due + 1e-9);
    this.carry = due - n;
    if (n === 0) return 0;

    const ticks: Quote[] = [];
    this.market.fill(now, n, ticks);
    this.count += n;
    try {
      this.onTicks(ticks);
    } catch (error) {
      if (this.onError === undefined) {
        this.stop();
        throw error;
      }
      this.onError(error);
    }
    return n;
  }
}
