import fc from 'fast-check';
import { backoffDelay } from '../src/backoff';

describe('backoffDelay (exponential, full jitter)', () => {
  const options = { initialDelayMs: 500, maxDelayMs: 30000 };

  it('spans the whole window: 0 at the bottom, just under the cap at the top', () => {
    expect(backoffDelay(0, options, () => 0)).toBe(0);
    expect(backoffDelay(0, options, () => 0.999999)).toBe(499);
    expect(backoffDelay(3, options, () => 0.999999)).toBe(3999);
    expect(backoffDelay(3, options, () => 0.5)).toBe(2000);
  });

  it('caps the window at maxDelayMs, even for huge attempt numbers', () => {
    expect(backoffDelay(6, options, () => 0.999999)).toBe(29999);
    expect(backoffDelay(1000, options, () => 0.999999)).toBe(29999);
  });

  it('stays in [0, min(max, initial·2^attempt)) for any attempt and random draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 10000 }),
        fc.integer({ min: 1, max: 120000 }),
        (attempt, draw, initial, max) => {
          const delay = backoffDelay(attempt, { initialDelayMs: initial, maxDelayMs: max }, () => draw);
          const cap = Math.min(max, initial * 2 ** Math.min(attempt, 30));
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.max(cap, 1));
          expect(Number.isInteger(delay)).toBe(true);
        },
      ),
    );
  });

  it('draws different delays with the real random source (jitter)', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(5, options)));
    expect(delays.size).toBeGreaterThan(10);
    for (const delay of delays) expect(delay).toBeLessThan(16000);
  });
});
