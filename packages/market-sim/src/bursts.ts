/** A period during which the tick rate is multiplied, optionally repeating. */
export interface BurstProfile {
  /** Start, in ms after the pacer started. */
  startMs: number;
  durationMs: number;
  /** Rate multiplier while active (0 pauses the feed). */
  multiplier: number;
  /** When set, the burst repeats every `everyMs` from `startMs` on. */
  everyMs?: number;
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const NUMBER = String.raw`(\d+(?:\.\d+)?)`;
const DURATION = String.raw`(\d+(?:\.\d+)?)(ms|s|m|h)`;
const ENTRY = new RegExp(`^${NUMBER}x${DURATION}@${DURATION}(?:/${DURATION})?$`);
const FORMAT =
  '<multiplier>x<duration>@<start>[/<period>] with durations in ms, s, m or h, e.g. 10x30s@0s or 5x10s@60s/300s';

function toMs(value: string, unit: string): number {
  return Number(value) * UNIT_MS[unit]!;
}

/**
 * Parses a comma-separated list of bursts such as `10x30s@0s` (ten times the rate for 30 s from the start)
 * or `5x10s@60s/300s` (five times the rate for 10 s at 60 s, then every 300 s). An empty spec means no
 * bursts. Throws an Error naming the faulty entry.
 */
export function parseBurstProfile(spec: string): BurstProfile[] {
  if (typeof spec !== 'string') throw new TypeError('burst profile must be a string');
  const trimmed = spec.trim();
  if (trimmed === '') return [];
  const out: BurstProfile[] = [];
  for (const raw of trimmed.split(',')) {
    const text = raw.trim();
    const m = ENTRY.exec(text);
    if (m === null) throw new Error(`invalid burst "${text}": expected ${FORMAT}`);
    const multiplier = Number(m[1]);
    const durationMs = toMs(m[2]!, m[3]!);
    const startMs = toMs(m[4]!, m[5]!);
    if (durationMs <= 0) throw new Error(`invalid burst "${text}": duration must be greater than 0`);
    const burst: BurstProfile = { startMs, durationMs, multiplier };
    if (m[6] !== undefined) {
      const everyMs = toMs(m[6], m[7]!);
      if (everyMs < durationMs) {
        throw new Error(`invalid burst "${text}": period must be at least as long as the duration`);
      }
      burst.everyMs = everyMs;
    }
    out.push(burst);
  }
  return out;
}

/** Whether a burst is active `elapsedMs` after the start. */
export function isBurstActive(burst: BurstProfile, elapsedMs: number): boolean {
  const since = elapsedMs - burst.startMs;
  if (since < 0) return false;
  if (burst.everyMs === undefined) return since < burst.durationMs;
  return since % burst.everyMs < burst.durationMs;
}
