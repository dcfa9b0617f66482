import fc from 'fast-check';
import type { ClientRequest, Quote, QuoteUpdate, ServerMessage, SymbolInfo } from '../src';
import { DEFAULT_LIMITS, ErrorCode, MAX_REQUEST_ID_LENGTH, MAX_SYMBOL_LENGTH } from '../src';

// JSON and MessagePack both write -0 as 0, so generated numbers avoid it.
const noNegativeZero = (x: number): number => (Object.is(x, -0) ? 0 : x);

export const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map(noNegativeZero);
export const price = fc.double({ min: 1e-8, max: 1e7, noNaN: true });
export const safeInt = fc.maxSafeInteger().map(noNegativeZero);

/** A string with no control characters and no lone surrogates, as the parser accepts. */
export const safeText = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc
    .string({ unit: 'grapheme', minLength, maxLength: maxLength * 2 })
    .map((s) => s.replace(/\p{Cc}/gu, 'x'))
    .filter((s) => s.length >= minLength && s.length <= maxLength);

export const symbolName = fc.oneof(fc.stringMatching(/^[A-Z]{1,6}$/), safeText(1, MAX_SYMBOL_LENGTH));
export const requestId = safeText(0, MAX_REQUEST_ID_LENGTH);

export const quote: fc.Arbitrary<Quote> = fc.record({
  symbol: symbolName,
  seq: safeInt,
  ts: safeInt,
  bid: finite,
  ask: finite,
  bidSize: finite,
  askSize: finite,
  last: finite,
  lastSize: finite,
  volume: finite,
  open: finite,
  high: finite,
  low: finite,
});

export const quoteUpdate: fc.Arbitrary<QuoteUpdate> = fc
  .tuple(quote, fc.integer({ min: 1, max: 1_000_000 }))
  .map(([q, n]) => ({ ...q, n }));

const symbolInfo: fc.Arbitrary<SymbolInfo> = fc.record({
  symbol: symbolName,
  name: fc.string(),
  assetClass: fc.constantFrom('equity', 'fx', 'crypto'),
  priceDecimals: fc.integer({ min: 0, max: 8 }),
  currency: fc.stringMatching(/^[A-Z]{3}$/),
});

export const clientRequest: fc.Arbitrary<ClientRequest> = fc.oneof(
  fc.record(
    {
      type: fc.constant('subscribe' as const),
      id: requestId,
      symbols: fc.array(symbolName, { minLength: 1, maxLength: 40 }),
      maxHz: fc.oneof(
        finite,
        fc.double({ min: DEFAULT_LIMITS.minHz, max: DEFAULT_LIMITS.maxHz, noNaN: true }),
      ),
    },
    { requiredKeys: ['type', 'symbols'] },
  ),
  fc.record(
    {
      type: fc.constant('unsubscribe' as const),
      id: requestId,
      symbols: fc.array(symbolName, { minLength: 1 }),
    },
    { requiredKeys: ['type', 'symbols'] },
  ),
  fc.record({ type: fc.constant('ping' as const), id: requestId }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('symbols' as const), id: requestId }, { requiredKeys: ['type'] }),
);

const optionalId = { requiredKeys: [] as [] };

export const serverMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record({
    type: fc.constant('welcome' as const),
    v: fc.constant(1 as const),
    connectionId: fc.string(),
    server: fc.string(),
    heartbeatMs: safeInt,
    limits: fc.record({
      maxSubscriptions: safeInt,
      minHz: finite,
      maxHz: finite,
      defaultHz: finite,
      maxInboundPerSec: safeInt,
      maxPayloadBytes: safeInt,
    }),
  }),
  fc
    .tuple(
      fc.record({ symbols: fc.array(symbolName), maxHz: finite }),
      fc.record({ id: requestId }, optionalId),
    )
    .map(([m, id]) => ({ type: 'subscribed' as const, ...id, ...m })),
  fc
    .tuple(fc.array(symbolName), fc.record({ id: requestId }, optionalId))
    .map(([symbols, id]) => ({ type: 'unsubscribed' as const, ...id, symbols })),
  fc
    .tuple(safeInt, fc.record({ id: requestId }, optionalId))
    .map(([serverTime, id]) => ({ type: 'pong' as const, ...id, serverTime })),
  fc
    .tuple(fc.array(symbolInfo, { maxLength: 10 }), fc.record({ id: requestId }, optionalId))
    .map(([symbols, id]) => ({ type: 'symbols' as const, ...id, symbols })),
  quote.map((q) => ({ type: 'snapshot' as const, ...q })),
  fc.array(quoteUpdate, { maxLength: 20 }).map((updates) => ({ type: 'ticks' as const, updates })),
  fc
    .tuple(
      fc.constantFrom(...Object.values(ErrorCode)),
      fc.string(),
      fc.record({ id: requestId, symbols: fc.array(symbolName) }, optionalId),
    )
    .map(([code, message, extra]) => ({ type: 'error' as const, code, message, ...extra })),
);
