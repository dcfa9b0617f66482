/**
 * The contract every Backplane implementation must pass, as a jest suite. Import it from tests only
 * (`@tickhub/backplane/contract`): it uses jest's globals, so production code never loads it.
 *
 * `makeCluster` returns fresh, connected pods that share one medium (one MemoryBus, one Redis with a
 * unique key prefix, ...) and nothing with any other cluster it returned. At least three pods.
 * `presenceTtlMs` (if given) is the presence TTL the pods were built with; keep it short (≤ 1 s) so
 * the expiry test is quick.
 */
import type { Backplane, BackplaneState, ClusterMessage, ClusterPresence } from './backplane';

export interface ContractCluster {
  pods: Backplane[];
  cleanup(): Promise<void>;
  presenceTtlMs?: number;
}

const TEST_TIMEOUT_MS = 30_000;
const WAIT_TIMEOUT_MS = 10_000;

let symbolSequence = 0;
/** Unique per test so that a late delivery from one test can never satisfy another. */
function uniqueSymbol(name: string): string {
  return `${name}.${++symbolSequence}${Math.random().toString(36).slice(2, 6)}`;
}

const enc = new TextEncoder();
const bytes = (text: string): Uint8Array => enc.encode(text);
const text = (payload: Uint8Array): string => Buffer.from(payload).toString('utf8');

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = WAIT_TIMEOUT_MS,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Records every update a pod receives, as "symbol=payload" strings in arrival order. */
function record(pod: Backplane): string[] {
  const seen: string[] = [];
  pod.onUpdate((symbol, payload) => {
    seen.push(`${symbol}=${text(payload)}`);
  });
  return seen;
}

function spec(title: string, fn: () => Promise<unknown>): void {
  it(title, fn, TEST_TIMEOUT_MS);
}

