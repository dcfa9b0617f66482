export { type BurstProfile, isBurstActive, parseBurstProfile } from './bursts';
export { DEFAULT_ZIPF_EXPONENT, Market, type MarketOptions } from './market';
export { DEFAULT_PACER_INTERVAL_MS, type PacerOptions, TickPacer } from './pacer';
export { createUniverse, DEFAULT_UNIVERSE_SIZE, MAX_UNIVERSE_SIZE } from './universe';
