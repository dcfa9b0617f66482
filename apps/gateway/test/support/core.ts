import type { Quote, QuoteUpdate, UpdateList } from '@tickhub/protocol';
import type { ManualClock } from '../../src/core/clock';
import type { SessionSink } from '../../src/core/edge-stage';
import { frameTicks, jsonUpdateEncoding, type UpdateEncoding } from '../../src/core/encodings';

/** A session sink that records what it is given; its buffered bytes are set by the test. */
export class RecordingSink implements SessionSink {
  readonly encoding: UpdateEncoding = jsonUpdateEncoding;
  readonly frames: Array<{ at: number; turn: number; updates: QuoteUpdate[] }> = [];
  readonly snapshots: Array<{ at: number; quote: Quote }> = [];
  /** Everything written, in order: a snapshot or a ticks entry, with the time it was written. */
  readonly events: Array<{ at: number; kind: 'snapshot' | 'tick'; symbol: string; seq: number; n: number }> =
    [];
  buffered = 0;
  closed: { code: number; reason: string } | undefined;

  constructor(private readonly clock: ManualClock) {}

  writeSnapshot(quote: Quote): void {
    const at = this.clock.now();
    this.snapshots.push({ at, quote });
    this.events.push({ at, kind: 'snapshot', symbol: quote.symbol, seq: quote.seq, n: 0 });
  }

  writeTicks(list: UpdateList): void {
    const at = this.clock.now();
    // Through the frame /ws writes, so that what is recorded is what a client would read.
    const { updates } = JSON.parse(frameTicks(this.encoding, list).toString('utf8')) as {
      updates: QuoteUpdate[];
    };
    this.frames.push({ at, turn: this.clock.turn, updates });
    for (const u of updates) this.events.push({ at, kind: 'tick', symbol: u.symbol, seq: u.seq, n: u.n });
  }

  bufferedBytes(): number {
    return this.buffered;
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }

  ticksOf(symbol: string): QuoteUpdate[] {
    return this.frames.flatMap((f) => f.updates.filter((u) => u.symbol === symbol));
  }
}

let ts = 1_700_000_000_000;

export function quote(symbol: string, seq: number, extra: Partial<Quote> = {}): Quote {
  ts += 1;
  return {
    symbol,
    seq,
    ts,
    bid: 100 + seq / 100,
    ask: 100.01 + seq / 100,
    bidSize: 100,
    askSize: 200,
    last: 100 + seq / 100,
    lastSize: 10,
    volume: seq * 10,
    open: 100,
    high: 101,
    low: 99,
    ...extra,
  };
}

/** Lets promise callbacks (backplane deliveries, snapshot reads) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
