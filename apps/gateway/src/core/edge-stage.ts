import type { Backplane } from '@tickhub/backplane';
import {
  CloseCode,
  decodeTickRecord,
  type ErrorCode,
  type Limits,
  type Quote,
  type QuoteUpdate,
  type SnapshotMessage,
  type UpdateList,
} from '@tickhub/protocol';
import type { Clock } from './clock';
import { ENCODING_COUNT, type UpdateEncoding } from './encodings';
import { type Entitlements, symbolMatcher } from './entitlements';
import { Stack } from './stack';
import { TimerWheel, type WheelEntry } from './timer-wheel';

// ------------------------------------------------------------------ the session API (transport-neutral)

/**
 * One client connection as the edge stage sees it. Transports (native /ws, SignalR hubs) implement it.
 * Every method is called from the tick path: keep them cheap and never throw.
 */
export interface SessionSink {
  /** Sinks sharing an encoding object share the encoded bodies of updates. */
  readonly encoding: UpdateEncoding;
  /** Writes one snapshot (a full quote, no `n`). */
  writeSnapshot(quote: Quote): void;
  /**
   * Writes one `ticks` frame of the list's entries, in order. The list and its arrays are reused once
   * the call returns: write them out (e.g. with `frameTicks`), never keep them.
   */
  writeTicks(list: UpdateList): void;
  /** Bytes written but not yet handed to the network (the slow-consumer guard watches this). */
  bufferedBytes(): number;
  /** Closes the connection with a close code (4009 for a slow consumer). */
  close(code: number, reason: string): void;
}

export interface SessionOptions {
  limits: Limits;
  entitlements?: Entitlements;
}

export interface SubscribeError {
  code: ErrorCode;
  message: string;
  symbols?: string[];
}

export interface SubscribeResult {
  /** Symbols now subscribed at `maxHz` (in request order, without duplicates). */
  accepted: string[];
  maxHz: number;
  /** At most one error per code; `symbols` lists what that error refused. */
  errors: SubscribeError[];
}

export interface FeedSession {
  /** The limits of this connection: the gateway's, narrowed by its entitlements. Announce these. */
  readonly limits: Readonly<Limits>;
  /**
   * Subscribes (or changes the rate of) symbols. Validation is synchronous; a snapshot of each accepted
   * symbol that has a price is written to the sink afterwards, never from inside this call, so the
   * caller can answer "subscribed" first. `leading: false` puts these symbols on the connection's
   * grid for their rate instead of giving each its own leading edge (see `Pair.leading`); omitted,
   * the leading edge of docs/protocol.md rule 2 applies.
   */
  subscribe(symbols: readonly string[], maxHz?: number, leading?: boolean): SubscribeResult;
  /** Unsubscribes; returns the requested symbols without duplicates (none of them is subscribed after). */
  unsubscribe(symbols: readonly string[]): string[];
  /** Symbols currently subscribed. */
  subscriptions(): string[];
  /**
   * Tells the slow-consumer guard that the transport wrote something else (e.g. an answer to a
   * request): above the high-water mark the session is paused and the 4009 timer runs, even for a
   * session whose updates alone never filled the buffer.
   */
  checkBackpressure(): void;
  /**
   * True while the connection is above the high-water mark: the slow-consumer guard owns it (conflation,
   * then 4009), and the transport's liveness check leaves it alone, its ping waiting behind the backlog.
   */
  readonly paused: boolean;
  /** Ends the session (the transport closes the connection itself). Idempotent. */
  close(): void;
}

// ------------------------------------------------------------------ internal state

class SymbolEntry {
  latest: QuoteUpdate | undefined = undefined;
  /**
   * Source ticks folded into all the updates accepted so far, and their count: what a pair sends is
   * always `latest`, and its `n` is how much `ticks` grew since its previous update. So an update costs
   * nothing per subscriber that is already due to send, however fast the symbol ticks.
   */
  ticks = 0;
  updates = 0;
  /** The encoded bodies of `bodiesOf` (the latest update sent), per encoding index. */
  bodiesOf: QuoteUpdate | undefined = undefined;
  readonly bodies: Array<Uint8Array | undefined> = new Array(ENCODING_COUNT).fill(undefined);
  /** Pairs with nothing to send and no timer: the next update wakes them. */
  readonly idle = new Stack<Pair>();
  /** Pairs in `idle` that were removed since (skipped, and compacted away past a bound). */
  idleGone = 0;
  readonly pairs = new Set<Pair>();
  ready: Promise<void> = Promise.resolve();
  readyDone = false;
  constructor(readonly symbol: string) {}
}

