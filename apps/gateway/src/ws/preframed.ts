import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** Room to leave before a message so that any frame header fits in front of it (RFC 6455 §5.2). */
export const FRAME_HEADROOM = 10;

export const OPCODE_TEXT = 1;
export const OPCODE_BINARY = 2;

/**
 * Turns `buf` — `FRAME_HEADROOM` free bytes, then the message — into one unfragmented, unmasked
 * server frame: the header is written right before the message and the frame is returned as a view
 * from there on. No copy of the message.
 */
export function frameInPlace(buf: Buffer, opcode: number): Buffer {
  const length = buf.length - FRAME_HEADROOM;
  let start: number;
  if (length < 126) {
    start = FRAME_HEADROOM - 2;
    buf[start + 1] = length;
  } else if (length < 0x10000) {
    start = FRAME_HEADROOM - 4;
    buf[start + 1] = 126;
    buf.writeUInt16BE(length, start + 2);
  } else {
    start = 0;
    buf[1] = 127;
    buf.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    buf.writeUInt32BE(length >>> 0, 6);
  }
  buf[start] = 0x80 | opcode;
  return start === 0 ? buf : buf.subarray(start);
}

/**
 * Writes a frame made by `frameInPlace` straight to the connection's socket, in one write.
 *
 * `ws.send` writes every message as a header and a payload under cork, which Node turns into a
 * writev; for the ticks frames, the gateway's hot path, one buffer and one write cost less. Safe only
 * because nothing is ever queued inside ws' sender on the gateway's connections: permessage-deflate is
 * off (WsAdapter) and no Blob is sent, so ws writes each message at once too and order is kept. The
 * bytes count in `ws.bufferedAmount` as before (it reads the socket's buffer).
 */
export function writeFrame(ws: WebSocket, frame: Buffer): void {
  (ws as unknown as { _socket: Duplex })._socket.write(frame);
}

const SCRATCH_MIN = 64 * 1024;
let scratch = Buffer.allocUnsafeSlow(SCRATCH_MIN);

/**
 * A view of the frame buffer shared by every connection (`writeScratchFrame` tells when it must be
 * replaced). Most ticks frames go to the kernel whole in the write that sends them, so one buffer
 * serves them all: no allocation per frame, and no external memory churning through the GC.
 */
export function scratchFrame(size: number): Buffer {
  if (size > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.max(size, 2 * scratch.length));
  return scratch.subarray(0, size);
}

/**
 * Writes a frame built in `scratchFrame`'s buffer, like `writeFrame`. A socket that could not take it
 * whole at once (its writable side has bytes queued after the write) keeps a reference to it: the
 * buffer is then left to that socket and the next frame gets a new one. Writes that complete at once
 * have already handed every byte to the kernel when `write` returns (Node's stream write is
 * synchronous then, and the queued length drops back in the same call).
 */
export function writeScratchFrame(ws: WebSocket, frame: Buffer): void {
  const socket = (ws as unknown as { _socket: Duplex })._socket;
  socket.write(frame);
  if (socket.writableLength > 0) scratch = Buffer.allocUnsafeSlow(SCRATCH_MIN);
}
