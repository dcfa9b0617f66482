/**
 * The `seq` a tick source gives each symbol's first tick when it starts at `startedAt` (ms since the
 * epoch): the start time in microseconds, plus one.
 *
 * Gateways drop a tick whose `seq` is not above the last one they stored for its symbol (docs/protocol.md
 * rule 4), and the backplane keeps that value across pods and restarts. A source that counted from 1
 * again after a restart would see its ticks dropped until it caught up with the previous run. Counting
 * from the clock keeps every run above the one before it unless a symbol averaged a million ticks a
 * second, or the clock went back by more than the previous run's lead; and it stays below 2^53 (exact
 * in JSON numbers and float64) until the year 2255.
 */
export function firstSeqAt(startedAt: number): number {
  if (!Number.isFinite(startedAt) || startedAt < 0) {
    throw new RangeError(`startedAt must be a time in ms since the epoch, got ${startedAt}`);
  }
  return Math.floor(startedAt) * 1000 + 1;
}
