import { MemoryBackplane } from '@tickhub/backplane';
import { DEFAULT_LIMITS, encodeTickRecord, type Limits, type Quote } from '@tickhub/protocol';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock';
import { EdgeStage } from '../../src/core/edge-stage';
import { quote, RecordingSink, settle } from '../support/core';

const SYMBOLS = ['AAPL', 'MSFT', 'EURUSD', 'BTCUSD'];

function setup(
  options: {
    hwm?: number;
    slowMs?: number;
    limits?: Partial<Limits>;
    coalesceMs?: number;
    symbols?: readonly string[];
  } = {},
) {
  const clock = new ManualClock();
  const backplane = new MemoryBackplane({ podId: 'test' });
  const known = new Set(options.symbols ?? SYMBOLS);
  const edge = new EdgeStage({
    backplane,
    clock,
    isKnownSymbol: (s) => known.has(s),
    highWaterMarkBytes: options.hwm ?? 1000,
    slowConsumerTimeoutMs: options.slowMs ?? 10_000,
    ...(options.coalesceMs !== undefined ? { coalesceMs: options.coalesceMs } : {}),
  });
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const open = () => {
    const sink = new RecordingSink(clock);
    const session = edge.openSession(sink, { limits });
    return { sink, session };
  };
  /** Publishes as the source stage does (last value first) and lets the delivery run. */
  const publish = async (q: Quote, n = 1) => {
    const record = encodeTickRecord({ ...q, n });
    backplane.setLastValue(q.symbol, record);
    backplane.publish(q.symbol, record);
    await settle(1);
  };
  return { clock, backplane, edge, open, publish };
}

describe('EdgeStage subscriptions', () => {
  it('accepts known symbols and answers the rest with UNKNOWN_SYMBOL, then snapshots', async () => {
    const { backplane, open, publish, clock } = setup();
    await backplane.connect();
    await publish(quote('AAPL', 7));
    const { sink, session } = open();
    const r = session.subscribe(['AAPL', 'NOPE', 'MSFT', 'AAPL'], 4);
    expect(r.accepted).toEqual(['AAPL', 'MSFT']);
    expect(r.maxHz).toBe(4);
    expect(r.errors).toEqual([{ code: 'UNKNOWN_SYMBOL', message: expect.any(String), symbols: ['NOPE'] }]);
    // Snapshots never come from inside subscribe(): the transport answers first.
    expect(sink.snapshots).toHaveLength(0);
    await settle();
    clock.runDeferred();
    expect(sink.snapshots.map((s) => [s.quote.symbol, s.quote.seq])).toEqual([['AAPL', 7]]);
    expect(backplane.interests().sort()).toEqual(['AAPL', 'MSFT']);
  });

  it('refuses maxHz outside [minHz, maxHz] with BAD_REQUEST and uses defaultHz when absent', () => {
    const { open } = setup();
    const { session } = open();
    expect(session.subscribe(['AAPL'], 51).errors[0]?.code).toBe('BAD_REQUEST');
    expect(session.subscribe(['AAPL'], 0.1).errors[0]?.code).toBe('BAD_REQUEST');
    expect(session.subscribe(['AAPL'], 0.1).accepted).toEqual([]);
    expect(session.subscribe(['AAPL']).maxHz).toBe(DEFAULT_LIMITS.defaultHz);
  });

  it('caps subscriptions per connection, accepting those that fit', () => {
    const { open } = setup({ limits: { maxSubscriptions: 2 } });
    const { session } = open();
    const r = session.subscribe(['AAPL', 'MSFT', 'EURUSD'], 1);
    expect(r.accepted).toEqual(['AAPL', 'MSFT']);
    expect(r.errors).toEqual([
      { code: 'TOO_MANY_SUBSCRIPTIONS', message: expect.any(String), symbols: ['EURUSD'] },
    ]);
    // Re-subscribing an existing symbol does not count against the cap.
    expect(session.subscribe(['AAPL'], 2).accepted).toEqual(['AAPL']);
  });

  it('answers FORBIDDEN for symbols outside the entitlements and narrows the limits', () => {
    const { edge } = setup();
    const clock = new ManualClock();
    const session = edge.openSession(new RecordingSink(clock), {
      limits: DEFAULT_LIMITS,
      entitlements: { symbols: ['AAPL', 'EUR*'], maxHz: 10, maxSubscriptions: 5 },
    });
    expect(session.limits.maxHz).toBe(10);
    expect(session.limits.maxSubscriptions).toBe(5);
    const r = session.subscribe(['AAPL', 'EURUSD', 'MSFT'], 10);
    expect(r.accepted).toEqual(['AAPL', 'EURUSD']);
    expect(r.errors).toEqual([{ code: 'FORBIDDEN', message: expect.any(String), symbols: ['MSFT'] }]);
    expect(session.subscribe(['AAPL'], 20).errors[0]?.code).toBe('BAD_REQUEST');
  });

  it('drops interest when the last local subscriber leaves', async () => {
    const { backplane, open } = setup();
    await backplane.connect();
    const a = open();
    const b = open();
    a.session.subscribe(['AAPL'], 1);
    b.session.subscribe(['AAPL'], 1);
    await settle();
    expect(backplane.interests()).toEqual(['AAPL']);
    expect(a.session.unsubscribe(['AAPL', 'AAPL', 'MSFT'])).toEqual(['AAPL', 'MSFT']);
    await settle();
    expect(backplane.interests()).toEqual(['AAPL']);
    b.session.close();
    await settle();
    expect(backplane.interests()).toEqual([]);
  });
});

