import type { BackplaneState } from '@tickhub/backplane';
import { describeBackplaneContract } from '@tickhub/backplane/contract';
import { createLogger } from '@tickhub/log';
import { Redis } from 'ioredis';
import { decodeEnvelope, encodeEnvelope } from '../src/envelope';
import { RedisBackplane } from '../src/index';
import { freePort, RedisProcess, requireRedisUrl, runId, waitFor } from './helpers';

const REDIS_URL = requireRedisUrl();
const PRESENCE_TTL_MS = 300;
const quiet = createLogger({ app: 'backplane-redis-test', level: 'error' });

let clusterSequence = 0;
function prefix(): string {
  return `tickhub-test:${runId}:${++clusterSequence}:`;
}

async function makePods(count: number, keyPrefix: string, url = REDIS_URL): Promise<RedisBackplane[]> {
  const pods = Array.from(
    { length: count },
    (_, i) =>
      new RedisBackplane({
        url,
        keyPrefix,
        podId: `pod-${i}`,
        presenceTtlMs: PRESENCE_TTL_MS,
        logger: quiet,
      }),
  );
  await Promise.all(pods.map((pod) => pod.connect()));
  return pods;
}

async function deleteKeys(url: string, keyPrefix: string): Promise<void> {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const keys = await admin.keys(`${keyPrefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  } finally {
    admin.disconnect();
  }
}

describeBackplaneContract('RedisBackplane', async () => {
  const keyPrefix = prefix();
  const pods = await makePods(3, keyPrefix);
  return {
    pods,
    presenceTtlMs: PRESENCE_TTL_MS,
    cleanup: async () => {
      await Promise.all(pods.map((pod) => pod.close()));
      await deleteKeys(REDIS_URL, keyPrefix);
    },
  };
});

const bytes = (text: string) => new TextEncoder().encode(text);

describe('RedisBackplane.ping', () => {
  it('measures a round trip while connected and rejects once closed', async () => {
    const keyPrefix = prefix();
    const [pod] = await makePods(1, keyPrefix);
    if (!pod) throw new Error('no pod');
    try {
      const rttMs = await pod.ping();
      expect(Number.isFinite(rttMs)).toBe(true);
      expect(rttMs).toBeGreaterThanOrEqual(0);
    } finally {
      await pod.close();
      await deleteKeys(REDIS_URL, keyPrefix);
    }
    await expect(pod.ping()).rejects.toThrow(/not connected/);
  });
});

describe('RedisBackplane on Redis', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(() => {
    admin.disconnect();
  });

  it('delivers a burst of publishes complete and in order, in few pipelines', async () => {
    const keyPrefix = prefix();
    const [a, b] = (await makePods(2, keyPrefix)) as [RedisBackplane, RedisBackplane];
    try {
      const seen: number[] = [];
      b.onUpdate((_symbol, payload) => seen.push(Buffer.from(payload).readUInt32BE(0)));
      await b.addInterest('BURST');
      const before = a.stats().pipelines;
      const n = 5_000;
      for (let i = 0; i < n; i++) {
        const payload = Buffer.alloc(4);
        payload.writeUInt32BE(i);
        a.publish('BURST', payload);
        a.setLastValue('BURST', payload);
      }
      await waitFor('the whole burst', () => seen.length === n, 30_000);
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => i));
      // 5 000 publishes written in one turn go out as batches of at most 1 000, not one by one.
      const pipelines = a.stats().pipelines - before;
      console.log(`burst of ${n} publishes + last values: ${pipelines} pipelines`);
      expect(pipelines).toBeLessThanOrEqual(n / 1_000 + 1);
      const last = await b.getLastValue('BURST');
      expect(Buffer.from(last!).readUInt32BE(0)).toBe(n - 1);
      expect(await admin.hlen(`${keyPrefix}lv`)).toBe(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await deleteKeys(REDIS_URL, keyPrefix);
    }
  }, 60_000);

  it('subscribes only the pods with interest (PUBSUB NUMSUB)', async () => {
    const keyPrefix = prefix();
    const [a, b] = (await makePods(2, keyPrefix)) as [RedisBackplane, RedisBackplane];
    const channel = a.updateChannel('NUMSUB');
    const numsub = async () => {
      const reply = (await admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
      return Number(reply[1]);
    };
    try {
      expect(await numsub()).toBe(0);
      await a.addInterest('NUMSUB');
      await a.addInterest('NUMSUB');
      expect(await numsub()).toBe(1);
      await b.addInterest('NUMSUB');
      expect(await numsub()).toBe(2);
      await a.removeInterest('NUMSUB');
      expect(await numsub()).toBe(2);
      await a.removeInterest('NUMSUB');
      await waitFor('pod a unsubscribed', async () => (await numsub()) === 1);
      await b.removeInterest('NUMSUB');
      await waitFor('nobody subscribed', async () => (await numsub()) === 0);
      expect(a.subscribedChannels()).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('lets concurrent addInterest calls all wait for the one SUBSCRIBE', async () => {
    const keyPrefix = prefix();
    const [a, b] = (await makePods(2, keyPrefix)) as [RedisBackplane, RedisBackplane];
    try {
      const seen: string[] = [];
      b.onUpdate((symbol) => seen.push(symbol));
      await Promise.all([b.addInterest('CONC'), b.addInterest('CONC'), b.addInterest('CONC')]);
      a.publish('CONC', bytes('1'));
      await waitFor('update after concurrent interest', () => seen.length === 1);
      await b.removeInterest('CONC');
      await b.removeInterest('CONC');
      expect(b.interests()).toEqual(['CONC']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('bounds unacknowledged writes when Redis stalls, dropping the excess', async () => {
    // CLIENT PAUSE stalls every client, so this runs on a redis-server of its own.
    const server = new RedisProcess(await freePort());
    await server.start();
    const keyPrefix = prefix();
    const pod = new RedisBackplane({ url: server.url, keyPrefix, maxPendingWrites: 1_000, logger: quiet });
    const admin2 = new Redis(server.url, { maxRetriesPerRequest: 1 });
    try {
      await pod.connect();
      const seen: number[] = [];
      pod.onUpdate((_symbol, payload) => seen.push(Buffer.from(payload).readUInt32BE(0)));
      await pod.addInterest('STALL');
      await admin2.call('CLIENT', 'PAUSE', '1500', 'ALL');
      for (let i = 0; i < 5_000; i++) {
        const payload = Buffer.alloc(4);
        payload.writeUInt32BE(i);
        pod.publish('STALL', payload);
        if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
      }
      const dropped = pod.stats().droppedPublishes;
      console.log(`Redis paused: ${dropped} of 5000 publishes dropped at maxPendingWrites=1000`);
      expect(dropped).toBeGreaterThanOrEqual(4_000);
      // Once Redis resumes, what was accepted arrives complete and in order, and publishing works again.
      await waitFor('accepted publishes delivered', () => seen.length === 5_000 - dropped, 30_000);
      expect(seen).toEqual([...seen].sort((x, y) => x - y));
      const after = Buffer.alloc(4);
      after.writeUInt32BE(99_999);
      pod.publish('STALL', after);
      await waitFor('publish after the stall', () => seen.includes(99_999));
      expect(pod.isReady()).toBe(true);
    } finally {
      admin2.disconnect();
      await pod.close();
      await server.kill();
    }
  }, 60_000);

  it('drops an unreadable cluster message without harming the pod', async () => {
    const keyPrefix = prefix();
    const [a] = (await makePods(1, keyPrefix)) as [RedisBackplane];
    try {
      const received: string[] = [];
      a.onMessage('hub', (m) => received.push(Buffer.from(m.payload).toString()));
      await waitFor('topic subscribed', async () => {
        const reply = (await admin.call('PUBSUB', 'NUMSUB', a.messageChannel('hub'))) as [string, number];
        return Number(reply[1]) === 1;
      });
      await admin.publish(a.messageChannel('hub'), Buffer.from([9, 9, 9]));
      await admin.publish(a.messageChannel('hub'), Buffer.from([1, 0, 0, 5, 0x61]));
      a.sendMessage({ topic: 'hub', target: { kind: 'all' }, payload: bytes('good') });
      await waitFor('the good message', () => received.length === 1);
      expect(received).toEqual(['good']);
      expect(a.stats().badMessages).toBe(2);
      expect(a.isReady()).toBe(true);
    } finally {
      await a.close();
    }
  }, 30_000);

  it('rejects a missing url and reports an unreachable Redis clearly', async () => {
    expect(() => new RedisBackplane({ url: '', logger: quiet })).toThrow(/REDIS_URL/);
    expect(() => new RedisBackplane({ url: REDIS_URL, keyPrefix: 'a{b}', logger: quiet })).toThrow(
      /hash tags/,
    );
    const port = await freePort();
    const pod = new RedisBackplane({
      url: `redis://127.0.0.1:${port}`,
      connectTimeoutMs: 500,
      logger: quiet,
    });
    await expect(pod.connect()).rejects.toThrow(/could not reach Redis/);
    expect(pod.isReady()).toBe(false);
    expect(() => pod.publish('X', bytes('1'))).not.toThrow();
    await expect(pod.getLastValue('X')).rejects.toThrow(/not reachable/);
    await pod.close();
    expect(pod.getState()).toBe('closed');
  }, 30_000);

  it('recovers by itself after a Redis restart and resubscribes every channel', async () => {
    const server = new RedisProcess(await freePort());
    await server.start();
    const keyPrefix = prefix();
    const [a, b] = (await makePods(2, keyPrefix, server.url)) as [RedisBackplane, RedisBackplane];
    const states: BackplaneState[] = [];
    b.onStateChange((state) => states.push(state));
    const seen: string[] = [];
    b.onUpdate((symbol, payload) => seen.push(`${symbol}=${Buffer.from(payload).toString()}`));
    const messages: string[] = [];
    b.onMessage('hub', (m) => messages.push(Buffer.from(m.payload).toString()));
    try {
      const symbols = Array.from({ length: 50 }, (_, i) => `R${i}`);
      for (const symbol of symbols) await b.addInterest(symbol);
      a.publish('R7', bytes('before'));
      await waitFor('update before the restart', () => seen.includes('R7=before'));

      const killed = Date.now();
      await server.kill();
      await waitFor('both pods reconnecting', () => !a.isReady() && !b.isReady());
      console.log(`Redis killed: pods reported reconnecting after ${Date.now() - killed} ms`);
      // Interest changes during the outage take effect on recovery.
      await b.addInterest('NEW');
      await b.removeInterest('R1');
      const droppedBefore = a.stats().droppedPublishes;
      for (let i = 0; i < 1_000; i++) a.publish('R7', bytes(`down-${i}`));
      a.setLastValue('R7', bytes('set-while-down'));
      expect(a.stats().droppedPublishes - droppedBefore).toBe(1_000);

      const restarted = Date.now();
      await server.start();
      await waitFor('both pods ready again', () => a.isReady() && b.isReady(), 30_000);
      const recoveryMs = Date.now() - restarted;
      console.log(`Redis restart: pods ready and resubscribed ${recoveryMs} ms after redis-server was back`);

      expect(states).toEqual(['reconnecting', 'ready']);
      const probe = new Redis(server.url, { maxRetriesPerRequest: 1 });
      try {
        const reply = (await probe.call(
          'PUBSUB',
          'NUMSUB',
          ...symbols.map((s) => b.updateChannel(s)),
        )) as Array<string | number>;
        const counts = reply.filter((_, i) => i % 2 === 1).map(Number);
        expect(counts).toEqual(symbols.map((s) => (s === 'R1' ? 0 : 1)));
        const fresh = (await probe.call('PUBSUB', 'NUMSUB', b.updateChannel('NEW'))) as [string, number];
        expect(Number(fresh[1])).toBe(1);
        // The last value set during the outage was rewritten into the empty Redis.
        await waitFor('last value rewritten', async () => {
          const value = await probe.hgetBuffer(`${keyPrefix}lv`, 'R7');
          return value?.toString() === 'set-while-down';
        });
      } finally {
        probe.disconnect();
      }

      a.publish('R7', bytes('after'));
      a.publish('R42', bytes('after'));
      a.publish('R1', bytes('after'));
      a.publish('NEW', bytes('after'));
      a.sendMessage({ topic: 'hub', target: { kind: 'all' }, payload: bytes('after') });
      await waitFor(
        'updates after the restart',
        () => seen.includes('R7=after') && seen.includes('R42=after') && seen.includes('NEW=after'),
      );
      expect(seen).not.toContain('R1=after');
      await waitFor('message after the restart', () => messages.includes('after'));
      expect(seen.some((entry) => entry.includes('down-'))).toBe(false);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await server.kill();
    }
  }, 90_000);
});