/**
 * How much later than its interval's end a trailing edge may go out to share a frame (and a tenth of
 * the interval at most, so 10 ms at 10 Hz, 25 ms at 4 Hz): with the leading edge, a dashboard's 40
 * symbols at 4 Hz went out in about 11 trailing frames per interval at 10 ms, about 9 at 25 ms.
 */
export const DEFAULT_COALESCE_MS = 25;
/** A trailing edge waits at most this fraction of its interval to share a frame. */
const MAX_COALESCE_FRACTION = 0.1;
/** Slots remembered per connection; distinct phases beyond it are simply not joined. */
const MAX_UPCOMING_SLOTS = 16;
/**
 * Grids without pairs a connection keeps (so that a rate it comes back to keeps its origin): a client
 * may ask for any number of rates. Grids with pairs are always kept.
 */
const MAX_GRIDS_PER_CONNECTION = 16;

/**
 * A grid point within this fraction of a step of a deadline counts as reached: a rounding error in
 * `lastSentAt + intervalMs` must not push an update a whole interval later.
 */
const GRID_EPSILON = 1e-9;

/** State of one (connection, symbol) subscription. Constant size whatever the tick rate. */
class Pair implements WheelEntry {
  dueSlot = -1;
  /**
   * When the last update went out. For a grid pair, the grid time it was sent for (not the moment
   * the timer fired), so that a late timer never moves the pair off its connection's grid.
   */
  lastSentAt = Number.NEGATIVE_INFINITY;
  /** Grid pairs: the grid time of the point the pair goes out at (or went out at, once sent). */
  dueAt = 0;
  /**
   * True: docs/protocol.md rule 2, an update after a quiet interval goes out at once, and the pair's
   * trailing edges follow from there (each pair on its own phase). False: the pair goes out only at
   * the points of its connection's grid for its rate (`grid.origin + k × grid.step`), so every symbol
   * of that connection and rate that has something new shares one frame per interval; a tick on a
   * quiet symbol waits for the next grid point, at most one interval.
   */
  leading = true;
  /** Grid pairs: the grid they belong to, and their place in its list. */
  grid: Grid | undefined = undefined;
  gridIndex = -1;
  lastSentSeq = -1;
  /** `entry.ticks` and `entry.updates` when this pair last sent (or was snapshotted). */
  ticksBase = 0;
  updatesBase = 0;
  /** In `entry.idle`. */
  idle = false;
  queued = false;
  active = true;
  awaitingSnapshot = true;
  /** A snapshot was due while the connection was paused: write it on resume. */
  needsSnapshot = false;
  snapshotRequest = 0;
  constructor(
    readonly session: Session,
    readonly entry: SymbolEntry,
    public intervalMs: number,
  ) {}
}

/**
 * The clock of one connection at one rate, for its grid pairs (`leading: false`): one timer entry that
 * fires at every point of the grid and sends each of its pairs that has something new. A tick on such
 * a symbol costs nothing per subscriber, and the pairs need no timer of their own.
 */
class Grid implements WheelEntry {
  dueSlot = -1;
  /** The grid time of the point it is scheduled for. */
  dueAt = 0;
  readonly pairs: Pair[] = [];
  constructor(
    readonly session: Session,
    readonly intervalMs: number,
    /**
     * A moment of this connection's own (its first grid pair's subscribe at that rate), so that
     * different connections' frames spread over the interval.
     */
    readonly origin: number,
    /** The interval rounded up to whole slots: every point falls on a slot boundary. */
    readonly step: number,
  ) {}
}

class Session implements FeedSession {
  readonly pairs = new Map<string, Pair>();
  /** This connection's grids, per interval (ms). */
  readonly grids = new Map<number, Grid>();
  /**
   * Wheel slots this connection's trailing edges were recently scheduled in (a short list, pruned as
   * they pass): a trailing edge due a little before one of them waits for it and shares its frame.
   */
  upcomingSlots: number[] = [];
  readonly outbox = new Stack<Pair>();
  inFlushQueue = false;
  paused = false;
  overSince = 0;
  closed = false;
  readonly allowed: (symbol: string) => boolean;

  constructor(
    readonly edge: EdgeStage,
    readonly sink: SessionSink,
    readonly limits: Readonly<Limits>,
    entitlements: Entitlements | undefined,
  ) {
    this.allowed = symbolMatcher(entitlements?.symbols);
  }

  subscribe(symbols: readonly string[], maxHz?: number, leading?: boolean): SubscribeResult {
    return this.edge.subscribe(this, symbols, maxHz, leading);
  }

  unsubscribe(symbols: readonly string[]): string[] {
    return this.edge.unsubscribe(this, symbols);
  }

  subscriptions(): string[] {
    return [...this.pairs.keys()];
  }

