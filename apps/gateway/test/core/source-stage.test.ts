import { MemoryBackplane } from '@tickhub/backplane';
import { decodeTickRecord, encodeTickRecord, type QuoteUpdate } from '@tickhub/protocol';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock';
import { SourceStage } from '../../src/core/source-stage';
import { quote, settle } from '../support/core';

async function setup(maxHz = 50) {
  const clock = new ManualClock();
  const backplane = new MemoryBackplane({ podId: 'source-test' });
  await backplane.connect();
  const published: Array<{ at: number; update: QuoteUpdate }> = [];
  // Records the moment of each publish (deliveries to other pods happen later, in a microtask).
  const publish = backplane.publish.bind(backplane);
  backplane.publish = (symbol: string, payload: Uint8Array) => {
    published.push({ at: clock.now(), update: decodeTickRecord(payload) });
    publish(symbol, payload);
  };
  const stage = new SourceStage({ backplane, clock, maxHz });
  return { clock, backplane, stage, published };
}

describe('SourceStage', () => {
  it('publishes the first tick at once and writes the last value', async () => {
    const { stage, published, backplane } = await setup();
    stage.onTicks([quote('AAPL', 1)]);
    await settle();
    expect(published.map((p) => [p.update.seq, p.update.n])).toEqual([[1, 1]]);
    const last = await backplane.getLastValue('AAPL');
    expect(decodeTickRecord(last!).seq).toBe(1);
  });

  it('drops ticks whose seq is not above the known seq', async () => {
    const { stage, published, clock } = await setup();
    stage.onTicks([quote('AAPL', 5)]);
    await settle();
    clock.advance(100);
    stage.onTicks([quote('AAPL', 3), quote('AAPL', 5)]);
    await settle();
    clock.advance(100);
    await settle();
    expect(published.map((p) => p.update.seq)).toEqual([5]);
    expect(stage.counters.ticksStale).toBe(2);
  });

  it('starts from the last value of the backplane, so a moved symbol never goes backwards', async () => {
    const { stage, published, backplane, clock } = await setup();
    // Another pod owned AAPL before and published seq 100.
    backplane.setLastValue('AAPL', encodeTickRecord({ ...quote('AAPL', 100), n: 1 }));
    stage.onTicks([quote('AAPL', 90), quote('AAPL', 100)]);
    await settle();
    clock.advance(100);
    await settle();
    expect(published).toEqual([]);
    stage.onTicks([quote('AAPL', 101)]);
    await settle();
    expect(published.map((p) => p.update.seq)).toEqual([101]);
    // An ownership change makes it read the last value again.
    backplane.setLastValue('AAPL', encodeTickRecord({ ...quote('AAPL', 200), n: 1 }));
    stage.onOwnershipChange();
    stage.onTicks([quote('AAPL', 150)]);
    await settle();
    clock.advance(100);
    await settle();
    expect(published.map((p) => p.update.seq)).toEqual([101]);
  });

  it('pre-conflates each symbol to maxHz with the summed n (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ dt: fc.integer({ min: 0, max: 40 }), symbol: fc.constantFrom('AAPL', 'MSFT') }),
          {
            minLength: 1,
            maxLength: 80,
          },
        ),
        async (ticks) => {
          const { stage, published, clock } = await setup(50);
          const seqs: Record<string, number> = { AAPL: 0, MSFT: 0 };
          for (const t of ticks) {
            clock.advance(t.dt);
            seqs[t.symbol]!++;
            stage.onTicks([quote(t.symbol, seqs[t.symbol]!)]);
            await settle(1);
          }
          clock.advance(100);
          await settle();
          for (const symbol of ['AAPL', 'MSFT']) {
            const mine = published.filter((p) => p.update.symbol === symbol);
            for (let k = 1; k < mine.length; k++) {
              expect(mine[k]!.at - mine[k - 1]!.at).toBeGreaterThanOrEqual(20);
              expect(mine[k]!.update.seq).toBeGreaterThan(mine[k - 1]!.update.seq);
            }
            expect(mine.reduce((a, p) => a + p.update.n, 0)).toBe(seqs[symbol]);
            if (seqs[symbol]! > 0) expect(mine.at(-1)!.update.seq).toBe(seqs[symbol]);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('drops ticks of symbols outside the universe, keeping no state for them', async () => {
    const clock = new ManualClock();
    const backplane = new MemoryBackplane({ podId: 'universe-test' });
    await backplane.connect();
    const stage = new SourceStage({ backplane, clock, maxHz: 50, isKnownSymbol: (s) => s === 'AAPL' });
    stage.onTicks([quote('AAPL', 1), quote('JUNK1', 1), quote('JUNK2', 1)]);
    await settle();
    expect(stage.size()).toBe(1);
    expect(stage.counters.ticksUnknown).toBe(2);
    expect(await backplane.getLastValue('JUNK1')).toBeUndefined();
  });
});

describe('SourceStage: a primary and a standby owner of the same partition', () => {
  async function pair(holdMs: number) {
    const clock = new ManualClock();
    const backplane = new MemoryBackplane({ podId: 'owners-test' });
    await backplane.connect();
    const published: Array<{ at: number; update: QuoteUpdate }> = [];
    const publish = backplane.publish.bind(backplane);
    backplane.publish = (symbol: string, payload: Uint8Array) => {
      published.push({ at: clock.now(), update: decodeTickRecord(payload) });
      publish(symbol, payload);
    };
    const options = { backplane, clock, maxHz: 50, watchPublications: true };
    const primary = new SourceStage(options);
    const standby = new SourceStage({ ...options, holdMs });
    // The edge stage passes every backplane update to both (EdgeStageOptions.observeUpdate).
    backplane.onUpdate((symbol, payload) => {
      primary.observe(symbol, payload);
      standby.observe(symbol, payload);
    });
    return { clock, primary, standby, published };
  }

  it('the standby publishes nothing while the primary does, takes over within its hold when the primary dies, and n stays exact', async () => {
    const { clock, primary, standby, published } = await pair(250);
    let seq = 0;
    const tick = async (toPrimary: boolean) => {
      seq++;
      const t = [quote('AAPL', seq)];
      if (toPrimary) primary.onTicks(t);
      standby.onTicks(t);
      await settle(2);
      clock.advance(3);
      await settle(2);
    };
    for (let i = 0; i < 300; i++) await tick(true);
    expect(standby.counters.published).toBe(0);
    const diedAt = clock.now();
    primary.stop();
    for (let i = 0; i < 300; i++) await tick(false);
    clock.advance(300);
    await settle();

    expect(standby.counters.published).toBeGreaterThan(0);
    const afterDeath = published.filter((p) => p.at >= diedAt - 20);
    let gap = 0;
    for (let k = 1; k < afterDeath.length; k++)
      gap = Math.max(gap, afterDeath[k]!.at - afterDeath[k - 1]!.at);
    // The hold, plus one tick interval and a timer slot.
    expect(gap).toBeLessThanOrEqual(250 + 3 + 5 + 20);
    for (let k = 1; k < published.length; k++)
      expect(published[k]!.update.seq).toBeGreaterThan(published[k - 1]!.update.seq);
    expect(published.reduce((a, p) => a + p.update.n, 0)).toBe(seq);
    expect(published.at(-1)!.update.seq).toBe(seq);
  });

  it('a primary that pauses longer than the hold and comes back never counts a tick twice', async () => {
    const { clock, primary, standby, published } = await pair(100);
    let seq = 0;
    for (let i = 0; i < 400; i++) {
      seq++;
      const t = [quote('MSFT', seq)];
      // The primary stalls (a long GC pause) between ticks 150 and 250, then catches up.
      if (i < 150 || i >= 250) primary.onTicks(i === 250 ? backlog(151, 251) : t);
      standby.onTicks(t);
      await settle(2);
      clock.advance(2);
      await settle(2);
    }
    clock.advance(300);
    await settle();
    expect(standby.counters.published).toBeGreaterThan(0);
    for (let k = 1; k < published.length; k++)
      expect(published[k]!.update.seq).toBeGreaterThan(published[k - 1]!.update.seq);
    expect(published.reduce((a, p) => a + p.update.n, 0)).toBe(seq);
  });
});

function backlog(from: number, to: number) {
  const out = [];
  for (let s = from; s <= to; s++) out.push(quote('MSFT', s));
  return out;
}

describe('SourceStage: handing partitions over', () => {
  it('a primary publishes what it holds before it forgets its state, so no tick goes uncounted', async () => {
    const { stage, published, clock } = await setup(50);
    stage.onTicks([quote('AAPL', 1)]);
    await settle();
    // Within the interval: held for the trailing edge.
    clock.advance(5);
    stage.onTicks([quote('AAPL', 2), quote('AAPL', 3)]);
    await settle();
    expect(published.map((p) => p.update.seq)).toEqual([1]);
    stage.onOwnershipChange();
    await settle();
    expect(published.map((p) => [p.update.seq, p.update.n])).toEqual([
      [1, 1],
      [3, 2],
    ]);
  });
});
