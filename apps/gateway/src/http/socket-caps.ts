import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Caps the TCP connections one address may hold open on the HTTP server before their first request
 * arrives (half-open: connected, headers not sent). Such sockets cost a file descriptor each until
 * Node's headers timeout, and no upgrade or connection cap sees them, because those run on a request.
 * Connections past the cap are closed at once; each is counted in `refused`.
 */
export class HalfOpenSocketCap {
  refused = 0;
  private readonly halfOpen = new Map<string, number>();
  private readonly settles = new WeakMap<Socket, () => void>();

  constructor(private readonly maxPerAddress: number) {}

  attach(server: Server): void {
    if (this.maxPerAddress <= 0) return;
    server.prependListener('connection', (socket: Socket) => this.onConnection(socket));
    // A request's headers have arrived: its socket is no longer half-open. (The HTTP parser reads
    // the socket's handle directly, so its 'data' events cannot tell.)
    const settle = (req: IncomingMessage) => this.settles.get(req.socket)?.();
    server.prependListener('request', settle);
    server.prependListener('upgrade', settle);
  }

  private onConnection(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const held = this.halfOpen.get(address) ?? 0;
    if (held >= this.maxPerAddress) {
      this.refused++;
      socket.destroy();
      return;
    }
    this.halfOpen.set(address, held + 1);
    let counted = true;
    const settle = () => {
      if (!counted) return;
      counted = false;
      const n = (this.halfOpen.get(address) ?? 1) - 1;
      if (n <= 0) this.halfOpen.delete(address);
      else this.halfOpen.set(address, n);
    };
    this.settles.set(socket, settle);
    socket.once('close', settle);
  }
}
