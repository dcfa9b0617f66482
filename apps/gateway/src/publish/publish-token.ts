import { createHmac, timingSafeEqual } from 'node:crypto';

/** Why a publish token was refused; the message never contains the token or the key. */
export class PublishTokenError extends Error {}

/** Clock difference allowed between the publisher and this gateway (Azure SignalR Service allows as much). */
export const CLOCK_SKEW_S = 30;
const MAX_TOKEN_LENGTH = 8192;

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new PublishTokenError(`malformed token ${what}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PublishTokenError(`malformed token ${what}`);
  }
  return value as Record<string, unknown>;
}

/** What a token's `aud` is compared with: the request's host (with and without its port) and path. */
export interface Audience {
  /** `host:port` as the request named it (no port when it named none or the default one). */
  host: string;
  hostname: string;
  /** The decoded path, without a trailing slash. */
  path: string;
}

function decodedPath(url: URL): string {
  const path = url.pathname.replace(/\/+$/, '');
  try {
    return decodeURIComponent(path);
  } catch {
    // A malformed escape is compared as written.
    return path;
  }
}

/**
 * The host and path a token's `aud` names, compared without scheme (a proxy in front may end TLS),
 * query and fragment, and with percent-encoding undone (clients escape user ids differently).
 */
export function audienceOf(url: URL): Audience {
  return { host: url.host.toLowerCase(), hostname: url.hostname.toLowerCase(), path: decodedPath(url) };
}

/**
 * An `aud` that names a port must name the request's; one that names none matches the host on any
 * port, because the Azure SignalR Management SDK builds `aud` from `{scheme}://{host}/`, leaving out
 * the port of an endpoint such as `http://gateway:8080`.
 */
function audienceMatches(aud: unknown, expected: Audience): boolean {
  const candidates = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  return candidates.some((candidate) => {
    if (typeof candidate !== 'string') return false;
    let named: Audience;
    let port: string;
    try {
      const url = new URL(candidate);
      named = audienceOf(url);
      port = url.port;
    } catch {
      return false;
    }
    const sameHost = port === '' ? named.hostname === expected.hostname : named.host === expected.host;
    return sameHost && named.path === expected.path;
  });
}

/**
 * Verifies a token as Azure SignalR Service verifies its data-plane tokens: HS256 signed with one of
 * the access keys (the key's UTF-8 bytes), `exp` required, `nbf` honoured, `aud` the request URL.
 * Returns the claims.
 */
export function verifyPublishToken(
  token: string | undefined,
  keys: readonly Buffer[],
  expectedAudience: Audience,
  nowMs: number,
): Record<string, unknown> {
  if (!token) throw new PublishTokenError('token missing');
  if (token.length > MAX_TOKEN_LENGTH) throw new PublishTokenError('token too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw new PublishTokenError('malformed token');
  const [header, payload, signature] = parts as [string, string, string];
  if (decodeJson(header, 'header').alg !== 'HS256') throw new PublishTokenError('token must be HS256');
  const given = Buffer.from(signature, 'base64url');
  let valid = false;
  // Every key is tried, so the time taken does not tell which one (if any) matched.
  for (const key of keys) {
    const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  if (!valid) throw new PublishTokenError('bad signature');
  const claims = decodeJson(payload, 'payload');
  const now = nowMs / 1000;
  if (typeof claims.exp !== 'number') throw new PublishTokenError('exp missing');
  if (now > claims.exp + CLOCK_SKEW_S) throw new PublishTokenError('token expired');
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || now < claims.nbf - CLOCK_SKEW_S)) {
    throw new PublishTokenError('token not yet valid');
  }
  if (!audienceMatches(claims.aud, expectedAudience))
    throw new PublishTokenError('aud does not name this URL');
  return claims;
}

/** A token for one request of the publish API, signed as the Azure SignalR Management SDK signs it. */
export function signPublishToken(requestUrl: string, key: string, ttlS: number, nowMs = Date.now()): string {
  const url = new URL(requestUrl);
  const audience = `${url.origin}${url.pathname}`;
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(nowMs / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ aud: audience, iat: now, exp: now + ttlS })}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}
