import {
  encodeUpdateJsonBodyBytes,
  encodeUpdateMsgpackBody,
  type QuoteUpdate,
  ticksMsgpackPrefix,
  type UpdateList,
  updateListJsonSize,
  updateListMsgpackSize,
  writeUpdateListJson,
  writeUpdateListMsgpack,
} from '@tickhub/protocol';

/**
 * How updates are serialized for one kind of sink. An update's body (every field but `n`) is encoded
 * once per encoding and shared by every connection that sends it, whatever its phase; each connection's
 * frame is one buffer made of those bodies and its own `n` per entry.
 */
export interface UpdateEncoding {
  readonly name: string;
  /** Position of this encoding's body in a symbol's cache (distinct per encoding, small). */
  readonly index: number;
  encodeBody(update: QuoteUpdate): Uint8Array;
  /** Bytes of the list (a JSON array or a MessagePack array) of `list`'s entries. */
  listSize(list: UpdateList): number;
  /** Writes the list at `pos`; returns the position after it. */
  writeList(out: Buffer, pos: number, list: UpdateList): number;
}

/** JSON updates as UTF-8 bytes, for text frames (/ws) and the SignalR JSON hub protocol alike. */
export const jsonUpdateEncoding: UpdateEncoding = {
  name: 'json',
  index: 0,
  encodeBody: encodeUpdateJsonBodyBytes,
  listSize: updateListJsonSize,
  writeList: writeUpdateListJson,
};

/** MessagePack updates, for binary frames (/ws) and the SignalR MessagePack hub protocol alike. */
export const msgpackUpdateEncoding: UpdateEncoding = {
  name: 'msgpack',
  index: 1,
  encodeBody: encodeUpdateMsgpackBody,
  listSize: updateListMsgpackSize,
  writeList: writeUpdateListMsgpack,
};

/** How many encodings a symbol caches bodies for (one more than the largest `index`). */
export const ENCODING_COUNT = 2;

/** Where a frame's bytes go: a fresh buffer of `size` bytes, or a view of one the caller reuses. */
export type FrameAlloc = (size: number) => Buffer;

/**
 * A buffer of its own (Node's pool below 4 KiB): for frames that may be kept a while, queued on a slow
 * socket or buffered for a reconnect, and that must then hold no more memory than their own bytes.
 */
export function allocFrame(size: number): Buffer {
  return Buffer.allocUnsafe(size);
}

/**
 * A message made of `head`, the list of updates and `tail`, in one buffer, with `headroom` free bytes
 * before it for a transport header written in place.
 */
export function frameUpdates(
  encoding: UpdateEncoding,
  head: Uint8Array,
  list: UpdateList,
  tail: Uint8Array,
  headroom = 0,
  alloc: FrameAlloc = allocFrame,
): Buffer {
  const size = headroom + head.length + encoding.listSize(list) + tail.length;
  const out = alloc(size);
  out.set(head, headroom);
  const end = encoding.writeList(out, headroom + head.length, list);
  out.set(tail, end);
  return out;
}

const TICKS_JSON_HEAD = Buffer.from('{"type":"ticks","updates":', 'utf8');
const TICKS_JSON_TAIL = Buffer.from('}', 'utf8');
const TICKS_MSGPACK_HEAD = ticksMsgpackPrefix();
const NOTHING = new Uint8Array(0);

/** The native protocol's `ticks` frame of a list, in the list's encoding. */
export function frameTicks(
  encoding: UpdateEncoding,
  list: UpdateList,
  headroom = 0,
  alloc: FrameAlloc = allocFrame,
): Buffer {
  return encoding === msgpackUpdateEncoding
    ? frameUpdates(encoding, TICKS_MSGPACK_HEAD, list, NOTHING, headroom, alloc)
    : frameUpdates(encoding, TICKS_JSON_HEAD, list, TICKS_JSON_TAIL, headroom, alloc);
}
