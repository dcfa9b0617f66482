import type { ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { CloseCounts } from './close-codes';
import type { OutboundSink, SignalRConnection } from './connection';

const SSE_DATA = Buffer.from('data: ');
const CRLF = Buffer.from('\r\n');

/**
 * Server-Sent Events: every message becomes one unnamed event. SSE is text-only and splits events on
 * line ends, so each line of the payload is its own `data:` field (JSON payloads have none).
 */
export class ServerSentEventsSink implements OutboundSink {
  constructor(private readonly res: ServerResponse) {}

  write(data: Uint8Array): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    const parts: Uint8Array[] = [];
    let start = 0;
    for (;;) {
      const end = data.indexOf(0x0a, start);
      const stop = end < 0 ? data.length : end;
      const lineEnd = stop > start && data[stop - 1] === 0x0d ? stop - 1 : stop;
      parts.push(SSE_DATA, data.subarray(start, lineEnd), CRLF);
      if (end < 0) break;
      start = end + 1;
    }
    parts.push(CRLF);
    this.res.write(Buffer.concat(parts));
  }

  bufferedBytes(): number {
    return this.res.writableLength;
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  abort(): void {
    this.res.destroy();
  }
}

/** WebSockets: one message per frame, text or binary frames according to the hub protocol. */
export class WebSocketSink implements OutboundSink {
  constructor(
    private readonly socket: WebSocket,
    private readonly connection: SignalRConnection,
    private readonly closes: CloseCounts,
  ) {}

  write(data: Uint8Array): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(data, { binary: this.connection.transferFormat === 'Binary' });
  }

  bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  end(): void {
    if (this.socket.readyState === this.socket.OPEN) this.closes.close(this.socket, 1000);
  }

  abort(): void {
    this.socket.terminate();
  }
}
