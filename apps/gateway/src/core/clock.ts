/** An opaque timer handle returned by a Clock. */
export type TimerHandle = { readonly __timer: true } | object;

/**
 * Time and timers for the tick path. The real clock reads wall time (protocol times are epoch ms);
 * the manual clock lets tests drive throttling deterministically.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Runs `fn` once the current turn of the event loop has finished its synchronous work and I/O. */
  defer(fn: () => void): void;
}

// Epoch-aligned but monotonic: a wall-clock step (NTP) must not stall or rush throttling deadlines.
const origin = performance.timeOrigin;

export const realClock: Clock = {
  now: () => Math.floor(origin + performance.now()),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    // Timers of the tick path must never keep a draining process alive.
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
  defer(fn) {
    setImmediate(fn);
  },
};

interface ManualTimer {
  at: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; deferred work runs when `runDeferred` or `advance` is called. */
export class ManualClock implements Clock {
  private time: number;
  private order = 0;
  private timers: ManualTimer[] = [];
  private deferred: Array<() => void> = [];
  /** Counts turns (a timer callback or a batch of deferred work), so tests can tell moments apart. */
  turn = 0;

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { at: this.time + Math.max(0, ms), order: this.order++, fn, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as ManualTimer).cancelled = true;
  }

  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  /** Runs deferred callbacks, including those they defer in turn. */
  runDeferred(): void {
    for (let guard = 0; this.deferred.length > 0; guard++) {
      if (guard > 1_000_000) throw new Error('deferred callbacks never settle');
      const batch = this.deferred;
      this.deferred = [];
      this.turn++;
      for (const fn of batch) fn();
    }
  }

  /** Moves time forward by `ms`, firing due timers in order, each followed by the deferred work it causes. */
  advance(ms: number): void {
    const target = this.time + ms;
    this.runDeferred();
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.cancelled || t.at > target) continue;
        if (!next || t.at < next.at || (t.at === next.at && t.order < next.order)) next = t;
      }
      if (!next) break;
      next.cancelled = true;
      this.time = Math.max(this.time, next.at);
      this.turn++;
      next.fn();
      this.runDeferred();
      this.timers = this.timers.filter((t) => !t.cancelled);
    }
    this.time = target;
    this.runDeferred();
  }

  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}
