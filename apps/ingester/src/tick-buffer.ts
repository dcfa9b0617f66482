import type { Quote } from '@tickhub/protocol';

/** A tick waiting to be published: `n` source ticks folded into `quote`, stamped when the last one arrived. */
interface ConflatedTick {
  quote: Quote;
  n: number;
  producedAt: number;
}

/** What one drain hands to the producer, in publishing order. Reused between drains. */
export class TickBatch {
  quotes: Quote[] = [];
  /** Source ticks folded into each quote (1 = not folded). */
  folded: number[] = [];
  producedAt: number[] = [];

  get length(): number {
    return this.quotes.length;
  }

  clear(): void {
    this.quotes.length = 0;
    this.folded.length = 0;
    this.producedAt.length = 0;
  }
}

/**
 * The ingester's only queue between the tick source and Kafka, bounded whatever the outage length.
 *
 * Ticks are kept in arrival order in a ring of `capacity` slots. When the ring is full (Kafka slow or
 * down) further ticks go to a per-symbol conflation map where the latest tick of a symbol replaces the
 * pending one (latest state wins; the seq gap downstream shows what was folded). While that map holds
 * anything, new ticks keep going to it even if the ring has room again, so a symbol's ticks can never
 * overtake each other: everything in the ring is older than everything in the map, and drains empty the
 * ring first. Memory is therefore bounded by `capacity` plus the number of distinct symbols.
 *
 * The buffer keeps references to the quotes it is given: callers must not mutate them afterwards.
 */
export class ConflatingTickBuffer {
  private readonly ring: (Quote | undefined)[];
  private readonly stamps: Float64Array;
  private head = 0;
  private count = 0;
  private readonly conflated = new Map<string, ConflatedTick>();
  /** Source ticks replaced by a later tick of the same symbol before they could be published. */
  folded = 0;
  /** Source ticks accepted by `push`. */
  accepted = 0;
  /** The largest `size` seen, for checking the bound holds. */
  highWater = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.ring = new Array<Quote | undefined>(capacity).fill(undefined);
    this.stamps = new Float64Array(capacity);
  }

  /** Pending records (ring + one per conflated symbol). */
  get size(): number {
    return this.count + this.conflated.size;
  }

  /** Pending records that stand for more than one tick or wait behind a full ring. */
  get conflatedSymbols(): number {
    return this.conflated.size;
  }

  /** True while new ticks are kept in order without folding. */
  get hasRoom(): boolean {
    return this.conflated.size === 0 && this.count < this.capacity;
  }

  push(quote: Quote, producedAt: number): void {
    this.accepted++;
    if (this.conflated.size === 0 && this.count < this.capacity) {
      const slot = (this.head + this.count) % this.capacity;
      this.ring[slot] = quote;
      this.stamps[slot] = producedAt;
      this.count++;
    } else {
      const pending = this.conflated.get(quote.symbol);
      if (pending === undefined) {
        this.conflated.set(quote.symbol, { quote, n: 1, producedAt });
      } else {
        pending.quote = quote;
        pending.n++;
        pending.producedAt = producedAt;
        this.folded++;
      }
    }
    const size = this.count + this.conflated.size;
    if (size > this.highWater) this.highWater = size;
  }

  /** Moves up to `max` pending records into `out` (cleared first), oldest first. Returns how many. */
  drain(max: number, out: TickBatch): number {
    out.clear();
    while (out.quotes.length < max && this.count > 0) {
      const slot = this.head;
      out.quotes.push(this.ring[slot]!);
      out.folded.push(1);
      out.producedAt.push(this.stamps[slot]!);
      this.ring[slot] = undefined;
      this.head = (slot + 1) % this.capacity;
      this.count--;
    }
    if (this.count === 0) this.head = 0;
    if (out.quotes.length < max && this.conflated.size > 0) {
      for (const [symbol, pending] of this.conflated) {
        if (out.quotes.length >= max) break;
        out.quotes.push(pending.quote);
        out.folded.push(pending.n);
        out.producedAt.push(pending.producedAt);
        this.conflated.delete(symbol);
      }
    }
    return out.quotes.length;
  }
}
