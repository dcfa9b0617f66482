import type { Quote, QuoteUpdate } from '@tickhub/protocol';
import type { TickSource } from '../../src/core/tick-source';

export interface ContractSubject {
  source: TickSource;
  /** Makes ticks flow (produces records for Kafka; nothing to do for the simulator). */
  feed(): Promise<void>;
  /** At least this many ticks arrive after feed(). */
  expected: number;
  cleanup(): Promise<void>;
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What every TickSource must do: the simulator and Kafka run the same suite. */
export function tickSourceContract(
  name: string,
  make: () => Promise<ContractSubject>,
  timeoutMs = 60_000,
): void {
  describe(`TickSource contract: ${name}`, () => {
    let subject: ContractSubject;
    beforeAll(async () => {
      subject = await make();
    }, timeoutMs);
    afterAll(async () => {
      await subject?.source.stop();
      await subject?.cleanup();
    }, timeoutMs);

    it(
      'connects on start, delivers valid ticks in seq order per symbol, stops cleanly',
      async () => {
        const { source } = subject;
        expect(source.problem(Date.now())).toEqual(expect.any(String));
        const got: Array<Quote | QuoteUpdate> = [];
        await source.start({
          onTicks: (ticks) => {
            for (const t of ticks) got.push(t);
          },
          onOwnershipChange: () => undefined,
        });
        await waitFor(() => source.problem(Date.now()) === undefined, timeoutMs, 'connected');
        await subject.feed();
        await waitFor(() => got.length >= subject.expected, timeoutMs, `${subject.expected} ticks`);

        const lastSeq = new Map<string, number>();
        for (const t of got) {
          expect(typeof t.symbol).toBe('string');
          for (const k of [
            'seq',
            'ts',
            'bid',
            'ask',
            'bidSize',
            'askSize',
            'last',
            'lastSize',
            'volume',
          ] as const) {
            expect(Number.isFinite(t[k])).toBe(true);
          }
          const prev = lastSeq.get(t.symbol) ?? -1;
          expect(t.seq).toBeGreaterThan(prev);
          lastSeq.set(t.symbol, t.seq);
        }
        const lag = source.lag();
        expect(Number.isFinite(lag) && lag >= 0).toBe(true);

        await source.stop();
        expect(source.problem(Date.now())).toEqual(expect.any(String));
        const count = got.length;
        await new Promise((r) => setTimeout(r, 300));
        expect(got.length).toBe(count);
      },
      timeoutMs,
    );
  });
}
