import { connect, type Socket } from 'node:net';
import { type HubHost, startHubHost } from '../src/testing';
import { TestHub } from './test-hubs';

// A client that floods invocations and never answers the server's close: once the inbound limit
// closes it for abuse, the server must stop reading it (not read, unmask and drop the megabytes still
// in flight) and drop it soon, rather than wait for a closing handshake that never comes.
jest.setTimeout(30_000);

const RS = '\u001e';
const FLOOD_BYTES = 40 * 1024 * 1024;

/** A masked client text frame (RFC 6455; a zero masking key leaves the payload as it is). */
function textFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x81, 0x80 | length])
      : Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff]);
  return Buffer.concat([header, Buffer.alloc(4), payload]);
}

/** Opens a raw WebSocket to a hub path (without negotiate) and sends the JSON handshake. */
function rawWebSocket(host: HubHost, path: string): Promise<Socket> {
  const { port } = new URL(host.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.once('error', reject);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    socket.once('data', (data) => {
      if (!data.toString().startsWith('HTTP/1.1 101')) reject(new Error(data.toString()));
      socket.write(textFrame(Buffer.from(`{"protocol":"json","version":1}${RS}`)));
      resolve(socket);
    });
  });
}

describe('hub inbound limit: an abusive client', () => {
  let host: HubHost;
  const serverSockets: Socket[] = [];

  beforeAll(async () => {
    host = await startHubHost({
      hubs: [
        {
          path: '/test',
          hub: new TestHub(),
          options: { inboundLimit: { perSec: 20, maxRejections: 100, windowMs: 10_000 } },
        },
      ],
    });
    host.http.on('connection', (socket: Socket) => serverSockets.push(socket));
  });

  afterAll(() => host.close());

  it('is no longer read once closed for abuse, and is dropped though it never answers the close', async () => {
    const client = await rawWebSocket(host, '/test');
    let received = '';
    client.on('data', (data: Buffer) => {
      received += data.toString('latin1');
    });
    const dropped = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.on('error', () => undefined);

    // 40 MB of non-blocking invocations, as fast as the socket takes them; the close frame the
    // server sends is never answered.
    const frame = textFrame(Buffer.from(`{"type":1,"target":"Add","arguments":[1,2]}${RS}`.repeat(1400)));
    let written = 0;
    let open = true;
    client.once('close', () => {
      open = false;
    });
    while (open && written < FLOOD_BYTES) {
      written += frame.length;
      if (!client.write(frame)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            client.off('drain', done);
            client.off('close', done);
            resolve();
          };
          client.once('drain', done);
          client.once('close', done);
        });
      }
    }
    await dropped;
    expect(received).toContain('RATE_LIMITED: rate limit abuse.');
    const server = serverSockets.at(-1) as Socket;
    console.log(
      `abusive client: wrote ${(written / 1e6).toFixed(1)} MB before it was dropped; the server read ${(server.bytesRead / 1e6).toFixed(1)} MB of it`,
    );
    // What the server read is what was in flight when it stopped (socket buffers), not the flood.
    expect(server.bytesRead).toBeLessThan(FLOOD_BYTES / 4);
    expect(host.signalr.connectionCount).toBe(0);
  });
});
