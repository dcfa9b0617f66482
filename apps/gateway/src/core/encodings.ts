import { encodeUpdateJson, encodeUpdateMsgpack, type QuoteUpdate } from '@tickhub/protocol';

/**
 * How updates are serialized for one kind of sink. Sinks that share an encoding object share the
 * encoded bytes of an update within one flush: an update is encoded once, however many subscribers get it.
 */
export interface UpdateEncoding<P> {
  readonly name: string;
  encodeUpdate(update: QuoteUpdate): P;
}

export const jsonUpdateEncoding: UpdateEncoding<string> = {
  name: 'json',
  encodeUpdate: encodeUpdateJson,
};

export const msgpackUpdateEncoding: UpdateEncoding<Uint8Array> = {
  name: 'msgpack',
  encodeUpdate: encodeUpdateMsgpack,
};

/**
 * JSON updates as UTF-8 bytes: the text is encoded to bytes once per update, and a frame is a
 * concatenation of shared buffers, so no connection re-encodes what another one already did.
 */
export const jsonBytesUpdateEncoding: UpdateEncoding<Buffer> = {
  name: 'json-bytes',
  encodeUpdate: (update) => Buffer.from(encodeUpdateJson(update), 'utf8'),
};

const TICKS_OPEN = Buffer.from('{"type":"ticks","updates":[', 'utf8');
const TICKS_CLOSE = Buffer.from(']}', 'utf8');
const COMMA = Buffer.from(',', 'utf8');

/**
 * A JSON `ticks` frame from parts made by `jsonBytesUpdateEncoding`; same text as `frameTicksJson`.
 * `headroom` bytes are left free before the text, for a transport header written in place.
 */
export function frameTicksJsonBytes(parts: readonly Buffer[], headroom = 0): Buffer {
  let size = headroom + TICKS_OPEN.length + TICKS_CLOSE.length + Math.max(0, parts.length - 1);
  for (const p of parts) size += p.length;
  const out = Buffer.allocUnsafe(size);
  let pos = headroom + TICKS_OPEN.copy(out, headroom);
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) pos += COMMA.copy(out, pos);
    pos += parts[i]!.copy(out, pos);
  }
  TICKS_CLOSE.copy(out, pos);
  return out;
}
