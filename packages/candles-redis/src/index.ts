export { RedisCandleStore, type RedisCandleStoreOptions } from './redis-candle-store';
