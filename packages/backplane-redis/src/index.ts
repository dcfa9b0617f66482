export type { BackplaneLogger, RedisBackplaneOptions, RedisBackplaneStats } from './redis-backplane';
export { RedisBackplane } from './redis-backplane';
