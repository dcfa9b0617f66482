import type { CandleStore, CandleWrite, LatestCandles, StoredCandle } from '@tickhub/candles';
import { CANDLE_RETENTION, type Candle, TIMEFRAMES, type Timeframe } from '@tickhub/protocol';
import { Redis } from 'ioredis';

export interface RedisCandleStoreOptions {
  /** `redis://[user:pass@]host:port[/db]`. */
  url: string;
  /** Prepended to every key (default `tickhub:`), as for the backplane. */
  keyPrefix?: string;
  /** How long connect() waits for Redis before rejecting (default 10 000 ms). */
  connectTimeoutMs?: number;
}

/** Commands per pipeline: a replay's large flush goes out in a few pipelines, not one huge one. */
const MAX_PIPELINE = 1_000;

/**
 * Upserts one candle: replaces the candle with the same start only when the new one's seq is higher,
 * then trims the sorted set to the retention. Members are `t,o,h,l,c,v,n,s`; the score is `t`.
 */
const UPSERT = `
local t = ARGV[1]
local old = redis.call('ZRANGEBYSCORE', KEYS[1], t, t)
if old[1] then
  local s = tonumber(string.match(old[1], '([^,]+)$'))
  if s >= tonumber(ARGV[2]) then return 0 end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], t, t)
end
redis.call('ZADD', KEYS[1], t, ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
return 1
`;

type UpsertingRedis = Redis & {
  candleUpsert(key: string, t: number, s: number, member: string, retention: number): Promise<number>;
};

function encode(c: StoredCandle): string {
  return `${c.t},${c.o},${c.h},${c.l},${c.c},${c.v},${c.n},${c.s}`;
}

function decode(member: string): StoredCandle {
  const f = member.split(',');
  return {
    t: Number(f[0]),
    o: Number(f[1]),
    h: Number(f[2]),
    l: Number(f[3]),
    c: Number(f[4]),
    v: Number(f[5]),
    n: Number(f[6]),
    s: Number(f[7]),
  };
}

/**
 * The candle store on Redis: one sorted set per symbol and timeframe (`<prefix>candles:<tf>:<symbol>`),
 * scored by the candle's start. A batch goes out as pipelined calls of one Lua upsert per candle, so a
 * flush costs one round trip however many candles changed. Commands fail at once while Redis is away
 * (no offline queue): the aggregator keeps its candles and writes them again.
 */
export class RedisCandleStore implements CandleStore {
  readonly keyPrefix: string;
  private readonly redis: UpsertingRedis;
  private readonly connectTimeoutMs: number;

  constructor(options: RedisCandleStoreOptions) {
    this.keyPrefix = options.keyPrefix ?? 'tickhub:';
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    }) as UpsertingRedis;
    this.redis.defineCommand('candleUpsert', { numberOfKeys: 1, lua: UPSERT });
    // Errors surface as rejected commands; the connection keeps retrying by itself.
    this.redis.on('error', () => undefined);
  }

  async connect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`candle store: Redis not reachable within ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
    });
    try {
      await Promise.race([this.redis.connect(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  isReady(): boolean {
    return this.redis.status === 'ready';
  }

  key(symbol: string, tf: Timeframe): string {
    return `${this.keyPrefix}candles:${tf}:${symbol}`;
  }

  async write(batch: readonly CandleWrite[]): Promise<void> {
    for (let from = 0; from < batch.length; from += MAX_PIPELINE) {
      const pipeline = this.redis.pipeline() as ReturnType<Redis['pipeline']> & {
        candleUpsert(key: string, t: number, s: number, member: string, retention: number): unknown;
      };
      const to = Math.min(batch.length, from + MAX_PIPELINE);
      for (let i = from; i < to; i++) {
        const w = batch[i]!;
        pipeline.candleUpsert(this.key(w.symbol, w.tf), w.t, w.s, encode(w), CANDLE_RETENTION[w.tf]);
      }
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error('candle store: pipeline not executed');
    }
  }

  async query(symbol: string, tf: Timeframe, limit: number): Promise<Candle[]> {
    const count = Math.min(limit, CANDLE_RETENTION[tf]);
    const members = await this.redis.zrange(this.key(symbol, tf), -count, -1);
    return members.map((m) => {
      const { s: _s, ...candle } = decode(m);
      return candle;
    });
  }

  async latest(symbol: string): Promise<LatestCandles> {
    const pipeline = this.redis.pipeline();
    for (const tf of TIMEFRAMES) pipeline.zrange(this.key(symbol, tf), -1, -1);
    const results = await pipeline.exec();
    const out: LatestCandles = {};
    TIMEFRAMES.forEach((tf, i) => {
      const [error, members] = results?.[i] ?? [new Error('not executed'), null];
      if (error) throw error;
      const member = (members as string[])[0];
      if (member !== undefined) out[tf] = decode(member);
    });
    return out;
  }

  /** Closes the connection; writes are flushed by the aggregator before it is stopped, not here. */
  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
