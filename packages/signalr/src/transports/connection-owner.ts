import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What names an anonymous client: base64url of 16 random bytes. */
const CLIENT_KEY = /^[A-Za-z0-9_-]{22}$/;

/**
 * The anonymous client a negotiated connection belongs to. The connection token travels in URLs
 * (`?id=`), where proxy logs and browser histories keep it, so it alone must not let anyone poll,
 * send to or end the connection. Authenticated connections are bound to their user instead; this
 * binding is for connections without a user:
 *
 * - negotiate hands the client a secret in a cookie (HttpOnly, never in a URL), or reuses the one it
 *   already has, so the tabs of one browser share it; every later request of the connection that
 *   carries a cookie must carry that secret;
 * - a client that keeps no cookies (OkHttp, the Java client's default; curl) is bound to the address
 *   it negotiated from, until one of its requests shows the cookie.
 */
export class ConnectionOwner {
  /** A request of the connection showed the cookie: from now on every request must. */
  private proven = false;

  constructor(
    private readonly clientKey: Buffer,
    private readonly address: string,
  ) {}

  /**
   * The owner of a connection being negotiated by `req`; sets the cookie on `res` when the client
   * has none yet.
   */
  static negotiate(req: IncomingMessage, res: ServerResponse, cookieName: string): ConnectionOwner {
    let key = cookieOf(req, cookieName);
    if (key === undefined || !CLIENT_KEY.test(key)) {
      key = randomBytes(16).toString('base64url');
      const secure = (req.socket as { encrypted?: boolean }).encrypted ? '; Secure' : '';
      res.setHeader('Set-Cookie', `${cookieName}=${key}; Path=/; HttpOnly; SameSite=Lax${secure}`);
    }
    return new ConnectionOwner(Buffer.from(key), addressOf(req));
  }

  /** True when `req` comes from the client that negotiated the connection. */
  owns(req: IncomingMessage, cookieName: string): boolean {
    const key = cookieOf(req, cookieName);
    if (key === undefined) return !this.proven && addressOf(req) === this.address;
    const given = Buffer.from(key);
    if (given.length !== this.clientKey.length || !timingSafeEqual(given, this.clientKey)) return false;
    this.proven = true;
    return true;
  }
}

function addressOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** The value of one cookie of the request's Cookie header, if present. */
function cookieOf(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    if (part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}
