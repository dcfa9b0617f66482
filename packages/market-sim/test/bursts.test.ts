import { isBurstActive, parseBurstProfile } from '../src';

describe('parseBurstProfile', () => {
  it.each<[string, unknown]>([
    ['', []],
    ['   ', []],
    ['10x30s@0s', [{ multiplier: 10, durationMs: 30_000, startMs: 0 }]],
    ['5x10s@60s/300s', [{ multiplier: 5, durationMs: 10_000, startMs: 60_000, everyMs: 300_000 }]],
    ['2.5x500ms@1.5s', [{ multiplier: 2.5, durationMs: 500, startMs: 1500 }]],
    ['0x1m@1h', [{ multiplier: 0, durationMs: 60_000, startMs: 3_600_000 }]],
    [
      '10x30s@0s, 5x10s@60s/300s',
      [
        { multiplier: 10, durationMs: 30_000, startMs: 0 },
        { multiplier: 5, durationMs: 10_000, startMs: 60_000, everyMs: 300_000 },
      ],
    ],
    ['3x10s@0s/10s', [{ multiplier: 3, durationMs: 10_000, startMs: 0, everyMs: 10_000 }]],
  ])('parses %p', (spec, expected) => {
    expect(parseBurstProfile(spec)).toEqual(expected);
  });

  it.each<[string, RegExp]>([
    ['10', /invalid burst "10"/],
    ['x30s@0s', /invalid burst/],
    ['10x30@0s', /invalid burst/],
    ['10x30s', /invalid burst/],
    ['10x30s@', /invalid burst/],
    ['10x30s@0s/', /invalid burst/],
    ['-1x30s@0s', /invalid burst/],
    ['10x30d@0s', /invalid burst/],
    ['10x0s@0s', /duration must be greater than 0/],
    ['10x30s@0s/10s', /period must be at least/],
    ['10x30s@0s,,5x1s@1s', /invalid burst ""/],
    ['1e3x1s@0s', /invalid burst/],
    ['10X30S@0S', /invalid burst/],
  ])('rejects %p', (spec, message) => {
    expect(() => parseBurstProfile(spec)).toThrow(message);
  });

  it('explains the expected format', () => {
    expect(() => parseBurstProfile('nonsense')).toThrow(/e\.g\. 10x30s@0s or 5x10s@60s\/300s/);
  });
});

describe('isBurstActive', () => {
  it('covers [start, start + duration) once', () => {
    const b = { multiplier: 10, durationMs: 30_000, startMs: 1000 };
    expect([0, 999, 1000, 30_999, 31_000, 1e9].map((t) => isBurstActive(b, t))).toEqual([
      false,
      false,
      true,
      true,
      false,
      false,
    ]);
  });

  it('repeats every period', () => {
    const b = { multiplier: 5, durationMs: 10_000, startMs: 60_000, everyMs: 300_000 };
    expect(
      [59_999, 60_000, 69_999, 70_000, 359_999, 360_000, 369_999, 370_000].map((t) => isBurstActive(b, t)),
    ).toEqual([false, true, true, false, false, true, true, false]);
  });
});
