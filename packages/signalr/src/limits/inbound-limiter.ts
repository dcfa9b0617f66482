import { TokenBucket } from './token-bucket';

/** What the inbound limit says of one request: take it, refuse it, or close the connection. */
export type InboundVerdict = 'accept' | 'refuse' | 'close';

export interface InboundLimit {
  /** Requests per second (a token bucket with a burst of the same size). */
  perSec: number;
  /** Refusals within one abuse episode after which the connection is closed. */
  maxRejections: number;
  /** How long an episode may last before the connection is closed, however few its refusals. */
  windowMs: number;
}

/**
 * The inbound limit of one connection, the same for `/ws` and the SignalR hubs: a token bucket, and
 * an abuse episode (refusals less than a second apart) that closes the connection when it grows too
 * long. A client that overshoots once gets refusals and goes on; one that keeps flooding is cut.
 */
export class InboundLimiter {
  private readonly bucket: TokenBucket;
  private episodeStartedAt = -1;
  private lastRefusedAt = -1;
  private refusals = 0;

  constructor(
    private readonly limit: InboundLimit,
    now: number,
  ) {
    this.bucket = new TokenBucket(limit.perSec, limit.perSec, now);
  }

  check(now: number): InboundVerdict {
    if (this.bucket.take(now)) return 'accept';
    if (this.episodeStartedAt < 0 || now - this.lastRefusedAt > 1000) {
      this.episodeStartedAt = now;
      this.refusals = 0;
    }
    this.refusals++;
    this.lastRefusedAt = now;
    if (this.refusals >= this.limit.maxRejections || now - this.episodeStartedAt >= this.limit.windowMs) {
      return 'close';
    }
    return 'refuse';
  }
}
