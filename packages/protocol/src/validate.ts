import { readHistoryParams } from './candles';
import type { Codec } from './codec';
import {
  type ClientRequest,
  type HistoryRequest,
  MAX_REQUEST_ID_LENGTH,
  MAX_SYMBOL_LENGTH,
  type PingRequest,
  type SubscribeRequest,
  type SymbolsRequest,
  type UnsubscribeRequest,
} from './types';

/** Most symbols one subscribe or unsubscribe request may name; the gateway applies its own, lower limits. */
export const MAX_SYMBOLS_PER_REQUEST = 1000;

export type ParseErrorCode = 'BAD_REQUEST' | 'UNKNOWN_TYPE';

export type ParseResult =
  | { ok: true; request: ClientRequest }
  | { ok: false; code: ParseErrorCode; message: string; id?: string };

// Lone surrogates cannot be encoded as UTF-8 and control characters have no place in a name that is echoed
// back to clients and written to logs, so both are refused.
const UNSAFE_CHARS = /[\p{Cc}\p{Surrogate}]/u;

const hasOwn = Object.prototype.hasOwnProperty;

/** Reads an own property only, so that a polluted prototype can never supply a field. */
function own(obj: object, key: string): unknown {
  return hasOwn.call(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

function fail(code: ParseErrorCode, message: string, id: string | undefined): ParseResult {
  return id === undefined ? { ok: false, code, message } : { ok: false, code, message, id };
}

function isSafeString(value: string): boolean {
  return !UNSAFE_CHARS.test(value);
}

function describeType(type: string): string {
  const shown = type.length > 32 ? `${type.slice(0, 32)}…` : type;
  return JSON.stringify(shown.replace(/[\p{Cc}\p{Surrogate}]/gu, '?'));
}

/** Validates `symbols`, returning a fresh array or an error message. */
function readSymbols(value: unknown): string[] | string {
  if (!Array.isArray(value)) return '"symbols" must be an array of symbol names';
  const count = value.length;
  if (count === 0) return '"symbols" must not be empty';
  if (count > MAX_SYMBOLS_PER_REQUEST) {
    return `"symbols" may name at most ${MAX_SYMBOLS_PER_REQUEST} symbols`;
  }
  const symbols = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const symbol: unknown = value[i];
    if (typeof symbol !== 'string') return `"symbols[${i}]" must be a string`;
    if (symbol.length === 0 || symbol.length > MAX_SYMBOL_LENGTH) {
      return `"symbols[${i}]" must have 1 to ${MAX_SYMBOL_LENGTH} characters`;
    }
    if (!isSafeString(symbol)) return `"symbols[${i}]" contains characters that are not allowed`;
    symbols[i] = symbol;
  }
  return symbols;
}

function parseUnchecked(value: unknown): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('BAD_REQUEST', 'a request must be an object with a "type"', undefined);
  }

  const rawId = own(value, 'id');
  let id: string | undefined;
  if (rawId !== undefined) {
    if (typeof rawId !== 'string' || rawId.length > MAX_REQUEST_ID_LENGTH || !isSafeString(rawId)) {
      return fail(
        'BAD_REQUEST',
        `"id" must be a string of at most ${MAX_REQUEST_ID_LENGTH} characters`,
        undefined,
      );
    }
    id = rawId;
  }

  const type = own(value, 'type');
  if (typeof type !== 'string') return fail('BAD_REQUEST', '"type" must be a string', id);

  switch (type) {
    case 'subscribe': {
      const symbols = readSymbols(own(value, 'symbols'));
      if (typeof symbols === 'string') return fail('BAD_REQUEST', symbols, id);
      const maxHz = own(value, 'maxHz');
      if (maxHz !== undefined && (typeof maxHz !== 'number' || !Number.isFinite(maxHz))) {
        return fail('BAD_REQUEST', '"maxHz" must be a finite number', id);
      }
      const leading = own(value, 'leading');
      if (leading !== undefined && typeof leading !== 'boolean') {
        return fail('BAD_REQUEST', '"leading" must be true or false', id);
      }
      const request: SubscribeRequest = { type: 'subscribe', symbols };
      if (id !== undefined) request.id = id;
      if (maxHz !== undefined) request.maxHz = maxHz;
      if (leading !== undefined) request.leading = leading;
      return { ok: true, request };
    }
    case 'unsubscribe': {
      const symbols = readSymbols(own(value, 'symbols'));
      if (typeof symbols === 'string') return fail('BAD_REQUEST', symbols, id);
      const request: UnsubscribeRequest = { type: 'unsubscribe', symbols };
      if (id !== undefined) request.id = id;
      return { ok: true, request };
    }
    case 'history': {
      const symbol = own(value, 'symbol');
      if (
        typeof symbol !== 'string' ||
        symbol.length === 0 ||
        symbol.length > MAX_SYMBOL_LENGTH ||
        !isSafeString(symbol)
      ) {
        return fail(
          'BAD_REQUEST',
          `"symbol" must be a symbol name of 1 to ${MAX_SYMBOL_LENGTH} characters`,
          id,
        );
      }
      const limit = own(value, 'limit');
      // In a JSON frame a number is a number: "300" as a string is refused, as in subscribe's maxHz.
      if (limit !== undefined && typeof limit !== 'number') {
        return fail('BAD_REQUEST', '"limit" must be a number', id);
      }
      const params = readHistoryParams(own(value, 'tf'), limit);
      if (!params.ok) return fail('BAD_REQUEST', params.message, id);
      const request: HistoryRequest = { type: 'history', symbol, tf: params.tf, limit: params.limit };
      if (id !== undefined) request.id = id;
      return { ok: true, request };
    }
    case 'ping':
    case 'symbols': {
      const request: PingRequest | SymbolsRequest = { type };
      if (id !== undefined) request.id = id;
      return { ok: true, request };
    }
    default:
      return fail('UNKNOWN_TYPE', `unknown request type ${describeType(type)}`, id);
  }
}

/**
 * Validates a decoded client frame. Never throws: anything that is not exactly a known request yields a
 * `BAD_REQUEST` or `UNKNOWN_TYPE` result. The request returned is a fresh object holding only the known
 * fields, so nothing of the input (extra keys, prototypes) reaches the caller.
 */
export function parseClientRequest(value: unknown): ParseResult {
  try {
    return parseUnchecked(value);
  } catch {
    // Only exotic inputs (proxies, throwing getters) can get here; frames decoded from the wire cannot.
    return fail('BAD_REQUEST', 'not a valid request', undefined);
  }
}

/** Decodes one WebSocket frame with the connection's codec and validates it. Never throws. */
export function decodeClientFrame(data: string | Uint8Array, codec: Codec): ParseResult {
  let value: unknown;
  try {
    value = codec.decode(data);
  } catch {
    let message: string;
    if (!codec.binary) message = 'frame is not valid JSON text';
    else if (typeof data === 'string') message = 'expected a binary frame carrying MessagePack';
    else message = 'frame is not valid MessagePack';
    return fail('BAD_REQUEST', message, undefined);
  }
  return parseClientRequest(value);
}
