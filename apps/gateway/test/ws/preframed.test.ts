import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import {
  FRAME_HEADROOM,
  frameInPlace,
  OPCODE_BINARY,
  OPCODE_TEXT,
  scratchFrame,
  writeFrame,
  writeScratchFrame,
} from '../../src/ws/preframed';

/** A message of `length` bytes after FRAME_HEADROOM free bytes (filled with junk the header overwrites). */
function roomy(length: number, text: boolean): Buffer {
  const buf = Buffer.alloc(FRAME_HEADROOM + length, 0xee);
  for (let i = 0; i < length; i++) buf[FRAME_HEADROOM + i] = text ? 97 + (i % 26) : i % 251;
  return buf;
}

describe('frames written in place and in one write', () => {
  let wss: WebSocketServer;
  let server: WebSocket;
  let client: WebSocket;
  const received: Array<{ data: Buffer; binary: boolean }> = [];

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise((r) => wss.once('listening', r));
    const connected = new Promise<WebSocket>((r) => wss.once('connection', r));
    client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    client.on('message', (data: Buffer, binary) => received.push({ data, binary }));
    server = await connected;
    await new Promise((r) => client.once('open', r));
  });

  afterAll(async () => {
    client.terminate();
    await new Promise((r) => wss.close(r));
  });

  // Each size class of the header: 7-bit, 16-bit and 64-bit lengths, and their edges.
  const sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000];

  it('reaches a standard client intact for every header size, interleaved in order with ws.send', async () => {
    received.length = 0;
    const expected: Array<{ data: Buffer; binary: boolean }> = [];
    for (const [i, size] of sizes.entries()) {
      const text = i % 2 === 0;
      const buf = roomy(size, text);
      expected.push({ data: Buffer.from(buf.subarray(FRAME_HEADROOM)), binary: !text });
      writeFrame(server, frameInPlace(buf, text ? OPCODE_TEXT : OPCODE_BINARY));
      // Messages sent through ws between them keep their place.
      const between = Buffer.from(`between ${i}`);
      expected.push({ data: between, binary: false });
      server.send(between, { binary: false });
    }
    const deadline = Date.now() + 10_000;
    while (received.length < expected.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(received.length).toBe(expected.length);
    received.forEach((r, i) => {
      expect(r.binary).toBe(expected[i]!.binary);
      expect(r.data.equals(expected[i]!.data)).toBe(true);
    });
    // The connection is still healthy: the client saw no framing error.
    expect(client.readyState).toBe(WebSocket.OPEN);
  });

  it('writes the smallest header in front of the message and returns a view from it', () => {
    for (const [size, header] of [
      [0, 2],
      [125, 2],
      [126, 4],
      [65_535, 4],
      [65_536, 10],
    ] as const) {
      const buf = roomy(size, true);
      const frame = frameInPlace(buf, OPCODE_TEXT);
      expect(frame.length).toBe(size + header);
      expect(frame[0]).toBe(0x81); // FIN + text
      expect(frame.buffer).toBe(buf.buffer);
    }
  });

  it('counts written frames in bufferedAmount while the socket cannot take them', () => {
    const before = server.bufferedAmount;
    (server as unknown as { _socket: { cork(): void; uncork(): void } })._socket.cork();
    writeFrame(server, frameInPlace(roomy(1000, false), OPCODE_BINARY));
    expect(server.bufferedAmount).toBe(before + 1004);
    (server as unknown as { _socket: { uncork(): void } })._socket.uncork();
  });

  it('never lets a frame built in the shared buffer change after a socket that is not reading queued it', async () => {
    // Frames of the tests before may still be on their way.
    await new Promise((r) => setTimeout(r, 200));
    received.length = 0;
    const socket = (client as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    // The client stops reading: the kernel's buffers fill and the server's socket starts queueing.
    socket.pause();
    const expected: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const size = 20_000 + ((i * 7919) % 40_000);
      const frame = scratchFrame(FRAME_HEADROOM + size);
      for (let k = 0; k < size; k++) frame[FRAME_HEADROOM + k] = (i + k * 31) % 251;
      expected.push(Buffer.from(frame.subarray(FRAME_HEADROOM)));
      writeScratchFrame(server, frameInPlace(frame, OPCODE_BINARY));
    }
    expect(server.bufferedAmount).toBeGreaterThan(0);
    socket.resume();
    const deadline = Date.now() + 20_000;
    while (received.length < expected.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(received.length).toBe(expected.length);
    for (const [i, r] of received.entries()) expect(r.data.equals(expected[i]!)).toBe(true);
  });
});
