import { type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** True when the request asks to become a WebSocket (any other `Upgrade`, e.g. h2c, is not one). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket';
}

/**
 * Answers an upgrade request the server does not take (e.g. Java's HTTP client offers `h2c` on every
 * `http://` request) as the plain HTTP request it also is: Node hands every request with an
 * `Upgrade` header to the 'upgrade' listeners, so without this it would never reach the routes. An
 * upgrade may be ignored (RFC 9110 §7.8); the answer closes the connection because whatever follows
 * the request on the socket has already been taken by the upgrade machinery.
 */
export function serveAsHttp(server: Server, req: IncomingMessage, socket: Duplex): void {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  socket.once('close', () => res.destroy());
  server.emit('request', req, res);
}
