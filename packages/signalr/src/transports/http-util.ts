import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export function newId(): string {
  return randomBytes(16).toString('base64url');
}

export function parseUrl(req: IncomingMessage): URL | undefined {
  const raw = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  try {
    return new URL(raw, 'http://localhost');
  } catch {
    return undefined;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  respond(res, status, 'application/json', JSON.stringify(body));
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  respond(res, status, 'text/plain', text);
}

export function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
  );
}

export function normalizePath(path: string): string {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** Discards a request body we do not read, so the socket can be reused. */
export function drain(req: IncomingMessage): void {
  if (!req.readableEnded) req.resume();
}

export function respond(
  res: ServerResponse,
  status: number,
  contentType?: string,
  body?: Uint8Array | string,
): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const headers: Record<string, string | number> = { 'Cache-Control': 'no-cache' };
  if (contentType) headers['Content-Type'] = contentType;
  const length = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  headers['Content-Length'] = length;
  res.writeHead(status, headers);
  res.end(body);
}
