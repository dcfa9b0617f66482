export type { RedisBackplaneOptions, RedisBackplaneStats } from './redis-backplane';
export { RedisBackplane } from './redis-backplane';
