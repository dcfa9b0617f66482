import { widenIntegers } from '@tickhub/protocol';
import { Packr, Unpackr } from 'msgpackr';
import { BinaryFrameSplitter, type DecodedFrame, FramedReader, writeBinaryFrame } from './framing';
import { type Headers, type HubMessage, type HubProtocol, MessageType } from './messages';

// Plain MessagePack as the spec and the official clients read it: maps for objects, nil for
// undefined, no msgpackr record extension; whole numbers are integers at every size (widenIntegers).
const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  encodeUndefinedAsNil: true,
  // Smallest map headers (0x80 for empty headers), as the spec's examples show.
  variableMapSize: true,
});
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const PING = writeBinaryFrame(new Uint8Array([0x91, MessageType.Ping]));

const ResultKind = { Error: 1, Void: 2, NonVoid: 3 } as const;

function readHeaders(value: unknown): Headers | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'Invalid headers: expected a map.';
  }
  for (const header of Object.values(value)) {
    if (typeof header !== 'string') return 'Invalid headers: values must be strings.';
  }
  return value as Headers;
}

function optionalHeaders(headers: Headers): { headers?: Headers } {
  return Object.keys(headers).length > 0 ? { headers } : {};
}

/** Turns one decoded MessagePack array into a hub message; extra trailing items are ignored. */
export function decodeMessagePackMessage(raw: unknown): DecodedFrame {
  if (!Array.isArray(raw) || raw.length === 0) return { error: 'Invalid payload: expected an array.' };
  const type = raw[0];
  if (typeof type !== 'number') return { error: 'Invalid payload: message type must be an integer.' };
  switch (type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation: {
      if (raw.length < 5) return { error: 'Invalid payload for Invocation message.' };
      const headers = readHeaders(raw[1]);
      if (typeof headers === 'string') return { error: headers };
      const [, , id, target, args, streamIds] = raw as unknown[];
      if (id !== null && id !== undefined && typeof id !== 'string') {
        return { error: 'Invalid payload: invocation id must be a string or nil.' };
      }
      if (typeof target !== 'string') return { error: 'Invalid payload: target must be a string.' };
      if (!Array.isArray(args)) return { error: 'Invalid payload: arguments must be an array.' };
      let ids: string[] | undefined;
      if (streamIds !== undefined && streamIds !== null) {
        if (!Array.isArray(streamIds) || streamIds.some((s) => typeof s !== 'string')) {
          return { error: 'Invalid payload: stream ids must be an array of strings.' };
        }
        if (streamIds.length > 0) ids = streamIds as string[];
      }
      const extra = ids ? { streamIds: ids } : {};
      if (type === MessageType.StreamInvocation) {
        if (typeof id !== 'string') return { error: 'Invalid payload: a StreamInvocation needs an id.' };
        return {
          message: { type, ...optionalHeaders(headers), invocationId: id, target, arguments: args, ...extra },
        };
      }
      return {
        message: {
          type,
          ...optionalHeaders(headers),
          ...(typeof id === 'string' ? { invocationId: id } : {}),
          target,
          arguments: args,
          ...extra,
        },
      };
    }
    case MessageType.StreamItem: {
      if (raw.length < 4) return { error: 'Invalid payload for StreamItem message.' };
      const headers = readHeaders(raw[1]);
      if (typeof headers === 'string') return { error: headers };
      if (typeof raw[2] !== 'string') return { error: 'Invalid payload: invocation id must be a string.' };
      return { message: { type, ...optionalHeaders(headers), invocationId: raw[2], item: raw[3] } };
    }
    case MessageType.Completion: {
      if (raw.length < 4) return { error: 'Invalid payload for Completion message.' };
      const headers = readHeaders(raw[1]);
      if (typeof headers === 'string') return { error: headers };
      const invocationId = raw[2];
      if (typeof invocationId !== 'string')
        return { error: 'Invalid payload: invocation id must be a string.' };
      const kind = raw[3];
      const base = { type, ...optionalHeaders(headers), invocationId } as const;
      if (kind === ResultKind.Void) return { message: base };
      if (raw.length < 5) return { error: 'Invalid payload for Completion message.' };
      if (kind === ResultKind.Error) {
        if (typeof raw[4] !== 'string') return { error: 'Invalid payload: error must be a string.' };
        return { message: { ...base, error: raw[4] } };
      }
      if (kind === ResultKind.NonVoid) return { message: { ...base, result: raw[4] } };
      return { error: `Invalid invocation result kind '${String(kind)}'.` };
    }
    case MessageType.CancelInvocation: {
      if (raw.length < 3) return { error: 'Invalid payload for CancelInvocation message.' };
      const headers = readHeaders(raw[1]);
      if (typeof headers === 'string') return { error: headers };
      if (typeof raw[2] !== 'string') return { error: 'Invalid payload: invocation id must be a string.' };
      return { message: { type, ...optionalHeaders(headers), invocationId: raw[2] } };
    }
    case MessageType.Ping:
      return { message: { type } };
    case MessageType.Close: {
      if (raw.length < 2) return { error: 'Invalid payload for Close message.' };
      const error = raw[1];
      if (error !== null && error !== undefined && typeof error !== 'string') {
        return { error: 'Invalid payload: close error must be a string or nil.' };
      }
      return {
        message: {
          type,
          ...(typeof error === 'string' ? { error } : {}),
          ...(raw[2] === true ? { allowReconnect: true } : {}),
        },
      };
    }
    case MessageType.Ack:
    case MessageType.Sequence: {
      if (typeof raw[1] !== 'number') return { error: 'Invalid payload: sequence id must be an integer.' };
      return { message: { type, sequenceId: raw[1] } };
    }
    default:
      return { error: `Unknown message type '${type}'.` };
  }
}