describe('EdgeStage throttling (docs/protocol.md rules 1-5)', () => {
  it('sends a tick at once on the leading edge and conflates the rest to the trailing edge', async () => {
    const { backplane, open, publish, clock } = setup();
    await backplane.connect();
    const { sink, session } = open();
    session.subscribe(['AAPL'], 2); // 500 ms interval
    await settle();
    clock.runDeferred();
    const t0 = clock.now();
    await publish(quote('AAPL', 1));
    clock.runDeferred();
    expect(sink.frames).toHaveLength(1);
    expect(sink.frames[0]!.at).toBe(t0);
    expect(sink.frames[0]!.updates.map((u) => [u.seq, u.n])).toEqual([[1, 1]]);
    for (let seq = 2; seq <= 6; seq++) {
      clock.advance(50);
      await publish(quote('AAPL', seq, { volume: 1000 + seq }));
    }
    clock.advance(100);
    expect(sink.frames).toHaveLength(1);
    clock.advance(200);
    expect(sink.frames).toHaveLength(2);
    const trailing = sink.frames[1]!;
    expect(trailing.at - t0).toBeGreaterThanOrEqual(500);
    expect(trailing.updates).toHaveLength(1);
    expect(trailing.updates[0]).toMatchObject({ seq: 6, n: 5, volume: 1006 });
    // Nothing pending: no more frames.
    clock.advance(5000);
    expect(sink.frames).toHaveLength(2);
  });

  it('samples the age of the first update written in each flush, never of snapshots', async () => {
    const { backplane, open, publish, clock, edge } = setup();
    const samples: number[] = [];
    edge.onLatencySample = (ms) => samples.push(ms);
    await backplane.connect();
    await publish(quote('MSFT', 1, { ts: clock.now() - 5 }));
    const a = open();
    const b = open();
    a.session.subscribe(['AAPL', 'MSFT'], 2);
    b.session.subscribe(['AAPL'], 2);
    await settle();
    clock.runDeferred();
    expect(a.sink.snapshots).toHaveLength(1);
    expect(samples).toEqual([]);
    await publish(quote('AAPL', 1, { ts: clock.now() - 40 }));
    clock.runDeferred();
    // Two frames written in one flush: one sample.
    expect(a.sink.frames).toHaveLength(1);
    expect(b.sink.frames).toHaveLength(1);
    expect(samples).toEqual([40]);
  });

  it('gives the first update after a snapshot a higher seq than the snapshot', async () => {
    const { backplane, open, publish, clock } = setup();
    await backplane.connect();
    await publish(quote('AAPL', 10));
    const { sink, session } = open();
    session.subscribe(['AAPL'], 10);
    // An update that races the snapshot read must not go out before it, nor with a lower seq.
    await publish(quote('AAPL', 11));
    await settle();
    clock.advance(1000);
    await publish(quote('AAPL', 12));
    clock.advance(1000);
    const seqs = sink.events.map((e) => `${e.kind}:${e.seq}`);
    expect(seqs[0]).toMatch(/^snapshot:1[01]$/);
    const snapSeq = sink.events[0]!.seq;
    const ticks = sink.events.filter((e) => e.kind === 'tick');
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks[0]!.seq).toBeGreaterThan(snapSeq);
    expect(ticks.at(-1)!.seq).toBe(12);
  });

  it('batches all updates due for a connection at one moment into one frame', async () => {
    const { backplane, open, publish, clock } = setup();
    await backplane.connect();
    const { sink, session } = open();
    session.subscribe(['AAPL', 'MSFT', 'EURUSD'], 4);
    await settle();
    clock.runDeferred();
    await publish(quote('AAPL', 1));
    await publish(quote('MSFT', 1));
    await publish(quote('EURUSD', 1));
    clock.runDeferred();
    expect(sink.frames).toHaveLength(1);
    expect(sink.frames[0]!.updates.map((u) => u.symbol).sort()).toEqual(['AAPL', 'EURUSD', 'MSFT']);
    clock.advance(10);
    await publish(quote('AAPL', 2));
    clock.advance(30);
    await publish(quote('MSFT', 2));
    await publish(quote('EURUSD', 2));
    clock.advance(1000);
    // Trailing deadlines at the same rate share a wheel slot: one frame for the three.
    expect(sink.frames).toHaveLength(2);
    expect(sink.frames[1]!.updates.map((u) => u.seq)).toEqual([2, 2, 2]);
  });

  /**
   * Two symbols at 10 Hz whose leading edges went out 7 ms apart, both ticking every 20 ms: the frames
   * each ticks frame carries, and when each symbol's updates went out.
   */
  async function twoPhases(coalesceMs: number) {
    const { backplane, open, publish, clock } = setup({ coalesceMs });
    await backplane.connect();
    const { sink, session } = open();
    session.subscribe(['AAPL', 'MSFT'], 10);
    await settle();
    clock.runDeferred();
    const t0 = clock.now();
    const seq = { AAPL: 0, MSFT: 0 };
    const tick = async (symbol: 'AAPL' | 'MSFT') => {
      seq[symbol]++;
      await publish(quote(symbol, seq[symbol]));
      clock.runDeferred();
    };
    await tick('AAPL'); // leading edge at t0
    clock.advance(7);
    await tick('MSFT'); // leading edge at t0 + 7
    // MSFT's next tick comes first, so its trailing slot (t0 + 110) is known when AAPL's (t0 + 100) is set.
    for (let t = 20; t <= 1000; t += 20) {
      clock.advance(t0 + t - clock.now());
      await tick('MSFT');
      clock.advance(5);
      await tick('AAPL');
    }
    clock.advance(300);
    const sentAt = (symbol: string) => sink.events.filter((e) => e.symbol === symbol).map((e) => e.at - t0);
    return {
      frames: sink.frames.map((f) =>
        f.updates
          .map((u) => u.symbol)
          .sort()
          .join('+'),
      ),
      sentAt,
    };
  }

  it('lets a trailing edge wait a little for a slot its connection already has, and keeps the two in step', async () => {
    const { frames, sentAt } = await twoPhases(10);
    // Two leading edges, then every trailing frame carries both symbols.
    expect(frames.slice(0, 2)).toEqual(['AAPL', 'MSFT']);
    expect(frames.length).toBeGreaterThan(9);
    expect(frames.slice(2).every((f) => f === 'AAPL+MSFT')).toBe(true);
    // AAPL waited 10 ms once (its interval ended at 100, it went out with MSFT at 110), never more.
    const aapl = sentAt('AAPL');
    expect(aapl.slice(0, 2)).toEqual([0, 110]);
    for (let i = 1; i < aapl.length; i++) {
      expect(aapl[i]! - aapl[i - 1]!).toBeGreaterThanOrEqual(100);
      expect(aapl[i]! - aapl[i - 1]!).toBeLessThanOrEqual(110);
    }
  });

  it('sends each trailing edge at the end of its own interval when coalescing is off', async () => {
    const { frames, sentAt } = await twoPhases(0);
    expect(frames.every((f) => f === 'AAPL' || f === 'MSFT')).toBe(true);
    expect(sentAt('AAPL').slice(0, 3)).toEqual([0, 100, 200]);
  });

  it('encodes an update once for every subscriber sharing an encoding', async () => {
    const { backplane, open, publish, clock, edge } = setup();
    await backplane.connect();
    const sinks = [open(), open(), open()];
    for (const s of sinks) s.session.subscribe(['AAPL'], 4);
    await settle();
    clock.runDeferred();
    await publish(quote('AAPL', 1));
    clock.runDeferred();
    expect(sinks.every((s) => s.sink.frames.length === 1)).toBe(true);
    expect(edge.counters.encodes).toBe(1);
    expect(edge.counters.updatesSent).toBe(3);
  });

  it('changes the rate of an existing subscription on re-subscribe', async () => {
    const { backplane, open, publish, clock } = setup();
    await backplane.connect();
    const { sink, session } = open();
    session.subscribe(['AAPL'], 1);
    await settle();
    clock.runDeferred();
    await publish(quote('AAPL', 1));
    clock.runDeferred();
    await publish(quote('AAPL', 2));
    session.subscribe(['AAPL'], 50);
    await settle();
    clock.advance(100);
    await publish(quote('AAPL', 3));
    clock.advance(100);
    const ticks = sink.events.filter((e) => e.kind === 'tick').map((e) => e.seq);
    expect(ticks).toContain(3);
    expect(sink.events.at(-1)!.seq).toBe(3);
  });

  it('holds for any tick sequence and rate: rate <= maxHz, last state arrives, seq monotone, n sums, one frame per moment', async () => {
    const tickArb = fc.record({
      dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 600 })),
      symbol: fc.integer({ min: 0, max: 2 }),
      n: fc.integer({ min: 1, max: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0.2, 1, 3, 4, 7.5, 20, 50),
        fc.array(tickArb, { minLength: 1, maxLength: 120 }),
        fc.boolean(),
        fc.boolean(),
        async (hz, ticks, withLastValue, leading) => {
          const { backplane, open, publish, clock } = setup();
          await backplane.connect();
          const seqs = [0, 0, 0];
          if (withLastValue) for (let i = 0; i < 3; i++) await publish(quote(SYMBOLS[i]!, ++seqs[i]!));
          const { sink, session } = open();
          session.subscribe(SYMBOLS.slice(0, 3), hz, leading);
          await settle();
          clock.runDeferred();
          const startSeqs = [...seqs];
          const nSent = [0, 0, 0];
          for (const t of ticks) {
            clock.advance(t.dt);
            // An update folding n source ticks carries the last of their n seqs.
            seqs[t.symbol]! += t.n;
            nSent[t.symbol]! += t.n;
            await publish(quote(SYMBOLS[t.symbol]!, seqs[t.symbol]!), t.n);
          }
          clock.advance(2 * (1000 / hz) + 10);
          const interval = 1000 / hz;
          for (let i = 0; i < 3; i++) {
            const symbol = SYMBOLS[i]!;
            const events = sink.events.filter((e) => e.symbol === symbol);
            // Rule 1: consecutive writes of a pair are at least one interval apart.
            for (let k = 1; k < events.length; k++) {
              expect(events[k]!.at - events[k - 1]!.at).toBeGreaterThanOrEqual(interval - 1e-9);
            }
            // Rule 4: seq strictly increases, a snapshot included.
            for (let k = 1; k < events.length; k++)
              expect(events[k]!.seq).toBeGreaterThan(events[k - 1]!.seq);
            // Rule 3: the last state always arrives.
            if (seqs[i]! > 0) expect(events.at(-1)?.seq).toBe(seqs[i]);
            // n sums to the source ticks after the snapshot.
            const nTicks = events.filter((e) => e.kind === 'tick').reduce((a, e) => a + e.n, 0);
            if (!withLastValue) expect(nTicks).toBe(nSent[i]);
            else expect(events[0]?.kind).toBe('snapshot');
            if (withLastValue) expect(events[0]!.seq).toBeGreaterThanOrEqual(startSeqs[i]!);
          }
          // Rule 5: one frame per connection per moment.
          const turns = sink.frames.map((f) => f.turn);
          expect(new Set(turns).size).toBe(turns.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('EdgeStage rates and modes changed on the way', () => {
  it('keeps rules 1, 3, 4 and 5 when symbols of one connection move between rates, grids and the leading edge', async () => {
    const modeArb = fc.record({ hz: fc.constantFrom(1, 3, 4, 10), leading: fc.boolean() });
    const tickArb = fc.record({
      dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 700 })),
      symbol: fc.integer({ min: 0, max: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(modeArb, { minLength: 3, maxLength: 3 }),
        fc.array(modeArb, { minLength: 3, maxLength: 3 }),
        fc.array(tickArb, { minLength: 1, maxLength: 80 }),
        fc.nat(80),
        async (before, after, ticks, switchAt) => {
          const { backplane, open, publish, clock } = setup();
          await backplane.connect();
          const { sink, session } = open();
          for (let i = 0; i < 3; i++) session.subscribe([SYMBOLS[i]!], before[i]!.hz, before[i]!.leading);
          await settle();
          clock.runDeferred();
          const seqs = [0, 0, 0];
          /** Index in `sink.events` from which the new rates apply (-1 before the switch). */
          let cut = -1;
          for (let k = 0; k < ticks.length; k++) {
            if (k === Math.min(switchAt, ticks.length - 1)) {
              cut = sink.events.length;
              for (let i = 0; i < 3; i++) session.subscribe([SYMBOLS[i]!], after[i]!.hz, after[i]!.leading);
              await settle();
              clock.runDeferred();
            }
            const t = ticks[k]!;
            clock.advance(t.dt);
            seqs[t.symbol]!++;
            await publish(quote(SYMBOLS[t.symbol]!, seqs[t.symbol]!));
          }
          clock.advance(2000 + 30);
          for (let i = 0; i < 3; i++) {
            const symbol = SYMBOLS[i]!;
            const indexed = sink.events.map((e, j) => ({ e, j })).filter(({ e }) => e.symbol === symbol);
            const events = indexed.map(({ e }) => e);
            for (let k = 1; k < events.length; k++) {
              // Rule 4: seq never decreases, and increases from one update to the next.
              expect(events[k]!.seq).toBeGreaterThanOrEqual(events[k - 1]!.seq);
              if (events[k]!.kind === 'tick') expect(events[k]!.seq).toBeGreaterThan(events[k - 1]!.seq);
            }
            // Rule 1, at the rate that applied: from the switch (its snapshot, if any) the new interval.
            for (let k = 1; k < events.length; k++) {
              const after_ = cut >= 0 && indexed[k - 1]!.j >= cut;
              const straddles = cut >= 0 && indexed[k - 1]!.j < cut && indexed[k]!.j >= cut;
              if (straddles) continue;
              const interval = 1000 / (after_ ? after[i]!.hz : before[i]!.hz);
              expect(events[k]!.at - events[k - 1]!.at).toBeGreaterThanOrEqual(interval - 1e-9);
            }
            // Rule 3: the last state always arrives.
            if (seqs[i]! > 0) expect(events.at(-1)?.seq).toBe(seqs[i]);
          }
          // Rule 5: one frame per connection per moment.
          const turns = sink.frames.map((f) => f.turn);
          expect(new Set(turns).size).toBe(turns.length);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('EdgeStage slow consumers (rule 6)', () => {
  it('pauses above the high-water mark, keeps the latest state and resumes when drained', async () => {
    const { backplane, open, publish, clock, edge } = setup({ hwm: 1000 });
    await backplane.connect();
    const { sink, session } = open();
    session.subscribe(['AAPL', 'MSFT'], 50);
    await settle();
    clock.runDeferred();
    sink.buffered = 5000;
    for (let seq = 1; seq <= 20; seq++) {
      await publish(quote('AAPL', seq));
      await publish(quote('MSFT', seq));
      clock.advance(25);
    }
    expect(sink.frames).toHaveLength(0);
    expect(edge.pausedCount()).toBe(1);
    sink.buffered = 0;
    clock.advance(100);
    expect(edge.pausedCount()).toBe(0);
    expect(sink.frames).toHaveLength(1);
    expect(sink.frames[0]!.updates.map((u) => [u.symbol, u.seq, u.n])).toEqual([
      ['AAPL', 20, 20],
      ['MSFT', 20, 20],
    ]);
    expect(sink.closed).toBeUndefined();
  });

  it('closes with 4009 when above the mark for longer than the timeout', async () => {
    const { backplane, open, publish, clock, edge } = setup({ hwm: 1000, slowMs: 2000 });
    await backplane.connect();
    const slow = open();
    const normal = open();
    slow.session.subscribe(['AAPL'], 10);
    normal.session.subscribe(['AAPL'], 10);
    await settle();
    clock.runDeferred();
    slow.sink.buffered = 2000;
    for (let seq = 1; seq <= 30; seq++) {
      await publish(quote('AAPL', seq));
      clock.advance(100);
    }
    expect(slow.sink.closed).toEqual({ code: 4009, reason: 'slow consumer' });
    expect(edge.counters.slowConsumerCloses).toBe(1);
    // The normal consumer kept receiving at its rate all along, up to the latest state.
    expect(normal.sink.frames.length).toBeGreaterThanOrEqual(25);
    expect(normal.sink.events.at(-1)!.seq).toBe(30);
    expect(edge.sessionCount()).toBe(1);
  });

  it('writes a snapshot that was due while paused on resume, before any update', async () => {
    const { backplane, open, publish, clock } = setup({ hwm: 1000 });
    await backplane.connect();
    await publish(quote('AAPL', 5));
    const { sink, session } = open();
    session.subscribe(['MSFT'], 10);
    await settle();
    clock.runDeferred();
    sink.buffered = 5000;
    await publish(quote('MSFT', 1));
    clock.runDeferred();
    session.subscribe(['AAPL'], 10);
    await settle();
    await publish(quote('AAPL', 6));
    clock.advance(200);
    expect(sink.snapshots).toHaveLength(0);
    sink.buffered = 0;
    clock.advance(200);
    const aapl = sink.events.filter((e) => e.symbol === 'AAPL');
    expect(aapl[0]).toMatchObject({ kind: 'snapshot', seq: 6 });
  });
});

describe('EdgeStage without leading edge: one grid per connection and rate', () => {
  const MANY = Array.from({ length: 40 }, (_, i) => `S${i}`);

  /** 40 symbols ticking at random, 1 to 9 ms apart, for `ms`; returns the last seq of each. */
  async function tickAll(publish: (q: Quote) => Promise<void>, clock: ManualClock, ms: number) {
    const seqs = new Map<string, number>();
    let state = 12345;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    for (const end = clock.now() + ms; clock.now() < end; ) {
      clock.advance(1 + Math.floor(random() * 9));
      const symbol = MANY[Math.floor(random() * MANY.length)]!;
      const seq = (seqs.get(symbol) ?? 0) + 1;
      seqs.set(symbol, seq);
      await publish(quote(symbol, seq));
    }
    return seqs;
  }

  it("carries a connection's 40 symbols in at most one frame per interval", async () => {
    const { backplane, open, publish, clock } = setup({ symbols: MANY, limits: { maxSubscriptions: 100 } });
    await backplane.connect();
    const { sink, session } = open();
    expect(session.subscribe(MANY, 4, false).accepted).toHaveLength(40);
    await settle();
    clock.runDeferred();
    const start = clock.now();
    const seqs = await tickAll(publish, clock, 5000);
    clock.advance(600);
    // Every frame goes out on the grid: a multiple of 250 ms after the subscribe.
    for (const f of sink.frames) expect((f.at - start) % 250).toBe(0);
    const windows = sink.frames.map((f) => Math.floor((f.at - start - 1) / 250));
    expect(new Set(windows).size).toBe(windows.length);
    const updates = sink.frames.reduce((n, f) => n + f.updates.length, 0);
    expect(updates / sink.frames.length).toBeGreaterThan(20);
    for (const symbol of MANY) {
      const events = sink.events.filter((e) => e.symbol === symbol);
      for (let k = 1; k < events.length; k++) {
        expect(events[k]!.seq).toBeGreaterThan(events[k - 1]!.seq);
        expect(events[k]!.at - events[k - 1]!.at).toBeGreaterThanOrEqual(250);
      }
      expect(events.at(-1)?.seq).toBe(seqs.get(symbol));
    }
  });

  it('sends the same stream in many more frames with the leading edge', async () => {
    const { backplane, open, publish, clock } = setup({ symbols: MANY, limits: { maxSubscriptions: 100 } });
    await backplane.connect();
    const aligned = open();
    const leading = open();
    aligned.session.subscribe(MANY, 4, false);
    leading.session.subscribe(MANY, 4);
    await settle();
    clock.runDeferred();
    await tickAll(publish, clock, 5000);
    clock.advance(600);
    expect(leading.sink.frames.length).toBeGreaterThan(2 * aligned.sink.frames.length);
  });

  it('sends a tick on a quiet symbol at the next grid point, at most one interval later', async () => {
    const { backplane, open, publish, clock } = setup();
    await backplane.connect();
    const { sink, session } = open();
    session.subscribe(['AAPL', 'MSFT'], 4, false);
    await settle();
    clock.runDeferred();
    const start = clock.now();
    clock.advance(1010);
    await publish(quote('AAPL', 1));
    clock.advance(100);
    await publish(quote('MSFT', 1));
    expect(sink.frames).toHaveLength(0);
    clock.advance(400);
    expect(sink.frames.map((f) => [f.at - start, f.updates.map((u) => u.symbol)])).toEqual([
      [1250, ['AAPL', 'MSFT']],
    ]);
  });

  it('keeps the leading edge for the symbols subscribed with it on the same connection', async () => {
    const { backplane, open, publish, clock } = setup();
    await backplane.connect();
    const { sink, session } = open();
    session.subscribe(['AAPL'], 4, false);
    session.subscribe(['MSFT'], 4);
    await settle();
    clock.runDeferred();
    clock.advance(1010);
    const t = clock.now();
    await publish(quote('MSFT', 1));
    await publish(quote('AAPL', 1));
    clock.runDeferred();
    expect(sink.frames.map((f) => [f.at - t, f.updates.map((u) => u.symbol)])).toEqual([[0, ['MSFT']]]);
    clock.advance(300);
    expect(sink.frames.map((f) => f.updates.map((u) => u.symbol))).toEqual([['MSFT'], ['AAPL']]);
  });

  it('holds a paused connection and sends its latest state on the grid once it drains', async () => {
    const { backplane, open, publish, clock, edge } = setup({ hwm: 1000 });
    await backplane.connect();
    const { sink, session } = open();
    session.subscribe(['AAPL', 'MSFT'], 4, false);
    await settle();
    clock.runDeferred();
    const start = clock.now();
    sink.buffered = 5000;
    for (let seq = 1; seq <= 20; seq++) {
      await publish(quote('AAPL', seq));
      await publish(quote('MSFT', seq));
      clock.advance(50);
    }
    expect(edge.pausedCount()).toBe(1);
    const before = sink.frames.length;
    sink.buffered = 0;
    clock.advance(600);
    const after = sink.frames.slice(before);
    expect(after).toHaveLength(1);
    expect((after[0]!.at - start) % 250).toBe(0);
    expect(after[0]!.updates.map((u) => [u.symbol, u.seq])).toEqual([
      ['AAPL', 20],
      ['MSFT', 20],
    ]);
  });

  it('switches a symbol between the grid and the leading edge on re-subscribe, losing nothing', async () => {
    const { backplane, open, publish, clock } = setup();
    await backplane.connect();
    const { sink, session } = open();
    session.subscribe(['AAPL'], 4, false);
    await settle();
    clock.runDeferred();
    let seq = 0;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 10; i++) {
        await publish(quote('AAPL', ++seq));
        clock.advance(37);
      }
      session.subscribe(['AAPL'], round % 2 === 0 ? 10 : 4, round % 2 === 0);
      await settle();
    }
    clock.advance(1000);
    const events = sink.events.filter((e) => e.symbol === 'AAPL');
    for (let k = 1; k < events.length; k++) expect(events[k]!.seq).toBeGreaterThan(events[k - 1]!.seq);
    expect(events.at(-1)!.seq).toBe(seq);
  });
});
