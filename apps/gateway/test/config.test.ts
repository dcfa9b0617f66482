import { DEFAULT_LIMITS } from '@tickhub/protocol';
import { ConfigError, loadConfig } from '../src/config';

describe('loadConfig', () => {
  it('gives embedded mode on port 8080 with the protocol limits when nothing is set', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.kafkaBrokers).toBeUndefined();
    expect(c.kafkaTopic).toBe('md.ticks');
    expect(c.kafkaGroupId).toBe('gateway');
    expect(c.limits).toEqual(DEFAULT_LIMITS);
    expect(c.gatewayId).toMatch(/^gw-[0-9a-f]{8}$/);
    expect(c.allowedOrigins).toEqual([]);
    expect(c.highWaterMarkBytes).toBe(1024 * 1024);
    expect(c.slowConsumerTimeoutMs).toBe(10_000);
    expect(c.coalesceMs).toBe(25);
    expect(c).toMatchObject({ kafkaFetchMinBytes: 1, kafkaFetchMaxWaitMs: 10 });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '0',
      KAFKA_BROKERS: 'a:9092, b:9093',
      KAFKA_TOPIC: 't',
      MAX_HZ: '20',
      MIN_HZ: '1',
      DEFAULT_HZ: '2',
      MAX_SUBSCRIPTIONS: '7',
      ALLOWED_ORIGINS: 'http://a, http://b',
      ENTITLED_SYMBOLS: 'AAPL,EUR*',
      COALESCE_MS: '0',
      SIM_WARMUP_SECONDS: '600',
      SIM_WARMUP_RATE: '5',
      CANDLE_FLUSH_MS: '1000',
      KAFKA_FETCH_MIN_BYTES: '1',
      KAFKA_FETCH_MAX_WAIT_MS: '500',
    });
    expect(c).toMatchObject({ kafkaFetchMinBytes: 1, kafkaFetchMaxWaitMs: 500 });
    expect(c.coalesceMs).toBe(0);
    expect(c).toMatchObject({ simWarmupSeconds: 600, simWarmupRate: 5, candleFlushMs: 1000 });
    expect(c.port).toBe(0);
    expect(c.kafkaBrokers).toEqual(['a:9092', 'b:9093']);
    expect(c.limits).toMatchObject({ maxHz: 20, minHz: 1, defaultHz: 2, maxSubscriptions: 7 });
    expect(c.allowedOrigins).toEqual(['http://a', 'http://b']);
    expect(c.entitledSymbols).toEqual(['AAPL', 'EUR*']);
  });

  it('reads booleans as true/1/yes/on and false/0/no/off', () => {
    expect(loadConfig({ KAFKA_FROM_BEGINNING: 'yes', KAFKA_STANDBY: 'off' })).toMatchObject({
      kafkaFromBeginning: true,
      kafkaStandby: false,
    });
    expect(loadConfig({ KAFKA_FROM_BEGINNING: 'ON', KAFKA_STANDBY: 'no' })).toMatchObject({
      kafkaFromBeginning: true,
      kafkaStandby: false,
    });
  });

  it.each([
    ['PORT', '99999'],
    ['MAX_HZ', 'fast'],
    ['MIN_HZ', '100'],
    ['MAX_SUBSCRIPTIONS', '1.5'],
    ['KAFKA_BROKERS', 'no-port'],
    ['REDIS_URL', 'http://x'],
    ['LOG_LEVEL', 'loud'],
    ['GATEWAY_ID', 'has space'],
    ['KAFKA_FROM_BEGINNING', 'maybe'],
    ['HEARTBEAT_MS', '-1'],
    ['KAFKA_SESSION_TIMEOUT_MS', '5'],
    ['KAFKA_STANDBY', 'maybe'],
    ['KAFKA_TAKEOVER_MS', '5'],
    ['KAFKA_FETCH_MIN_BYTES', '0'],
    ['KAFKA_FETCH_MAX_WAIT_MS', '501'],
    ['ENTITLED_SYMBOLS', 'A B'],
    ['COALESCE_MS', '-1'],
    ['SIM_WARMUP_SECONDS', '1.5'],
    ['SIM_WARMUP_RATE', '-1'],
    ['CANDLE_FLUSH_MS', '0'],
  ])('names %s when its value %p is wrong', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('names every bad variable in one error, one line each, checks across variables included', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'x',
        MIN_HZ: '100',
        AUTH_MODE: 'hs256',
        PUBLISH_KAFKA: 'true',
        KAFKA_BROKERS: 'bad',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).lines).toEqual([
      'PORT must be an integer >= 0 and <= 65535, got "x"',
      'KAFKA_BROKERS must be host:port[,host:port], got "bad"',
      'MIN_HZ must be a number >= 0.001 and <= 50, got "100"',
      'AUTH_HS256_SECRET is required with AUTH_MODE=hs256',
    ]);
  });
});
