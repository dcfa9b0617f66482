export {
  CANDLE_RETENTION,
  type Candle,
  DEFAULT_HISTORY_LIMIT,
  isTimeframe,
  MAX_HISTORY_LIMIT,
  readHistoryParams,
  TIMEFRAME_MS,
  TIMEFRAMES,
  type Timeframe,
} from './candles';
export {
  type Codec,
  codecForSubprotocol,
  encodeUpdateJson,
  encodeUpdateJsonBody,
  encodeUpdateJsonBodyBytes,
  encodeUpdateMsgpack,
  encodeUpdateMsgpackBody,
  frameTicksJson,
  frameTicksMsgpack,
  jsonCodec,
  msgpackCodec,
  pickQuoteUpdate,
  ticksMsgpackPrefix,
  type UpdateList,
  updateListJsonSize,
  updateListMsgpackSize,
  writeUpdateListJson,
  writeUpdateListMsgpack,
} from './codec';
export { isQuote, isQuoteUpdate } from './guards';
export { type FillEvent, PRIVATE_EVENT_TARGET } from './hub-events';
export { isWideInteger, widenIntegers } from './msgpack-integers';
export { firstSeqAt } from './seq';
export {
  decodeTickRecord,
  encodeTickRecord,
  MAX_TICK_RECORD_SYMBOL_BYTES,
  readTickRecordSeq,
  TICK_HEADER_PRODUCED_AT,
  TICK_RECORD_VERSION,
  TickRecordError,
} from './tick-record';
export * from './types';
export {
  decodeClientFrame,
  MAX_SYMBOLS_PER_REQUEST,
  type ParseErrorCode,
  type ParseResult,
  parseClientRequest,
} from './validate';