describe('cluster message envelope', () => {
  it('round-trips every target kind with except and binary payload', () => {
    const payload = new Uint8Array([0, 1, 2, 255]);
    for (const target of [
      { kind: 'all' as const },
      { kind: 'group' as const, group: 'g€' },
      { kind: 'user' as const, user: 'alice' },
      { kind: 'connection' as const, connectionId: 'c-1' },
    ]) {
      const message = { topic: 't', target, payload, origin: 'pod-ü', except: ['x', 'y'] };
      expect(decodeEnvelope('t', encodeEnvelope(message))).toEqual({
        ...message,
        payload: Buffer.from(payload),
      });
    }
    const noExcept = decodeEnvelope(
      't',
      encodeEnvelope({ topic: 't', target: { kind: 'all' }, payload, origin: 'o' }),
    );
    expect(noExcept.except).toBeUndefined();
  });

  it('rejects truncated and unknown envelopes', () => {
    const good = encodeEnvelope({
      topic: 't',
      target: { kind: 'user', user: 'u' },
      payload: bytes('p'),
      origin: 'o',
    });
    for (let length = 0; length < 9; length++) {
      expect(() => decodeEnvelope('t', good.subarray(0, length))).toThrow(/truncated|version|kind/);
    }
    expect(() => decodeEnvelope('t', Buffer.from([2, 0, 0, 0, 0, 0]))).toThrow(/version/);
    expect(() => decodeEnvelope('t', Buffer.from([1, 7, 0, 0, 0, 0]))).toThrow(/kind/);
  });
});