  checkBackpressure(): void {
    this.edge.checkBackpressure(this);
  }

  close(): void {
    this.edge.closeSession(this);
  }
}

export interface EdgeStageOptions {
  backplane: Backplane;
  clock: Clock;
  /** True for symbols clients may subscribe to (the symbol universe). */
  isKnownSymbol: (symbol: string) => boolean;
  /**
   * Also given every update the backplane delivers, before the edge looks at it: the source stages
   * watch what the other owner of their partitions published (SourceStage.observe).
   */
  observeUpdate?: (symbol: string, payload: Uint8Array) => void;
  /** Unsent bytes above which a connection is paused (default 1 MiB). */
  highWaterMarkBytes?: number;
  /** How long a connection may stay above the mark before it is closed with 4009 (default 10 s). */
  slowConsumerTimeoutMs?: number;
  /** Slot of the timer wheel; trailing deadlines are rounded up to it (default 5 ms). */
  slotMs?: number;
  /**
   * How much later than its interval's end a trailing edge may go out to share the frame of another
   * trailing edge of the same connection: at most this (default 25 ms) and a tenth of the interval.
   * Joined pairs stay in step while their symbols keep ticking, so a connection's busy symbols end up
   * in a few frames per interval instead of one frame each. 0 turns it off.
   */
  coalesceMs?: number;
  /** How often paused connections are checked (default 50 ms). */
  guardIntervalMs?: number;
  onError?: (error: unknown, context: string) => void;
}

export interface EdgeStageCounters {
  updatesIn: number;
  updatesStale: number;
  decodeErrors: number;
  framesSent: number;
  updatesSent: number;
  snapshotsSent: number;
  encodes: number;
  conflated: number;
  pauses: number;
  slowConsumerCloses: number;
  /** Last-value reads that failed (backplane down); snapshots came from local state or were skipped. */
  snapshotReadFailures: number;
}

/** The fields of a quote in protocol order, and nothing else (an update's `n` is dropped). */
export function quoteFields(q: Quote): Quote {
  return {
    symbol: q.symbol,
    seq: q.seq,
    ts: q.ts,
    bid: q.bid,
    ask: q.ask,
    bidSize: q.bidSize,
    askSize: q.askSize,
    last: q.last,
    lastSize: q.lastSize,
    volume: q.volume,
    open: q.open,
    high: q.high,
    low: q.low,
  };
}

/** The snapshot frame of a quote: its fields in protocol order, without `n`. */
export function snapshotMessage(q: Quote): SnapshotMessage {
  return { type: 'snapshot', ...quoteFields(q) };
}

/**
 * The edge stage: receives symbol updates from the backplane for the symbols local connections want,
 * and delivers them to every subscribed connection through one scheduler.
 *
 * Throttling per (connection, symbol), docs/protocol.md rules 1–6: leading edge at once (gathered per
 * connection and flushed at the end of the current turn), trailing edge on a shared timer wheel with the
 * latest state and the summed `n`, one `ticks` frame per connection per moment, updates encoded once per
 * flush per encoding, and a slow-consumer guard that pauses a connection above the high-water mark,
 * resumes it when drained and closes it with 4009 when it stays above for too long.
 */
export class EdgeStage {
  private readonly entries = new Map<string, SymbolEntry>();
  private readonly sessions = new Set<Session>();
  private readonly wheel: TimerWheel<Pair | Grid>;
  private flushQueue = new Stack<Session>();
  private flushScheduled = false;
  private readonly paused = new Set<Session>();
  private guardTimer: unknown;
  /** The entries of the frame being built, reused from one frame to the next. */
  private readonly frame: { bodies: Uint8Array[]; ns: number[]; count: number } = {
    bodies: [],
    ns: [],
    count: 0,
  };
  private spareFlushQueue = new Stack<Session>();
  private readonly hwm: number;
  private readonly slowTimeoutMs: number;
  private readonly guardIntervalMs: number;
  private readonly coalesceMs: number;
  private subscriptionCount = 0;
  /** Entries created by the subscribe in progress, loaded together at its end. */
  private newEntries: SymbolEntry[] = [];
  /**
   * Receives (now − tick ts) in ms of the first update written in each flush (ticks frames only,
   * snapshots excluded). Sampled once per flush so the hot path pays no metrics call per update.
   */
  onLatencySample: ((latencyMs: number) => void) | undefined = undefined;
  private latencySampleDue = false;
  readonly counters: EdgeStageCounters = {
    updatesIn: 0,
    updatesStale: 0,
    decodeErrors: 0,
    framesSent: 0,
    updatesSent: 0,
    snapshotsSent: 0,
    encodes: 0,
    conflated: 0,
    pauses: 0,
    slowConsumerCloses: 0,
    snapshotReadFailures: 0,
  };

