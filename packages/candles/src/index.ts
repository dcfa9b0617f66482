export {
  CandleAggregator,
  type CandleAggregatorOptions,
  type CandleAggregatorStats,
  CandleSeries,
  type CandleTick,
} from './aggregator';
export { MemoryCandleStore } from './memory';
export {
  type CandleStore,
  type CandleWrite,
  type LatestCandles,
  type StoredCandle,
  wireCandle,
} from './store';
