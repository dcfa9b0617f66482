import fc from 'fast-check';
import { describeBackplaneContract } from '../src/contract';
import { MemoryBackplane, MemoryBus } from '../src/index';

const PRESENCE_TTL_MS = 200;

describeBackplaneContract('MemoryBackplane', async () => {
  const bus = new MemoryBus();
  const pods = ['pod-a', 'pod-b', 'pod-c'].map(
    (podId) => new MemoryBackplane({ podId, bus, presenceTtlMs: PRESENCE_TTL_MS }),
  );
  await Promise.all(pods.map((pod) => pod.connect()));
  return {
    pods,
    presenceTtlMs: PRESENCE_TTL_MS,
    cleanup: async () => {
      await Promise.all(pods.map((pod) => pod.close()));
    },
  };
});

const bytes = (text: string) => new TextEncoder().encode(text);

describe('MemoryBackplane', () => {
  it('delivers asynchronously, never inside publish', async () => {
    const pod = new MemoryBackplane();
    await pod.connect();
    const seen: string[] = [];
    pod.onUpdate((symbol) => seen.push(symbol));
    await pod.addInterest('AAPL');
    pod.publish('AAPL', bytes('1'));
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual(['AAPL']);
    await pod.close();
  });

  it('gives a lone instance its own bus', async () => {
    const one = new MemoryBackplane({ podId: 'same' });
    const two = new MemoryBackplane({ podId: 'same' });
    await one.connect();
    await two.connect();
    const seen: string[] = [];
    two.onUpdate((symbol) => seen.push(symbol));
    await two.addInterest('AAPL');
    one.publish('AAPL', bytes('1'));
    one.setLastValue('AAPL', bytes('1'));
    two.publish('AAPL', bytes('2'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['AAPL']);
    expect(await two.getLastValue('AAPL')).toBeUndefined();
    expect(one.bus).not.toBe(two.bus);
  });

  it('refuses a second pod with the same id on one bus', () => {
    const bus = new MemoryBus();
    new MemoryBackplane({ podId: 'p', bus });
    expect(() => new MemoryBackplane({ podId: 'p', bus })).toThrow(/already in use/);
  });

  it('is not ready before connect and cannot reconnect after close', async () => {
    const pod = new MemoryBackplane();
    expect(pod.isReady()).toBe(false);
    expect(pod.getState()).toBe('connecting');
    await pod.connect();
    expect(pod.getState()).toBe('ready');
    await pod.close();
    await expect(pod.connect()).rejects.toThrow(/closed/);
  });

  it('expires presence by the injected clock', async () => {
    let now = 1_000;
    const bus = new MemoryBus();
    const a = new MemoryBackplane({ podId: 'a', bus, presenceTtlMs: 100, now: () => now });
    const b = new MemoryBackplane({ podId: 'b', bus, presenceTtlMs: 100, now: () => now });
    await a.connect();
    await b.connect();
    a.reportPresence({ connections: 1, subscribers: { X: 1 } });
    b.reportPresence({ connections: 4, subscribers: { X: 1 } });
    expect(await a.getClusterPresence()).toMatchObject({ pods: 2, connections: 5, subscribers: { X: 2 } });
    now += 99;
    expect((await a.getClusterPresence()).pods).toBe(2);
    a.reportPresence({ connections: 1, subscribers: { X: 1 } });
    now += 1;
    expect(await a.getClusterPresence()).toEqual({
      pods: 1,
      connections: 1,
      subscribers: { X: 1 },
      counters: {},
    });
  });

  it('holds presence as reported, not as later mutated by the pod', async () => {
    const pod = new MemoryBackplane();
    await pod.connect();
    const subscribers: Record<string, number> = { X: 1 };
    pod.reportPresence({ connections: 1, subscribers });
    subscribers.X = 99;
    expect((await pod.getClusterPresence()).subscribers).toEqual({ X: 1 });
  });

  it('keeps one last value per symbol and drops subscriptions with the last interest', async () => {
    const bus = new MemoryBus();
    const pod = new MemoryBackplane({ bus });
    await pod.connect();
    for (let i = 0; i < 10_000; i++) pod.setLastValue(`S${i % 50}`, bytes(String(i)));
    expect(bus.lastValueCount()).toBe(50);
    for (let i = 0; i < 100; i++) await pod.addInterest(`S${i}`);
    expect(bus.subscriberCount('S1')).toBe(1);
    for (let i = 0; i < 100; i++) await pod.removeInterest(`S${i}`);
    expect(bus.subscriberCount('S1')).toBe(0);
    expect(pod.interests()).toEqual([]);
  });

  it('isolates a throwing handler from the other pods', async () => {
    const errors: unknown[] = [];
    const bus = new MemoryBus({ onHandlerError: (error) => errors.push(error) });
    const bad = new MemoryBackplane({ bus });
    const good = new MemoryBackplane({ bus });
    await bad.connect();
    await good.connect();
    bad.onUpdate(() => {
      throw new Error('handler bug');
    });
    const seen: string[] = [];
    good.onUpdate((_symbol, payload) => seen.push(Buffer.from(payload).toString()));
    await bad.addInterest('X');
    await good.addInterest('X');
    bad.publish('X', bytes('1'));
    bad.publish('X', bytes('2'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['1', '2']);
    expect(errors).toHaveLength(2);
  });
});

describe('MemoryBackplane interest (property)', () => {
  it('matches a reference count model under any sequence of adds and removes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.constantFrom('A', 'B', 'C')), { maxLength: 60 }),
        async (ops) => {
          const bus = new MemoryBus();
          const pod = new MemoryBackplane({ bus });
          const publisher = new MemoryBackplane({ bus });
          await pod.connect();
          await publisher.connect();
          const model = new Map<string, number>();
          for (const [add, symbol] of ops) {
            if (add) {
              await pod.addInterest(symbol);
              model.set(symbol, (model.get(symbol) ?? 0) + 1);
            } else {
              await pod.removeInterest(symbol);
              const n = model.get(symbol) ?? 0;
              if (n <= 1) model.delete(symbol);
              else model.set(symbol, n - 1);
            }
          }
          expect(pod.interests().sort()).toEqual([...model.keys()].sort());
          const seen: string[] = [];
          pod.onUpdate((symbol) => seen.push(symbol));
          for (const symbol of ['A', 'B', 'C']) {
            expect(bus.subscriberCount(symbol)).toBe(model.has(symbol) ? 1 : 0);
            publisher.publish(symbol, bytes('x'));
          }
          await new Promise((resolve) => setImmediate(resolve));
          expect(seen.sort()).toEqual([...model.keys()].sort());
        },
      ),
      { numRuns: 200 },
    );
  });
});