  constructor(private readonly options: EdgeStageOptions) {
    this.hwm = options.highWaterMarkBytes ?? 1024 * 1024;
    this.slowTimeoutMs = options.slowConsumerTimeoutMs ?? 10_000;
    this.guardIntervalMs = options.guardIntervalMs ?? 50;
    this.coalesceMs = options.coalesceMs ?? DEFAULT_COALESCE_MS;
    this.wheel = new TimerWheel<Pair | Grid>(options.clock, options.slotMs ?? 5, this.onDue);
    options.backplane.onUpdate((symbol, payload) => this.onUpdate(symbol, payload));
  }

  openSession(sink: SessionSink, options: SessionOptions): FeedSession {
    const limits = effectiveLimits(options.limits, options.entitlements);
    const session = new Session(this, sink, limits, options.entitlements);
    this.sessions.add(session);
    return session;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  subscriptionTotal(): number {
    return this.subscriptionCount;
  }

  /** Local subscriber count per symbol (for presence reports). */
  subscriberCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [symbol, entry] of this.entries) out[symbol] = entry.pairs.size;
    return out;
  }

  /** The latest state known locally (only for symbols with local subscribers). */
  latest(symbol: string): QuoteUpdate | undefined {
    return this.entries.get(symbol)?.latest;
  }

  pausedCount(): number {
    return this.paused.size;
  }

  stop(): void {
    for (const s of [...this.sessions]) this.closeSession(s);
    this.wheel.stop();
    if (this.guardTimer !== undefined) this.options.clock.clearTimeout(this.guardTimer as object);
    this.guardTimer = undefined;
  }

  // ---------------------------------------------------------------- subscriptions

  /** @internal */
  subscribe(session: Session, symbols: readonly string[], maxHz?: number, leading = true): SubscribeResult {
    const { limits } = session;
    const hz = maxHz ?? limits.defaultHz;
    if (session.closed) {
      return { accepted: [], maxHz: hz, errors: [{ code: 'BAD_REQUEST', message: 'session is closed' }] };
    }
    if (!(typeof hz === 'number' && hz >= limits.minHz && hz <= limits.maxHz)) {
      return {
        accepted: [],
        maxHz: hz,
        errors: [{ code: 'BAD_REQUEST', message: `maxHz must lie in [${limits.minHz}, ${limits.maxHz}]` }],
      };
    }
    const intervalMs = 1000 / hz;
    const accepted: string[] = [];
    const unknown: string[] = [];
    const forbidden: string[] = [];
    const tooMany: string[] = [];
    const seen = new Set<string>();
    const touched: Pair[] = [];
    const now = this.options.clock.now();
    try {
      for (const symbol of symbols) {
        if (seen.has(symbol)) continue;
        seen.add(symbol);
        if (!this.options.isKnownSymbol(symbol)) {
          unknown.push(symbol);
          continue;
        }
        if (!session.allowed(symbol)) {
          forbidden.push(symbol);
          continue;
        }
        let pair = session.pairs.get(symbol);
        if (pair) {
          this.changeRate(pair, intervalMs, leading, now);
        } else {
          if (session.pairs.size >= limits.maxSubscriptions) {
            tooMany.push(symbol);
            continue;
          }
          pair = this.addPair(session, symbol, intervalMs);
          this.setMode(pair, leading, now);
        }
        pair.awaitingSnapshot = true;
        pair.snapshotRequest++;
        accepted.push(symbol);
        touched.push(pair);
      }
    } finally {
      // Also after an unexpected failure: created entries never stay without interest, and
      // subscriptions already made never wait for a snapshot that does not come.
      this.loadNewEntries();
      if (touched.length > 0) this.deliverSnapshots(touched);
    }
    const errors: SubscribeError[] = [];
    if (unknown.length > 0) {
      errors.push({ code: 'UNKNOWN_SYMBOL', message: 'unknown symbols', symbols: unknown });
    }
    if (forbidden.length > 0) {
      errors.push({
        code: 'FORBIDDEN',
        message: 'symbols not allowed for this connection',
        symbols: forbidden,
      });
    }
    if (tooMany.length > 0) {
      errors.push({
        code: 'TOO_MANY_SUBSCRIPTIONS',
        message: `at most ${limits.maxSubscriptions} subscriptions per connection`,
        symbols: tooMany,
      });
    }
    return { accepted, maxHz: hz, errors };
  }

  /** @internal */
  unsubscribe(session: Session, symbols: readonly string[]): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    for (const symbol of symbols) {
      if (seen.has(symbol)) continue;
      seen.add(symbol);
      out.push(symbol);
      const pair = session.pairs.get(symbol);
      if (pair) this.removePair(pair);
    }
    return out;
  }

  /** @internal */
  closeSession(session: Session): void {
    if (session.closed) return;
    session.closed = true;
    for (const pair of [...session.pairs.values()]) this.removePair(pair);
    this.sessions.delete(session);
    this.paused.delete(session);
  }

  private addPair(session: Session, symbol: string, intervalMs: number): Pair {
    let entry = this.entries.get(symbol);
    if (!entry) entry = this.createEntry(symbol);
    const pair = new Pair(session, entry, intervalMs);
    pair.ticksBase = entry.ticks;
    pair.updatesBase = entry.updates;
    entry.pairs.add(pair);
    session.pairs.set(symbol, pair);
    this.subscriptionCount++;
    return pair;
  }

  private removePair(pair: Pair): void {
    pair.active = false;
    this.wheel.cancel(pair);
    this.leaveGrid(pair);
    const { entry, session } = pair;
    if (pair.idle) {
      pair.idle = false;
      entry.idleGone++;
      // A quiet symbol may never wake its idle list: drop the removed pairs once they are the most.
      if (entry.idleGone > 32 && entry.idleGone * 2 > entry.idle.size) {
        entry.idle.retain((p) => p.active);
        entry.idleGone = 0;
      }
    }
    session.pairs.delete(entry.symbol);
    entry.pairs.delete(pair);
    this.subscriptionCount--;
    if (entry.pairs.size === 0 && this.entries.get(entry.symbol) === entry) {
      this.entries.delete(entry.symbol);
      const { backplane } = this.options;
      entry.ready
        .then(() => backplane.removeInterest(entry.symbol))
        .catch((error: unknown) => this.options.onError?.(error, `removeInterest ${entry.symbol}`));
    }
  }

  private changeRate(pair: Pair, intervalMs: number, leading: boolean, now: number): void {
    if (pair.intervalMs === intervalMs && pair.leading === leading) return;
    pair.intervalMs = intervalMs;
    this.setMode(pair, leading, now);
    if (pair.dueSlot >= 0) {
      this.wheel.cancel(pair);
      this.due(pair, now);
    }
  }

  private setMode(pair: Pair, leading: boolean, now: number): void {
    pair.leading = leading;
    if (leading) {
      this.leaveGrid(pair);
      return;
    }
    // A pair already queued when it joins the grid goes out in this turn: it counts as sent now.
    pair.dueAt = now;
    const grid = this.gridOf(pair.session, pair.intervalMs, now);
    if (pair.grid === grid) return;
    this.leaveGrid(pair);
    pair.grid = grid;
    pair.gridIndex = grid.pairs.length;
    grid.pairs.push(pair);
    if (grid.dueSlot < 0) this.scheduleGrid(grid, now);
  }

  private gridOf(session: Session, intervalMs: number, now: number): Grid {
    const grids = session.grids;
    let grid = grids.get(intervalMs);
    if (grid !== undefined) return grid;
    if (grids.size >= MAX_GRIDS_PER_CONNECTION) {
      // Forgetting an unused rate only costs later pairs at that rate their alignment with earlier ones.
      for (const [ms, g] of grids) {
        if (g.pairs.length === 0) {
          grids.delete(ms);
          break;
        }
      }
    }
    grid = new Grid(session, intervalMs, this.wheel.slotTime(now), this.wheel.slotTime(intervalMs));
    grids.set(intervalMs, grid);
    return grid;
  }

  private leaveGrid(pair: Pair): void {
    const grid = pair.grid;
    if (grid === undefined) return;
    const pairs = grid.pairs;
    const last = pairs.pop()!;
    if (last !== pair) {
      pairs[pair.gridIndex] = last;
      last.gridIndex = pair.gridIndex;
    }
    pair.grid = undefined;
    pair.gridIndex = -1;
    if (pairs.length === 0) this.wheel.cancel(grid);
  }

  private createEntry(symbol: string): SymbolEntry {
    const entry = new SymbolEntry(symbol);
    this.entries.set(symbol, entry);
    entry.readyDone = false;
    this.newEntries.push(entry);
    return entry;
  }

  /**
   * Declares interest in the symbols that got their first local subscriber during one subscribe, then
   * reads their last values in one batched call (one round trip with Redis, whatever the count).
   */
  private loadNewEntries(): void {
    const entries = this.newEntries;
    if (entries.length === 0) return;
    this.newEntries = [];
    const { backplane } = this.options;
    const symbols = entries.map((e) => e.symbol);
    const ready = (async () => {
      try {
        try {
          await Promise.all(symbols.map((s) => backplane.addInterest(s)));
        } catch (error) {
          this.options.onError?.(error, `addInterest ${symbols.length} symbols`);
        }
        // The last-value cache may be unreachable (Redis restarting): the snapshot then comes from
        // what this pod already holds, or is skipped, and the next update brings the state.
        try {
          const values = await backplane.getLastValues(symbols);
          for (const entry of entries) {
            const bytes = values.get(entry.symbol);
            if (!bytes) continue;
            const last = decodeTickRecord(bytes);
            if (!entry.latest || last.seq > entry.latest.seq) entry.latest = last;
          }
        } catch (error) {
          this.counters.snapshotReadFailures++;
          this.options.onError?.(error, `snapshot read of ${symbols.length} symbols, serving local state`);
        }
      } finally {
        for (const entry of entries) entry.readyDone = true;
      }
    })();
    for (const entry of entries) entry.ready = ready;
  }

  private deliverSnapshots(pairs: Pair[]): void {
    const waits: Promise<void>[] = [];
    for (const p of pairs) if (!p.entry.readyDone) waits.push(p.entry.ready);
    const requests = pairs.map((p) => p.snapshotRequest);
    // Always asynchronous: the transport answers "subscribed" before the first snapshot.
    Promise.all(waits)
      .then(() => {
        const now = this.options.clock.now();
        for (let i = 0; i < pairs.length; i++) {
          const p = pairs[i]!;
          if (!p.active || p.snapshotRequest !== requests[i]) continue;
          this.snapshot(p, now);
        }
        this.flushSoon();
      })
      .catch((error: unknown) => this.options.onError?.(error, 'deliverSnapshots'));
  }

  private snapshot(pair: Pair, now: number): void {
    pair.awaitingSnapshot = false;
    const entry = pair.entry;
    const q = entry.latest;
    const { session } = pair;
    if (!q) {
      this.settle(pair, now);
      return;
    }
    if (session.paused) {
      pair.needsSnapshot = true;
      return;
    }
    pair.needsSnapshot = false;
    try {
      session.sink.writeSnapshot(q);
      this.counters.snapshotsSent++;
    } catch (error) {
      this.options.onError?.(error, 'writeSnapshot');
    }
    pair.lastSentSeq = q.seq;
    pair.lastSentAt = now;
    pair.ticksBase = entry.ticks;
    pair.updatesBase = entry.updates;
    // A trailing edge scheduled before this snapshot (a re-subscribe) counts its interval from here.
    this.wheel.cancel(pair);
    this.settle(pair, now);
  }

  /**
   * A pair that is neither queued, scheduled nor waiting for a snapshot or a resume: due if its symbol
   * has something newer than its last update, else idle until the next one.
   */
  private settle(pair: Pair, now: number): void {
    // A grid pair's grid looks at it at every point: nothing to arrange.
    if (!pair.active || !pair.leading || pair.queued || pair.dueSlot >= 0) return;
    if (pair.awaitingSnapshot || pair.needsSnapshot || pair.session.paused) return;
    const latest = pair.entry.latest;
    if (latest !== undefined && latest.seq > pair.lastSentSeq) this.due(pair, now);
    else this.park(pair);
  }

  private park(pair: Pair): void {
    if (pair.idle || !pair.leading) return;
    pair.idle = true;
    pair.entry.idle.push(pair);
  }

  // ---------------------------------------------------------------- the tick path

  private onUpdate(symbol: string, payload: Uint8Array): void {
    this.options.observeUpdate?.(symbol, payload);
    const entry = this.entries.get(symbol);
    if (!entry) return;
    let update: QuoteUpdate;
    try {
      update = decodeTickRecord(payload);
    } catch (error) {
      this.counters.decodeErrors++;
      this.options.onError?.(error, `decode ${symbol}`);
      return;
    }
    if (entry.latest && update.seq <= entry.latest.seq) {
      this.counters.updatesStale++;
      return;
    }
    entry.latest = update;
    entry.ticks += update.n;
    entry.updates++;
    this.counters.updatesIn++;
    // Only idle pairs need this update to get going: the others take the latest state when they send.
    const idle = entry.idle;
    if (idle.size === 0) return;
    const now = this.options.clock.now();
    const woken = idle.size;
    for (let i = 0; i < woken; i++) {
      const pair = idle.at(i);
      if (!pair.active) continue;
      pair.idle = false;
      this.settle(pair, now);
    }
    // Pairs parked again meanwhile (none is expected: the symbol has news for all) stay in the list.
    idle.dropFirst(woken);
    entry.idleGone = 0;
  }

  /** Sends at once when an interval has passed since the last update (leading edge), else schedules. */
  private due(pair: Pair, now: number): void {
    if (!pair.leading) return; // its grid sends it
    if (now - pair.lastSentAt >= pair.intervalMs) {
      this.enqueue(pair);
      this.flushSoon();
    } else {
      this.scheduleTrailing(pair, now);
    }
  }

  /**
   * Schedules a pair's trailing edge for the end of its interval, or for a slot of the same connection
   * already taken a little later (see `coalesceMs`). Never earlier: rule 1 holds either way.
   */
  private scheduleTrailing(pair: Pair, now: number): void {
    const dueAt = pair.lastSentAt + pair.intervalMs;
    const wheel = this.wheel;
    let slot = wheel.slotOf(dueAt);
    const window = Math.min(this.coalesceMs, pair.intervalMs * MAX_COALESCE_FRACTION);
    if (window > 0) {
      const latest = wheel.slotOf(dueAt + window);
      const passed = wheel.currentSlot(now);
      const upcoming = pair.session.upcomingSlots;
      let joined = -1;
      let kept = 0;
      for (let i = 0; i < upcoming.length; i++) {
        const s = upcoming[i]!;
        if (s <= passed) continue;
        upcoming[kept++] = s;
        if (s >= slot && s <= latest && (joined < 0 || s < joined)) joined = s;
      }
      upcoming.length = kept;
      if (joined >= 0) slot = joined;
      else if (kept < MAX_UPCOMING_SLOTS) upcoming.push(slot);
    }
    wheel.scheduleInSlot(pair, slot);
  }

  /**
   * Schedules a grid for its first point at or after `earliest`, skipping a point whose slot has
   * already fired. Points are whole slots apart (the interval rounded up to a slot: 333.3 ms at 3 Hz
   * becomes 335 ms), so every point falls on a slot boundary and no rounding brings two sends of a
   * pair closer than the interval.
   */
  private scheduleGrid(grid: Grid, earliest: number): void {
    const wheel = this.wheel;
    const { origin, step } = grid;
    let k = Math.ceil((earliest - origin) / step - GRID_EPSILON);
    let slot = wheel.slotOf(origin + k * step);
    const fired = wheel.firedSlot();
    while (slot <= fired) {
      k++;
      slot = wheel.slotOf(origin + k * step);
    }
    grid.dueAt = origin + k * step;
    wheel.scheduleInSlot(grid, slot);
  }

  /**
   * A point of a grid: every pair of it that has something newer than its last update, and whose last
   * update is at least an interval before this point (rule 1: after a snapshot, or when it joined the
   * grid), goes out now. Then the grid waits for its next point.
   */
  private gridDue(grid: Grid, now: number): void {
    const { session, pairs } = grid;
    if (session.closed || pairs.length === 0) return;
    const at = grid.dueAt;
    if (!session.paused) {
      const reached = at + GRID_EPSILON * grid.step;
      for (let i = 0; i < pairs.length; i++) {
        const p = pairs[i]!;
        if (p.queued || p.awaitingSnapshot || p.needsSnapshot) continue;
        const u = p.entry.latest;
        if (u === undefined || u.seq <= p.lastSentSeq || p.lastSentAt + p.intervalMs > reached) continue;
        p.dueAt = at;
        this.enqueue(p);
      }
    }
    this.scheduleGrid(grid, Math.max(now, at + grid.intervalMs));
  }

  private enqueue(pair: Pair): void {
    if (pair.queued) return;
    pair.queued = true;
    const s = pair.session;
    s.outbox.push(pair);
    if (!s.inFlushQueue) {
      s.inFlushQueue = true;
      this.flushQueue.push(s);
    }
  }

  private flushSoon(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.options.clock.defer(this.flushAll);
  }

  private readonly onDue = (due: Stack<Pair | Grid>, now: number): void => {
    for (let i = 0; i < due.size; i++) {
      const pair = due.at(i);
      if (pair instanceof Grid) {
        this.gridDue(pair, now);
        continue;
      }
      if (!pair.active || pair.awaitingSnapshot || pair.needsSnapshot) continue;
      if (pair.session.paused) continue;
      this.enqueue(pair);
    }
    this.flush(now);
  };

  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    this.flush(this.options.clock.now());
  };

  private flush(now: number): void {
    const queue = this.flushQueue;
    if (queue.size === 0) return;
    // Two queues in turn: sessions queued while this one is flushed go to the next flush.
    this.flushQueue = this.spareFlushQueue;
    this.latencySampleDue = this.onLatencySample !== undefined;
    for (let i = 0; i < queue.size; i++) {
      const s = queue.at(i);
      s.inFlushQueue = false;
      this.flushSession(s, now);
    }
    queue.clear();
    this.spareFlushQueue = queue;
  }

  private flushSession(s: Session, now: number): void {
    const outbox = s.outbox;
    if (s.closed) {
      outbox.clear();
      return;
    }
    if (s.sink.bufferedBytes() > this.hwm) {
      for (let i = 0; i < outbox.size; i++) outbox.at(i).queued = false;
      outbox.clear();
      this.pause(s, now);
      return;
    }
    const encoding = s.sink.encoding;
    const index = encoding.index;
    const frame = this.frame;
    const { bodies, ns } = frame;
    let count = 0;
    let firstTs = 0;
    for (let i = 0; i < outbox.size; i++) {
      const p = outbox.at(i);
      p.queued = false;
      if (!p.active || p.awaitingSnapshot || p.needsSnapshot) continue;
      const entry = p.entry;
      const u = entry.latest;
      if (u === undefined || u.seq <= p.lastSentSeq) {
        this.park(p);
        continue;
      }
      if (entry.bodiesOf !== u) {
        entry.bodiesOf = u;
        entry.bodies.fill(undefined);
      }
      let body = entry.bodies[index];
      if (body === undefined) {
        body = encoding.encodeBody(u);
        entry.bodies[index] = body;
        this.counters.encodes++;
      }
      if (count === 0) firstTs = u.ts;
      bodies[count] = body;
      // Every source tick has its own, higher seq, so an update can never fold more ticks than its seq
      // moved since the last one this connection got. The bound holds `n` exact where two owners'
      // publications of one symbol overlap for a moment (a standby taking over, then handing back).
      const folded = entry.ticks - p.ticksBase;
      ns[count] = p.lastSentSeq >= 0 ? Math.min(folded, u.seq - p.lastSentSeq) : folded;
      count++;
      this.counters.conflated += entry.updates - p.updatesBase - 1;
      p.ticksBase = entry.ticks;
      p.updatesBase = entry.updates;
      p.lastSentSeq = u.seq;
      p.lastSentAt = p.leading ? now : p.dueAt;
      this.park(p);
    }
    outbox.clear();
    if (count === 0) return;
    frame.count = count;
    try {
      s.sink.writeTicks(frame);
      this.counters.framesSent++;
      this.counters.updatesSent += count;
      if (this.latencySampleDue) {
        this.latencySampleDue = false;
        this.onLatencySample?.(now - firstTs);
      }
    } catch (error) {
      this.options.onError?.(error, 'writeTicks');
    }
  }

  // ---------------------------------------------------------------- slow consumers

  /** @internal */
  checkBackpressure(s: Session): void {
    if (!s.paused && !s.closed && s.sink.bufferedBytes() > this.hwm) this.pause(s, this.options.clock.now());
  }

  private pause(s: Session, now: number): void {
    if (s.paused) return;
    s.paused = true;
    s.overSince = now;
    this.paused.add(s);
    this.counters.pauses++;
    this.armGuard();
  }

  private armGuard(): void {
    if (this.guardTimer !== undefined || this.paused.size === 0) return;
    this.guardTimer = this.options.clock.setTimeout(this.guard, this.guardIntervalMs);
  }

  private readonly guard = (): void => {
    this.guardTimer = undefined;
    const now = this.options.clock.now();
    for (const s of [...this.paused]) {
      if (s.closed) {
        this.paused.delete(s);
      } else if (s.sink.bufferedBytes() <= this.hwm) {
        this.resume(s, now);
      } else if (now - s.overSince >= this.slowTimeoutMs) {
        this.paused.delete(s);
        this.counters.slowConsumerCloses++;
        this.closeSession(s);
        try {
          s.sink.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
        } catch (error) {
          this.options.onError?.(error, 'close slow consumer');
        }
      }
    }
    this.flush(now);
    this.armGuard();
  };

  private resume(s: Session, now: number): void {
    s.paused = false;
    this.paused.delete(s);
    for (const p of s.pairs.values()) {
      if (p.needsSnapshot) this.snapshot(p, now);
      else this.settle(p, now);
    }
  }
}

function effectiveLimits(limits: Limits, entitlements: Entitlements | undefined): Limits {
  if (!entitlements) return { ...limits };
  const maxHz = Math.min(limits.maxHz, entitlements.maxHz ?? limits.maxHz);
  const maxSubscriptions = Math.min(
    limits.maxSubscriptions,
    entitlements.maxSubscriptions ?? limits.maxSubscriptions,
  );
  return {
    ...limits,
    maxHz,
    minHz: Math.min(limits.minHz, maxHz),
    defaultHz: Math.min(limits.defaultHz, maxHz),
    maxSubscriptions,
  };
}
