import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import WebSocket from 'ws';

// jose is ESM-only, which jest (CommonJS) cannot load; tokens are signed here with node:crypto as
// RFC 7515/7518 define it, and verified by the gateway process with jose.

export const HS256_SECRET = 'a-test-secret-of-at-least-32-bytes-long!';

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export type Claims = Record<string, unknown>;

/** A signed compact JWT; `exp` defaults to one hour from now (`expIn` seconds, negative = expired). */
export function signJwt(
  claims: Claims,
  key:
    | { alg: 'HS256'; secret: string; kid?: string }
    | { alg: 'RS256' | 'ES256'; privateKey: KeyObject; kid?: string },
  options: { expIn?: number; aud?: string } = {},
): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iat: now,
    exp: now + (options.expIn ?? 3600),
    ...(options.aud ? { aud: options.aud } : {}),
    ...claims,
  };
  const header = { alg: key.alg, typ: 'JWT', ...('kid' in key && key.kid ? { kid: key.kid } : {}) };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  let signature: Buffer;
  if (key.alg === 'HS256') signature = createHmac('sha256', key.secret).update(input).digest();
  else if (key.alg === 'RS256') signature = sign('sha256', Buffer.from(input), key.privateKey);
  else signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

/** A real HS256 token signed with `HS256_SECRET`. */
export async function hs256Token(
  claims: Claims,
  options: { expIn?: number; aud?: string } = {},
): Promise<string> {
  return signJwt(claims, { alg: 'HS256', secret: HS256_SECRET }, options);
}

/** A key pair for RS256 or ES256 and its public JWK (with `kid`, `alg`, `use`). */
export function keyPair(
  alg: 'RS256' | 'ES256',
  kid: string,
): { privateKey: KeyObject; jwk: Record<string, unknown> } {
  const { privateKey, publicKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

/** The HTTP status of an upgrade: 101 when it opened (then closed by the caller), otherwise the refusal. */
export function upgradeStatus(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', () => resolve(0));
  });
}

/**
 * The value of a counter in the gateway's `/metrics`, summed over its series whose labels include
 * `labels` (e.g. `{ reason: 'ip_connections' }`); 0 when it has none.
 */
export async function metricValue(
  httpBase: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${httpBase}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== `tickhub_gateway_${name}`) continue;
    const series = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1] as string, l[2] as string]),
    );
    if (Object.entries(labels).every(([k, v]) => series[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/**
 * The first log line of a gateway process that contains every fragment, waiting for it a little: the
 * process writes it before answering, but its stdout may reach the test after the answer does.
 * Undefined when no such line came within `timeoutMs`.
 */
export async function loggedLine(
  logs: readonly string[],
  fragments: readonly string[],
  timeoutMs = 5000,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = logs.find((l) => fragments.every((f) => l.includes(f)));
    if (line !== undefined || Date.now() > deadline) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
}
