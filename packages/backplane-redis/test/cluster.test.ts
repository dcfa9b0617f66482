import { describeBackplaneContract } from '@tickhub/backplane/contract';
import { createLogger } from '@tickhub/log';
import { Cluster } from 'ioredis';
import { RedisBackplane } from '../src/index';
import { RedisClusterProcesses, runId, waitFor } from './helpers';

// Redis Cluster mode (sharded pub/sub) against three real cluster masters started for this file.
const cluster = new RedisClusterProcesses();
const PRESENCE_TTL_MS = 300;
const quiet = createLogger({ app: 'backplane-redis-test', level: 'error' });
let sequence = 0;

beforeAll(async () => {
  await cluster.start();
}, 60_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

async function makePods(count: number) {
  const keyPrefix = `tickhub-test:${runId}:c${++sequence}:`;
  const pods = Array.from(
    { length: count },
    (_, i) =>
      new RedisBackplane({
        url: cluster.url,
        cluster: true,
        keyPrefix,
        podId: `pod-${i}`,
        presenceTtlMs: PRESENCE_TTL_MS,
        logger: quiet,
      }),
  );
  await Promise.all(pods.map((pod) => pod.connect()));
  return pods;
}

describeBackplaneContract('RedisBackplane (Redis Cluster, sharded pub/sub)', async () => {
  const pods = await makePods(3);
  return {
    pods,
    presenceTtlMs: PRESENCE_TTL_MS,
    cleanup: async () => {
      await Promise.all(pods.map((pod) => pod.close()));
    },
  };
});

describe('RedisBackplane on Redis Cluster', () => {
  it('puts a symbol channel and its last-value key on one slot, and spreads symbols over shards', async () => {
    const [a, b] = (await makePods(2)) as [RedisBackplane, RedisBackplane];
    const admin = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]!.port }]);
    try {
      const symbols = Array.from({ length: 40 }, (_, i) => `S${i}`);
      const slots = new Set<number>();
      for (const symbol of symbols) {
        const channelSlot = Number(await admin.call('CLUSTER', 'KEYSLOT', a.updateChannel(symbol)));
        const keySlot = Number(await admin.call('CLUSTER', 'KEYSLOT', a.lastValueKey(symbol)));
        expect(channelSlot).toBe(keySlot);
        slots.add(channelSlot);
      }
      expect(slots.size).toBeGreaterThan(1);

      const seen: string[] = [];
      b.onUpdate((symbol) => seen.push(symbol));
      for (const symbol of symbols) await b.addInterest(symbol);
      for (const symbol of symbols) a.publish(symbol, new Uint8Array([1]));
      await waitFor('updates from every shard', () => seen.length === symbols.length);
      expect([...seen].sort()).toEqual([...symbols].sort());
    } finally {
      admin.disconnect();
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});