export function describeBackplaneContract(name: string, makeCluster: () => Promise<ContractCluster>): void {
  describe(`Backplane contract: ${name}`, () => {
    let cluster: ContractCluster;
    let a: Backplane;
    let b: Backplane;
    let c: Backplane;

    beforeEach(async () => {
      cluster = await makeCluster();
      if (cluster.pods.length < 3) throw new Error('the contract needs a cluster of at least three pods');
      [a, b, c] = cluster.pods as [Backplane, Backplane, Backplane];
    }, TEST_TIMEOUT_MS);

    afterEach(async () => {
      await cluster.cleanup();
    }, TEST_TIMEOUT_MS);

    /**
     * Proves a pod did NOT receive something: updates from one pod reach another in publish order
     * across symbols, so once a later "fence" update has arrived, anything earlier has too. (On a
     * sharded medium, such as Redis Cluster, symbols on different shards are not ordered, and the
     * fence is only a strong hint.)
     */
    async function fence(from: Backplane, to: Backplane, seen: string[]): Promise<void> {
      const symbol = uniqueSymbol('FENCE');
      await to.addInterest(symbol);
      from.publish(symbol, bytes('fence'));
      await waitFor(`fence on ${to.podId}`, () => seen.includes(`${symbol}=fence`));
      await to.removeInterest(symbol);
      seen.splice(seen.indexOf(`${symbol}=fence`), 1);
    }

    spec('has unique pod ids and is ready after connect', async () => {
      const ids = new Set(cluster.pods.map((pod) => pod.podId));
      expect(ids.size).toBe(cluster.pods.length);
      for (const pod of cluster.pods) expect(pod.isReady()).toBe(true);
    });

    describe('symbol updates', () => {
      spec('delivers only to pods with interest in the symbol', async () => {
        const symbol = uniqueSymbol('AAPL');
        const seenA = record(a);
        const seenB = record(b);
        await a.addInterest(symbol);
        c.publish(symbol, bytes('1'));
        await waitFor('update on the interested pod', () => seenA.length === 1);
        await fence(c, b, seenB);
        expect(seenA).toEqual([`${symbol}=1`]);
        expect(seenB).toEqual([]);
        expect(a.interests()).toContain(symbol);
        expect(b.interests()).not.toContain(symbol);
      });

      spec('reference-counts interest per pod', async () => {
        const symbol = uniqueSymbol('MSFT');
        const seen = record(a);
        await a.addInterest(symbol);
        await a.addInterest(symbol);
        await a.removeInterest(symbol);
        expect(a.interests()).toContain(symbol);
        c.publish(symbol, bytes('still'));
        await waitFor('update after one of two removes', () => seen.includes(`${symbol}=still`));

        await a.removeInterest(symbol);
        expect(a.interests()).not.toContain(symbol);
        c.publish(symbol, bytes('gone'));
        await fence(c, a, seen);
        expect(seen).toEqual([`${symbol}=still`]);

        // A remove without an add is a no-op, not a negative count.
        await a.removeInterest(symbol);
        await a.addInterest(symbol);
        c.publish(symbol, bytes('again'));
        await waitFor('update after re-adding interest', () => seen.includes(`${symbol}=again`));
      });

      spec('keeps publish order per symbol', async () => {
        const s1 = uniqueSymbol('EURUSD');
        const s2 = uniqueSymbol('GBPUSD');
        const seen = record(b);
        await b.addInterest(s1);
        await b.addInterest(s2);
        const n = 500;
        for (let i = 0; i < n; i++) {
          c.publish(s1, bytes(String(i)));
          c.publish(s2, bytes(String(i)));
        }
        await waitFor('all updates', () => seen.length === 2 * n);
        for (const symbol of [s1, s2]) {
          const values = seen.filter((entry) => entry.startsWith(`${symbol}=`)).map((e) => e.split('=')[1]);
          expect(values).toEqual(Array.from({ length: n }, (_, i) => String(i)));
        }
      });

      spec('delivers updates from any pod to every interested pod, the publisher included', async () => {
        const symbol = uniqueSymbol('BTCUSD');
        const seen = cluster.pods.map((pod) => record(pod));
        for (const pod of cluster.pods) await pod.addInterest(symbol);
        for (const pod of cluster.pods) pod.publish(symbol, bytes(pod.podId));
        const expected = cluster.pods.map((pod) => `${symbol}=${pod.podId}`).sort();
        await waitFor('every update on every pod', () => seen.every((s) => s.length === expected.length));
        for (const s of seen) expect([...s].sort()).toEqual(expected);
      });

      spec('carries arbitrary bytes unchanged', async () => {
        const symbol = uniqueSymbol('BIN');
        const payload = new Uint8Array(256);
        for (let i = 0; i < payload.length; i++) payload[i] = i;
        const received: Uint8Array[] = [];
        b.onUpdate((_symbol, p) => received.push(new Uint8Array(p)));
        await b.addInterest(symbol);
        a.publish(symbol, payload);
        a.publish(symbol, new Uint8Array(0));
        await waitFor('binary updates', () => received.length === 2);
        expect(received[0]).toEqual(payload);
        expect(received[1]).toEqual(new Uint8Array(0));
      });

      spec('rejects bad input with a clear error', async () => {
        expect(() => a.publish('', bytes('x'))).toThrow(TypeError);
        expect(() => a.publish('X', 'not bytes' as unknown as Uint8Array)).toThrow(TypeError);
        expect(() => a.setLastValue('', bytes('x'))).toThrow(TypeError);
        await expect(a.addInterest(42 as unknown as string)).rejects.toThrow(TypeError);
        expect(() => a.sendMessage({ topic: '', target: { kind: 'all' }, payload: bytes('x') })).toThrow(
          TypeError,
        );
        expect(() =>
          a.sendMessage({
            topic: 't',
            target: { kind: 'nope' } as unknown as { kind: 'all' },
            payload: bytes('x'),
          }),
        ).toThrow(TypeError);
        expect(a.isReady()).toBe(true);
      });
    });

    describe('last-value cache', () => {
      spec('sets on one pod and reads on every pod', async () => {
        const s1 = uniqueSymbol('LV1');
        const s2 = uniqueSymbol('LV2');
        const missing = uniqueSymbol('LVMISSING');
        a.setLastValue(s1, bytes('first'));
        a.setLastValue(s1, bytes('second'));
        c.setLastValue(s2, bytes('other'));
        await waitFor('last values visible on another pod', async () => {
          const v1 = await b.getLastValue(s1);
          const v2 = await b.getLastValue(s2);
          return v1 !== undefined && text(v1) === 'second' && v2 !== undefined;
        });
        expect(await b.getLastValue(missing)).toBeUndefined();
        const values = await c.getLastValues([s1, missing, s2]);
        expect([...values.keys()].sort()).toEqual([s1, s2].sort());
        expect(text(values.get(s1)!)).toBe('second');
        expect(text(values.get(s2)!)).toBe('other');
        expect(values.has(missing)).toBe(false);
        expect((await a.getLastValues([])).size).toBe(0);
      });
    });

    describe('cluster messages', () => {
      spec('reaches every pod handling the topic, with target, except and origin intact', async () => {
        const topic = uniqueSymbol('hub');
        const otherTopic = uniqueSymbol('otherhub');
        const received = new Map<string, ClusterMessage[]>();
        for (const pod of [a, b]) {
          const list: ClusterMessage[] = [];
          received.set(pod.podId, list);
          pod.onMessage(topic, (m) => list.push(m));
        }
        const onOther: ClusterMessage[] = [];
        c.onMessage(otherTopic, (m) => onOther.push(m));
        // onMessage may subscribe asynchronously; a round trip through the topic proves it is live.
        await waitFor('topic handlers live', async () => {
          a.sendMessage({ topic, target: { kind: 'user', user: 'probe' }, payload: bytes('probe') });
          await new Promise((resolve) => setTimeout(resolve, 50));
          return [a, b].every((pod) => received.get(pod.podId)!.length > 0);
        });
        for (const list of received.values()) list.length = 0;

        a.sendMessage({ topic, target: { kind: 'all' }, payload: bytes('to-all'), except: ['conn-1'] });
        b.sendMessage({ topic, target: { kind: 'group', group: 'traders' }, payload: bytes('to-group') });
        c.sendMessage({ topic, target: { kind: 'user', user: 'alice' }, payload: bytes('to-user') });
        a.sendMessage({
          topic,
          target: { kind: 'connection', connectionId: 'conn-7' },
          payload: bytes('to-conn'),
          except: ['x', 'y'],
        });
        await waitFor('messages on both pods', () =>
          [a, b].every(
            (pod) => received.get(pod.podId)!.filter((m) => text(m.payload) !== 'probe').length === 4,
          ),
        );
        for (const pod of [a, b]) {
          const list = received.get(pod.podId)!.filter((m) => text(m.payload) !== 'probe');
          const byPayload = new Map(list.map((m) => [text(m.payload), m]));
          expect(byPayload.get('to-all')).toMatchObject({
            topic,
            target: { kind: 'all' },
            except: ['conn-1'],
            origin: a.podId,
          });
          expect(byPayload.get('to-group')).toMatchObject({
            topic,
            target: { kind: 'group', group: 'traders' },
            origin: b.podId,
          });
          expect(byPayload.get('to-group')!.except ?? []).toEqual([]);
          expect(byPayload.get('to-user')).toMatchObject({
            target: { kind: 'user', user: 'alice' },
            origin: c.podId,
          });
          expect(byPayload.get('to-conn')).toMatchObject({
            target: { kind: 'connection', connectionId: 'conn-7' },
            except: ['x', 'y'],
            origin: a.podId,
          });
        }

        // Topic isolation: the other topic's handler saw none of it, only its own messages (sent until
        // its subscription is live).
        await waitFor('message on the other topic', async () => {
          a.sendMessage({ topic: otherTopic, target: { kind: 'all' }, payload: bytes('other') });
          await new Promise((resolve) => setTimeout(resolve, 50));
          return onOther.length > 0;
        });
        expect(onOther.every((m) => m.topic === otherTopic && text(m.payload) === 'other')).toBe(true);
        for (const list of received.values()) {
          expect(list.every((m) => m.topic === topic && text(m.payload) !== 'other')).toBe(true);
        }
      });
    });

    describe('presence', () => {
      spec('sums the reports of live pods and drops a pod that stops reporting', async () => {
        const ttl = cluster.presenceTtlMs ?? 15_000;
        const reportA = () =>
          a.reportPresence({ connections: 2, subscribers: { X: 1 }, counters: { 'ip:1': 2 } });
        let bReportedAt = 0;
        let presence: ClusterPresence | undefined;
        // Both keep reporting until the view has both: a slow machine must not let them expire first.
        await waitFor('both reports', async () => {
          reportA();
          b.reportPresence({
            connections: 3,
            subscribers: { X: 2, Y: 1 },
            counters: { 'ip:1': 1, 'ip:2': 2 },
          });
          bReportedAt = Date.now();
          presence = await c.getClusterPresence();
          return presence.pods === 2;
        });
        expect(presence).toEqual({
          pods: 2,
          connections: 5,
          subscribers: { X: 3, Y: 1 },
          counters: { 'ip:1': 3, 'ip:2': 2 },
        });

        // a keeps reporting, b stops: b must leave the view once its TTL has passed, not before.
        await waitFor(
          'the silent pod to expire',
          async () => {
            reportA();
            presence = await c.getClusterPresence();
            return presence.pods === 1;
          },
          ttl * 10 + WAIT_TIMEOUT_MS,
        );
        expect(Date.now() - bReportedAt).toBeGreaterThanOrEqual(ttl - 20);
        expect(presence).toEqual({ pods: 1, connections: 2, subscribers: { X: 1 }, counters: { 'ip:1': 2 } });
      });
    });

    describe('lifecycle', () => {
      spec('reports closed after close, closes idempotently and stops delivery', async () => {
        const symbol = uniqueSymbol('CLOSE');
        const states: BackplaneState[] = [];
        a.onStateChange((state) => states.push(state));
        const seenA = record(a);
        const seenB = record(b);
        await a.addInterest(symbol);
        await b.addInterest(symbol);
        c.publish(symbol, bytes('before'));
        await waitFor('update before close', () => seenA.length === 1 && seenB.length === 1);

        await a.close();
        await a.close();
        expect(a.isReady()).toBe(false);
        expect(states).toEqual(['closed']);

        c.publish(symbol, bytes('after'));
        await waitFor('update after close on the open pod', () => seenB.length === 2);
        await fence(c, b, seenB);
        expect(seenA).toEqual([`${symbol}=before`]);
        // Writes after close are ignored, not thrown: a closing gateway may still be flushing.
        expect(() => a.publish(symbol, bytes('late'))).not.toThrow();
        expect(() => a.setLastValue(symbol, bytes('late'))).not.toThrow();
        await expect(a.addInterest(symbol)).rejects.toThrow(/closed/);
        expect(b.isReady()).toBe(true);
      });

      spec('drops a closed pod from the cluster presence', async () => {
        await waitFor('both reports', async () => {
          a.reportPresence({ connections: 1, subscribers: {} });
          b.reportPresence({ connections: 1, subscribers: {} });
          return (await c.getClusterPresence()).pods === 2;
        });
        await a.close();
        await waitFor('closed pod gone', async () => {
          b.reportPresence({ connections: 1, subscribers: {} });
          return (await c.getClusterPresence()).pods === 1;
        });
      });
    });
  });
}
