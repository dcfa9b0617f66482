import { ConfigError, loadConfig } from '../src/config';

describe('authentication and abuse-limit configuration', () => {
  it('is off by default, with generous defaults for the limits', () => {
    const config = loadConfig({});
    expect(config.auth.mode).toBe('off');
    expect(config.handshakeTimeoutMs).toBe(30_000);
    expect(config.maxConnectionsPerIp).toBe(0);
    expect(config.maxConnectionsPerUser).toBe(0);
    expect(config.maxUpgradesPerIpPerSec).toBe(0);
  });

  it.each([
    [{ AUTH_MODE: 'basic' }, 'AUTH_MODE'],
    [{ AUTH_MODE: 'hs256' }, 'AUTH_HS256_SECRET'],
    [{ AUTH_MODE: 'hs256', AUTH_HS256_SECRET: 'short' }, 'AUTH_HS256_SECRET'],
    [{ AUTH_MODE: 'jwks' }, 'AUTH_JWKS_FILE'],
    [{ AUTH_MODE: 'jwks', AUTH_JWKS_URL: 'ftp://x' }, 'AUTH_JWKS_URL'],
    [{ AUTH_MODE: 'jwks', AUTH_JWKS_FILE: '/nonexistent/jwks.json' }, 'AUTH_JWKS_FILE'],
    [{ MAX_CONNECTIONS_PER_IP: '-1' }, 'MAX_CONNECTIONS_PER_IP'],
    [{ MAX_CONNECTIONS_PER_USER: 'many' }, 'MAX_CONNECTIONS_PER_USER'],
    [{ MAX_UPGRADES_PER_IP_PER_SEC: '1.5' }, 'MAX_UPGRADES_PER_IP_PER_SEC'],
    [{ HANDSHAKE_TIMEOUT_MS: 'soon' }, 'HANDSHAKE_TIMEOUT_MS'],
    [{ AUTH_CLOCK_TOLERANCE_S: '-3' }, 'AUTH_CLOCK_TOLERANCE_S'],
  ])('refuses %j naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });

  it('reads a complete HS256 setup', () => {
    const config = loadConfig({
      AUTH_MODE: 'hs256',
      AUTH_HS256_SECRET: 'x'.repeat(32),
      AUTH_ISSUER: 'iss',
      AUTH_AUDIENCE: 'aud',
    });
    expect(config.auth).toEqual({
      mode: 'hs256',
      hs256Secret: 'x'.repeat(32),
      issuer: 'iss',
      audience: 'aud',
      clockToleranceS: 5,
      requireExp: true,
    });
  });

  it('requires exp unless AUTH_REQUIRE_EXP=false', () => {
    const base = { AUTH_MODE: 'hs256', AUTH_HS256_SECRET: 'x'.repeat(32) };
    expect(loadConfig({ ...base, AUTH_REQUIRE_EXP: 'false' }).auth.requireExp).toBe(false);
    expect(() => loadConfig({ ...base, AUTH_REQUIRE_EXP: 'sometimes' })).toThrow('AUTH_REQUIRE_EXP');
  });
});
