/**
 * Message framing of the two hub protocols: text messages end with the ASCII record separator
 * (0x1E); binary messages start with their length as a VarInt (7 bits a byte, least significant
 * group first, at most 5 bytes).
 */

import type { HubMessage, HubMessageReader, ReadResult } from './messages';

export const RECORD_SEPARATOR = 0x1e;
export const RECORD_SEPARATOR_CHAR = '\u001e';

const EMPTY = new Uint8Array(0);

/** Joins what was held back from the previous read with new bytes, copying only when both exist. */
function join(pending: Uint8Array, data: Uint8Array): Uint8Array {
  if (pending.length === 0) return data;
  if (data.length === 0) return pending;
  const out = new Uint8Array(pending.length + data.length);
  out.set(pending, 0);
  out.set(data, pending.length);
  return out;
}

export type FrameResult = { frames: Uint8Array[]; error?: string };

/** Cuts a connection's inbound bytes into whole messages, holding an incomplete tail. */
export interface FrameSplitter {
  readonly pending: number;
  split(data: Uint8Array): FrameResult;
}

/** One message decoded from its frame, or why it cannot be. */
export type DecodedFrame = { message: HubMessage } | { error: string };

/**
 * A hub protocol's reader: frames from its splitter, each decoded on its own. Stops at the first bad
 * message and returns the ones before it with the error (the connection is then closed).
 */
export class FramedReader implements HubMessageReader {
  constructor(
    private readonly splitter: FrameSplitter,
    private readonly decodeFrame: (frame: Uint8Array) => DecodedFrame,
  ) {}

  get pending(): number {
    return this.splitter.pending;
  }

  read(data: Uint8Array): ReadResult {
    const split = this.splitter.split(data);
    const messages: HubMessage[] = [];
    for (const frame of split.frames) {
      const decoded = this.decodeFrame(frame);
      if ('error' in decoded) return { messages, error: decoded.error };
      messages.push(decoded.message);
    }
    return split.error ? { messages, error: split.error } : { messages };
  }
}

/** Splits record-separated text messages; keeps an incomplete tail for the next call. */
export class TextFrameSplitter implements FrameSplitter {
  private held: Uint8Array = EMPTY;

  constructor(private readonly maxMessageSize: number) {}

  get pending(): number {
    return this.held.length;
  }

  split(data: Uint8Array): FrameResult {
    const buffer = join(this.held, data);
    const frames: Uint8Array[] = [];
    let start = 0;
    for (;;) {
      const end = buffer.indexOf(RECORD_SEPARATOR, start);
      if (end < 0) break;
      if (end - start > this.maxMessageSize) {
        this.held = EMPTY;
        return { frames, error: tooLarge(this.maxMessageSize) };
      }
      frames.push(buffer.subarray(start, end));
      start = end + 1;
    }
    const rest = buffer.length - start;
    if (rest > this.maxMessageSize) {
      this.held = EMPTY;
      return { frames, error: tooLarge(this.maxMessageSize) };
    }
    // Copy the tail so that a large transport buffer is not kept alive by a few bytes.
    this.held = rest === 0 ? EMPTY : buffer.slice(start);
    return { frames };
  }
}

/** Splits VarInt-length-prefixed binary messages; keeps an incomplete tail for the next call. */
export class BinaryFrameSplitter implements FrameSplitter {
  private held: Uint8Array = EMPTY;

  constructor(private readonly maxMessageSize: number) {}

  get pending(): number {
    return this.held.length;
  }

  split(data: Uint8Array): FrameResult {
    const buffer = join(this.held, data);
    const frames: Uint8Array[] = [];
    let offset = 0;
    while (offset < buffer.length) {
      let length = 0;
      let shift = 0;
      let cursor = offset;
      let complete = false;
      while (cursor < buffer.length) {
        const byte = buffer[cursor++]!;
        // The 5th byte carries only the top 3 bits of a 31-bit length.
        if (shift === 28 && byte > 0x07) {
          this.held = EMPTY;
          return { frames, error: 'Messages over 2GB in size are not supported.' };
        }
        length += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
        shift += 7;
      }
      if (!complete) break;
      if (length > this.maxMessageSize) {
        this.held = EMPTY;
        return { frames, error: tooLarge(this.maxMessageSize) };
      }
      if (cursor + length > buffer.length) break;
      frames.push(buffer.subarray(cursor, cursor + length));
      offset = cursor + length;
    }
    const rest = buffer.length - offset;
    if (rest > this.maxMessageSize + 5) {
      this.held = EMPTY;
      return { frames, error: tooLarge(this.maxMessageSize) };
    }
    this.held = rest === 0 ? EMPTY : buffer.slice(offset);
    return { frames };
  }
}

export function tooLarge(maxMessageSize: number): string {
  return `The maximum message size of ${maxMessageSize}B was exceeded.`;
}

/** Prefixes a message body with its VarInt length. */
export function writeBinaryFrame(body: Uint8Array): Uint8Array {
  let length = body.length;
  const prefix: number[] = [];
  do {
    let byte = length & 0x7f;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    prefix.push(byte);
  } while (length > 0);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}
