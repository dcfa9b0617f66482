export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(maxDelayMs, initialDelayMs · 2^attempt)).
 * Full jitter spreads the reconnects of many dashboards dropped by one gateway restart over the whole window
 * instead of letting them return in waves.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = Math.min(attempt, 30);
  const cap = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** exp);
  return Math.floor(random() * cap);
}