function toArray(message: HubMessage): unknown[] {
  switch (message.type) {
    case MessageType.Invocation: {
      const out: unknown[] = [
        message.type,
        message.headers ?? {},
        message.invocationId ?? null,
        message.target,
        message.arguments,
      ];
      if (message.streamIds) out.push(message.streamIds);
      return out;
    }
    case MessageType.StreamInvocation: {
      const out: unknown[] = [
        message.type,
        message.headers ?? {},
        message.invocationId,
        message.target,
        message.arguments,
      ];
      if (message.streamIds) out.push(message.streamIds);
      return out;
    }
    case MessageType.StreamItem:
      return [message.type, message.headers ?? {}, message.invocationId, message.item];
    case MessageType.Completion:
      if (message.error !== undefined) {
        return [message.type, message.headers ?? {}, message.invocationId, ResultKind.Error, message.error];
      }
      if (message.result !== undefined) {
        return [
          message.type,
          message.headers ?? {},
          message.invocationId,
          ResultKind.NonVoid,
          message.result,
        ];
      }
      return [message.type, message.headers ?? {}, message.invocationId, ResultKind.Void];
    case MessageType.CancelInvocation:
      return [message.type, message.headers ?? {}, message.invocationId];
    case MessageType.Ping:
      return [message.type];
    case MessageType.Close:
      return [message.type, message.error ?? null, message.allowReconnect === true];
    case MessageType.Ack:
    case MessageType.Sequence:
      return [message.type, message.sequenceId];
  }
}

/** One MessagePack hub message from its frame (the bytes after the length prefix). */
function decodeMessagePackFrame(frame: Uint8Array): DecodedFrame {
  if (frame.length === 0) return { error: 'Invalid payload: empty message.' };
  let raw: unknown;
  try {
    raw = unpackr.unpack(frame);
  } catch {
    return { error: 'Error reading MessagePack.' };
  }
  return decodeMessagePackMessage(raw);
}

export const messagePackHubProtocol: HubProtocol = {
  name: 'messagepack',
  transferFormat: 'Binary',
  versions: [1, 2],
  createReader: (maxMessageSize) =>
    new FramedReader(new BinaryFrameSplitter(maxMessageSize), decodeMessagePackFrame),
  write: (message) =>
    message.type === MessageType.Ping ? PING : writeBinaryFrame(packr.pack(widenIntegers(toArray(message)))),
};
