import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';

// jose is ESM-only; loaded on first use (Node requires it as ESM), so that importing this module
// costs nothing when authentication is off.
type Jose = typeof import('jose');
let jose: Promise<Jose> | undefined;
const loadJose = (): Promise<Jose> => {
  jose ??= import('jose');
  return jose;
};

import type { Entitlements } from '../core/entitlements';

export type AuthMode = 'off' | 'hs256' | 'jwks';

export interface AuthConfig {
  mode: AuthMode;
  hs256Secret?: string;
  jwksFile?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  clockToleranceS: number;
  /** Refuse tokens without `exp` (AUTH_REQUIRE_EXP, on by default): a leaked token must not work forever. */
  requireExp: boolean;
}

/** Who a verified token names, and what it allows. */
export interface AuthPrincipal {
  user: string;
  entitlements: Entitlements | undefined;
  /** Expiry (ms since the epoch), when the token has one. */
  expiresAt: number | undefined;
}

/** Why a token was refused; `reason` never contains the token. */
export class AuthError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * The token of a request: `?token=` (native protocol), `?access_token=` (what the SignalR clients send
 * on WebSockets, SSE and long polling) or `Authorization: Bearer`.
 */
export function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m) return m[1];
  }
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const params = new URLSearchParams(url.slice(q + 1));
  return params.get('token') ?? params.get('access_token') ?? undefined;
}

/**
 * A JWKS read from a file: re-read (at most once a second) when a token names a `kid` it does not
 * hold, so that keys rotated into the file are picked up without a restart.
 */
function fileKeySet(path: string): JWTVerifyGetKey {
  const read = async () =>
    (await loadJose()).createLocalJWKSet(JSON.parse(readFileSync(path, 'utf8')) as JSONWebKeySet);
  let keys: Promise<JWTVerifyGetKey> | undefined;
  let readAt = Date.now();
  return async (header, token) => {
    keys ??= read();
    try {
      return await (await keys)(header, token);
    } catch (error) {
      if (Date.now() - readAt < 1000) throw error;
      readAt = Date.now();
      keys = read();
      return (await keys)(header, token);
    }
  };
}

const PATTERN = /^[A-Za-z0-9._:/-]*\*?$/;

/** Entitlements from the claims `symbols`, `maxHz`, `maxSubscriptions`; malformed claims refuse the token. */
export function entitlementsOf(payload: JWTPayload): Entitlements | undefined {
  const out: { symbols?: string[]; maxHz?: number; maxSubscriptions?: number } = {};
  const { symbols, maxHz, maxSubscriptions } = payload as Record<string, unknown>;
  if (symbols !== undefined) {
    const list = typeof symbols === 'string' ? symbols.split(/[\s,]+/).filter(Boolean) : symbols;
    if (!Array.isArray(list) || !list.every((p) => typeof p === 'string' && PATTERN.test(p)))
      throw new AuthError('bad symbols claim');
    out.symbols = list as string[];
  }
  if (maxHz !== undefined) {
    if (typeof maxHz !== 'number' || !(maxHz > 0)) throw new AuthError('bad maxHz claim');
    out.maxHz = maxHz;
  }
  if (maxSubscriptions !== undefined) {
    if (typeof maxSubscriptions !== 'number' || !Number.isInteger(maxSubscriptions) || maxSubscriptions < 0)
      throw new AuthError('bad maxSubscriptions claim');
    out.maxSubscriptions = maxSubscriptions;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Verifies JWTs as configured (HS256 secret, or RS256/ES256 from a JWKS file or URL). */
export class JwtVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly config: AuthConfig) {
    if (config.mode === 'hs256') {
      if (!config.hs256Secret) throw new Error('AUTH_HS256_SECRET is required with AUTH_MODE=hs256');
      this.key = new TextEncoder().encode(config.hs256Secret);
      this.algorithms = ['HS256'];
    } else if (config.mode === 'jwks') {
      this.algorithms = ['RS256', 'ES256'];
      if (config.jwksUrl) {
        // jose caches the set and refetches it (at most once a second) when a token names an unknown kid.
        const url = new URL(config.jwksUrl);
        let remote: JWTVerifyGetKey | undefined;
        this.key = async (header, token) => {
          remote ??= (await loadJose()).createRemoteJWKSet(url, {
            cooldownDuration: 1000,
            cacheMaxAge: 600_000,
          });
          return remote(header, token);
        };
      } else if (config.jwksFile) {
        this.key = fileKeySet(config.jwksFile);
      } else {
        throw new Error('AUTH_JWKS_FILE or AUTH_JWKS_URL is required with AUTH_MODE=jwks');
      }
    } else {
      throw new Error('authentication is off');
    }
  }

  async verify(token: string | undefined): Promise<AuthPrincipal> {
    if (!token) throw new AuthError('token missing');
    if (token.length > 8192) throw new AuthError('token too long');
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: this.algorithms,
        clockTolerance: this.config.clockToleranceS,
        ...(this.config.requireExp ? { requiredClaims: ['exp'] } : {}),
        ...(this.config.issuer ? { issuer: this.config.issuer } : {}),
        ...(this.config.audience ? { audience: this.config.audience } : {}),
      };
      const { jwtVerify } = await loadJose();
      const result =
        this.key instanceof Uint8Array
          ? await jwtVerify(token, this.key, options)
          : await jwtVerify(token, this.key, options);
      payload = result.payload;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new AuthError(typeof code === 'string' ? `token invalid (${code})` : 'token invalid');
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 256)
      throw new AuthError('token has no sub');
    return {
      user: payload.sub,
      entitlements: entitlementsOf(payload),
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
    };
  }
}
