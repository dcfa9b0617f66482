import { type DecodedFrame, FramedReader, RECORD_SEPARATOR_CHAR, TextFrameSplitter } from './framing';
import { type Headers, type HubMessage, type HubProtocol, MessageType } from './messages';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readHeaders(raw: Record<string, unknown>): Headers | string | undefined {
  const headers = raw.headers;
  if (headers === undefined) return undefined;
  if (!isRecord(headers)) return "Expected 'headers' to be of type Object.";
  for (const value of Object.values(headers)) {
    if (typeof value !== 'string') return 'Expected header values to be of type String.';
  }
  return headers as Headers;
}

function requireString(raw: Record<string, unknown>, name: string): string | { error: string } {
  const value = raw[name];
  if (value === undefined) return { error: `Missing required property '${name}'.` };
  if (typeof value !== 'string') return { error: `Expected '${name}' to be of type String.` };
  return value;
}

function readStreamIds(raw: Record<string, unknown>): string[] | undefined | { error: string } {
  const ids = raw.streamIds;
  if (ids === undefined || ids === null) return undefined;
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
    return { error: "Expected 'streamIds' to be an Array of String." };
  }
  return ids as string[];
}

/** Turns one parsed JSON value into a hub message; unknown properties are ignored. */
export function decodeJsonMessage(raw: unknown): DecodedFrame {
  if (!isRecord(raw)) return { error: 'Message is not a JSON object.' };
  const type = raw.type;
  if (type === undefined) return { error: "Missing required property 'type'." };
  if (typeof type !== 'number') return { error: "Expected 'type' to be of type Number." };
  const headers = readHeaders(raw);
  if (typeof headers === 'string') return { error: headers };
  const withHeaders = headers ? { headers } : {};
  switch (type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation: {
      const target = requireString(raw, 'target');
      if (typeof target !== 'string') return target;
      let invocationId: string | undefined;
      if (raw.invocationId !== undefined && raw.invocationId !== null) {
        if (typeof raw.invocationId !== 'string') {
          return { error: "Expected 'invocationId' to be of type String." };
        }
        invocationId = raw.invocationId;
      }
      if (!Array.isArray(raw.arguments)) {
        return {
          error:
            raw.arguments === undefined
              ? "Missing required property 'arguments'."
              : "Expected 'arguments' to be of type Array.",
        };
      }
      const streamIds = readStreamIds(raw);
      if (streamIds && !Array.isArray(streamIds)) return streamIds;
      const extra = streamIds ? { streamIds } : {};
      if (type === MessageType.StreamInvocation) {
        if (invocationId === undefined) return { error: "Missing required property 'invocationId'." };
        return {
          message: { type, ...withHeaders, invocationId, target, arguments: raw.arguments, ...extra },
        };
      }
      return {
        message: {
          type,
          ...withHeaders,
          ...(invocationId === undefined ? {} : { invocationId }),
          target,
          arguments: raw.arguments,
          ...extra,
        },
      };
    }
    case MessageType.StreamItem: {
      const invocationId = requireString(raw, 'invocationId');
      if (typeof invocationId !== 'string') return invocationId;
      return { message: { type, ...withHeaders, invocationId, item: raw.item } };
    }
    case MessageType.Completion: {
      const invocationId = requireString(raw, 'invocationId');
      if (typeof invocationId !== 'string') return invocationId;
      if (raw.error !== undefined && raw.error !== null) {
        if (typeof raw.error !== 'string') return { error: "Expected 'error' to be of type String." };
        if ('result' in raw) return { error: "The 'error' and 'result' properties are mutually exclusive." };
        return { message: { type, ...withHeaders, invocationId, error: raw.error } };
      }
      return {
        message: { type, ...withHeaders, invocationId, ...('result' in raw ? { result: raw.result } : {}) },
      };
    }
    case MessageType.CancelInvocation: {
      const invocationId = requireString(raw, 'invocationId');
      if (typeof invocationId !== 'string') return invocationId;
      return { message: { type, ...withHeaders, invocationId } };
    }
    case MessageType.Ping:
      return { message: { type } };
    case MessageType.Close: {
      if (raw.error !== undefined && raw.error !== null && typeof raw.error !== 'string') {
        return { error: "Expected 'error' to be of type String." };
      }
      return {
        message: {
          type,
          ...(typeof raw.error === 'string' ? { error: raw.error } : {}),
          ...(raw.allowReconnect === true ? { allowReconnect: true } : {}),
        },
      };
    }
    case MessageType.Ack:
    case MessageType.Sequence: {
      if (typeof raw.sequenceId !== 'number') return { error: "Expected 'sequenceId' to be of type Number." };
      return { message: { type, sequenceId: raw.sequenceId } };
    }
    default:
      return { error: `Unknown message type '${type}'.` };
  }
}

/** The wire object of a message, without undefined fields (JSON.stringify drops them anyway). */
function toJson(message: HubMessage): Record<string, unknown> {
  switch (message.type) {
    case MessageType.Completion: {
      const out: Record<string, unknown> = { type: message.type };
      if (message.headers) out.headers = message.headers;
      out.invocationId = message.invocationId;
      if (message.error !== undefined) out.error = message.error;
      else if (message.result !== undefined) out.result = message.result;
      return out;
    }
    case MessageType.Close: {
      const out: Record<string, unknown> = { type: message.type };
      if (message.error !== undefined) out.error = message.error;
      if (message.allowReconnect) out.allowReconnect = true;
      return out;
    }
    default:
      return message as unknown as Record<string, unknown>;
  }
}

/** One JSON hub message from its frame (the text before a record separator). */
function decodeJsonFrame(frame: Uint8Array): DecodedFrame {
  let raw: unknown;
  try {
    raw = JSON.parse(utf8.decode(frame));
  } catch {
    return { error: 'Error reading JSON.' };
  }
  return decodeJsonMessage(raw);
}

export const jsonHubProtocol: HubProtocol = {
  name: 'json',
  transferFormat: 'Text',
  versions: [1, 2],
  createReader: (maxMessageSize) => new FramedReader(new TextFrameSplitter(maxMessageSize), decodeJsonFrame),
  write: (message) => encoder.encode(JSON.stringify(toJson(message)) + RECORD_SEPARATOR_CHAR),
};
