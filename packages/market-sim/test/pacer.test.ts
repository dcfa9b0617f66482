import type { Quote } from '@tickhub/protocol';
import { Market, TickPacer } from '../src';

/** A clock the test moves by hand. */
class FakeClock {
  constructor(public t = 1_764_000_000_000) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

function setup(ratePerSec: number, extra: Partial<ConstructorParameters<typeof TickPacer>[0]> = {}) {
  const clock = new FakeClock();
  const batches: Quote[][] = [];
  const pacer = new TickPacer({
    market: new Market({ seed: 1 }),
    ratePerSec,
    now: clock.now,
    onTicks: (ticks) => batches.push(ticks),
    ...extra,
  });
  return { clock, batches, pacer };
}

describe('TickPacer', () => {
  it('emits the configured average rate, carrying fractions between batches', () => {
    const { clock, batches, pacer } = setup(1234);
    pacer.step();
    for (let i = 0; i < 1000; i++) {
      clock.advance(10);
      pacer.step();
    }
    // 10 s at 1234/s; the fraction carried over is less than one tick.
    expect(pacer.produced).toBe(12_340);
    expect(batches.reduce((s, b) => s + b.length, 0)).toBe(12_340);
    const sizes = new Set(batches.map((b) => b.length));
    expect([...sizes].sort()).toEqual([12, 13]);
  });

  it('handles rates below one tick per interval', () => {
    const { clock, pacer } = setup(7);
    pacer.step();
    for (let i = 0; i < 100; i++) {
      clock.advance(10);
      pacer.step();
    }
    expect(pacer.produced).toBe(7);
  });

  it('stamps ticks with the clock time', () => {
    const { clock, batches, pacer } = setup(1000);
    pacer.step();
    clock.advance(10);
    pacer.step();
    expect(batches[0]!.every((q) => q.ts === clock.t)).toBe(true);
  });

  it('bounds catch-up after a stall instead of sending a giant burst', () => {
    const { clock, batches, pacer } = setup(10_000, { intervalMs: 10, maxCatchUpMs: 50 });
    pacer.step();
    clock.advance(60_000);
    expect(pacer.step()).toBe(500);
    expect(batches[0]!.length).toBe(500);
    clock.advance(10);
    expect(pacer.step()).toBe(100);
  });

  it('ignores a clock that goes backwards', () => {
    const { clock, pacer } = setup(1000);
    pacer.step();
    clock.advance(-5000);
    expect(pacer.step()).toBe(0);
  });

  it('multiplies the rate by active bursts', () => {
    const bursts = [
      { multiplier: 10, durationMs: 1000, startMs: 1000 },
      { multiplier: 3, durationMs: 500, startMs: 1500 },
    ];
    const { clock, pacer } = setup(100, { bursts });
    expect(pacer.rateAt(0)).toBe(100);
    expect(pacer.rateAt(1000)).toBe(1000);
    expect(pacer.rateAt(1600)).toBe(3000);
    expect(pacer.rateAt(2000)).toBe(100);

    pacer.step();
    const producedIn = (ms: number): number => {
      const before = pacer.produced;
      for (let t = 0; t < ms; t += 10) {
        clock.advance(10);
        pacer.step();
      }
      return pacer.produced - before;
    };
    expect(producedIn(1000)).toBe(100);
    expect(producedIn(500)).toBe(500);
    expect(producedIn(500)).toBe(1500);
    expect(producedIn(1000)).toBe(100);
  });

  it('repeats periodic bursts', () => {
    const { clock, pacer } = setup(100, {
      bursts: [{ multiplier: 5, durationMs: 100, startMs: 0, everyMs: 1000 }],
    });
    pacer.step();
    for (let i = 0; i < 1000; i++) {
      clock.advance(10);
      pacer.step();
    }
    // Each second: 0.1 s at 500/s and 0.9 s at 100/s = 140 ticks.
    expect(Math.abs(pacer.produced - 1400)).toBeLessThanOrEqual(5);
  });

  it('pauses during a burst with multiplier 0', () => {
    const { clock, pacer } = setup(1000, { bursts: [{ multiplier: 0, durationMs: 1000, startMs: 0 }] });
    pacer.step();
    for (let i = 0; i < 99; i++) {
      clock.advance(10);
      pacer.step();
    }
    expect(pacer.produced).toBe(0);
  });

  it('runs on its own timer between start and stop', async () => {
    const batches: Quote[][] = [];
    const pacer = new TickPacer({
      market: new Market({ seed: 1 }),
      ratePerSec: 10_000,
      intervalMs: 5,
      onTicks: (ticks) => batches.push(ticks),
    });
    pacer.start();
    pacer.start();
    expect(pacer.running).toBe(true);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (pacer.produced >= 100) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    pacer.stop();
    expect(pacer.running).toBe(false);
    const produced = pacer.produced;
    await new Promise((r) => setTimeout(r, 30));
    expect(pacer.produced).toBe(produced);
    expect(batches.flat().length).toBe(produced);
  }, 30_000);

  it('reports errors of onTicks to onError and keeps going', () => {
    const errors: unknown[] = [];
    const clock = new FakeClock();
    const pacer = new TickPacer({
      market: new Market({ seed: 1 }),
      ratePerSec: 1000,
      now: clock.now,
      onTicks: () => {
        throw new Error('sink failed');
      },
      onError: (e) => errors.push(e),
    });
    pacer.step();
    clock.advance(10);
    pacer.step();
    clock.advance(10);
    pacer.step();
    expect(errors).toHaveLength(2);
    expect(pacer.produced).toBe(20);
  });

  it('stops and rethrows when onTicks fails without onError', () => {
    const clock = new FakeClock();
    const pacer = new TickPacer({
      market: new Market({ seed: 1 }),
      ratePerSec: 1000,
      now: clock.now,
      onTicks: () => {
        throw new Error('sink failed');
      },
    });
    pacer.start();
    clock.advance(10);
    expect(() => pacer.step()).toThrow('sink failed');
    expect(pacer.running).toBe(false);
  });

  it.each<[string, Partial<ConstructorParameters<typeof TickPacer>[0]>, RegExp]>([
    ['negative rate', { ratePerSec: -1 }, /ratePerSec/],
    ['NaN rate', { ratePerSec: Number.NaN }, /ratePerSec/],
    ['zero interval', { intervalMs: 0 }, /intervalMs/],
    ['catch-up shorter than an interval', { intervalMs: 10, maxCatchUpMs: 5 }, /maxCatchUpMs/],
    ['burst without duration', { bursts: [{ multiplier: 2, durationMs: 0, startMs: 0 }] }, /burst/],
  ])('rejects %s', (_name, extra, message) => {
    expect(() => setup(100, extra)).toThrow(message);
  });
});
