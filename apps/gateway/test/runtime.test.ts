import { MemoryBackplane } from '@tickhub/backplane';
import { RedisBackplane } from '@tickhub/backplane-redis';
import { createLogger } from '@tickhub/log';
import { freePort } from '@tickhub/testkit';
import { loadConfig } from '../src/config';
import { createBackplane, GatewayRuntime } from '../src/runtime';

const quiet = createLogger({ app: 'gateway', level: 'error' });

describe('createBackplane', () => {
  it('uses the in-memory backplane without REDIS_URL and Redis with it', async () => {
    const memory = createBackplane(loadConfig({ GATEWAY_ID: 'gw-m' }), quiet);
    expect(memory).toBeInstanceOf(MemoryBackplane);
    const redis = createBackplane(
      loadConfig({ GATEWAY_ID: 'gw-r', REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: 'app1:' }),
      quiet,
    );
    try {
      expect(redis).toBeInstanceOf(RedisBackplane);
      expect(redis.podId).toBe('gw-r');
      expect((redis as RedisBackplane).keyPrefix).toBe('app1:');
    } finally {
      await redis.close();
    }
  });
});

describe('GatewayRuntime start attempts while Redis is down', () => {
  it('asks the backplane to connect once and adds no listener per attempt', async () => {
    // A port nothing listens on: the one just freed.
    const port = await freePort();
    const runtime = new GatewayRuntime(
      loadConfig({ GATEWAY_ID: 'gw-down', REDIS_URL: `redis://127.0.0.1:${port}`, SIM_SYMBOLS: '5' }),
      quiet,
    );
    const connect = jest.spyOn(runtime.backplane, 'connect');
    const listen = jest.spyOn(runtime.backplane, 'onStateChange');
    try {
      for (let i = 0; i < 3; i++) {
        await expect(runtime.start(100)).rejects.toThrow(/backplane not ready within 100 ms/);
        // What startInBackground does after a failed attempt.
        (runtime as unknown as { started: boolean }).started = false;
      }
      expect(connect).toHaveBeenCalledTimes(1);
      // At most the one that the single connect() registers itself.
      expect(listen.mock.calls.length).toBeLessThanOrEqual(1);
      expect(runtime.isReady()).toBe(false);
      expect(['connecting', 'reconnecting']).toContain(runtime.backplaneState());
      expect(runtime.backplaneStats()).toMatchObject({ published: 0 });
    } finally {
      await runtime.stop();
    }
  });

  it('in embedded mode is ready at once with the in-memory backplane', async () => {
    const runtime = new GatewayRuntime(
      loadConfig({ GATEWAY_ID: 'gw-e', SIM_SYMBOLS: '5', SIM_RATE: '10' }),
      quiet,
    );
    try {
      await runtime.start();
      expect(runtime.backplaneState()).toBe('ready');
      expect(runtime.isReady()).toBe(true);
      expect(runtime.backplaneStats()).toBeUndefined();
    } finally {
      await runtime.stop();
    }
  });
});
