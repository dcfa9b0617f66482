import { randomBytes } from 'node:crypto';
import { RedisBackplane } from '@tickhub/backplane-redis';
import { createLogger } from '@tickhub/log';
import { clusterSuite } from './cluster-suite';

jest.setTimeout(60_000);

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) {
  throw new Error(
    'REDIS_URL is not set: this suite needs a real Redis (e.g. REDIS_URL=redis://127.0.0.1:6379)',
  );
}

clusterSuite('two pods on the Redis backplane', async () => {
  // A prefix of its own per run: other tests share this Redis.
  const keyPrefix = `tickhub-signalr-test-${randomBytes(4).toString('hex')}:`;
  const logger = createLogger({ app: 'signalr-test', level: 'error' });
  const backplanes = [
    new RedisBackplane({ url: REDIS_URL, podId: 'pod-a', keyPrefix, logger }),
    new RedisBackplane({ url: REDIS_URL, podId: 'pod-b', keyPrefix, logger }),
  ];
  await Promise.all(backplanes.map((bp) => bp.connect()));
  return { backplanes, close: async () => void (await Promise.all(backplanes.map((bp) => bp.close()))) };
});
