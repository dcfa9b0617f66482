import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { keyPair, signJwt, upgradeStatus } from './support/auth';

jest.setTimeout(90_000);

const rsa1 = keyPair('RS256', 'rsa-1');
const ec1 = keyPair('ES256', 'ec-1');
const ec2 = keyPair('ES256', 'ec-2');
const token = (k: typeof rsa1, alg: 'RS256' | 'ES256', kid: string, claims = {}) =>
  signJwt(
    { sub: 'jwks-user', iss: 'https://issuer.test', ...claims },
    { alg, privateKey: k.privateKey, kid },
  );

describe('JWKS from a file', () => {
  let dir: string;
  let gw: GatewayProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickhub-jwks-'));
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [rsa1.jwk, ec1.jwk] }));
    gw = await startGateway({
      AUTH_MODE: 'jwks',
      AUTH_JWKS_FILE: join(dir, 'jwks.json'),
      AUTH_ISSUER: 'https://issuer.test',
    });
  });

  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts RS256 and ES256 tokens of its keys, refuses others, and picks up a key rotated in by kid', async () => {
    expect(await upgradeStatus(`${gw.ws}?token=${token(rsa1, 'RS256', 'rsa-1')}`)).toBe(101);
    expect(await upgradeStatus(`${gw.ws}?token=${token(ec1, 'ES256', 'ec-1')}`)).toBe(101);
    // Signed by a key the set does not hold, under a kid it holds.
    expect(await upgradeStatus(`${gw.ws}?token=${token(ec2, 'ES256', 'ec-1')}`)).toBe(401);
    expect(await upgradeStatus(`${gw.ws}?token=${token(rsa1, 'RS256', 'rsa-1', { iss: 'other' })}`)).toBe(
      401,
    );
    expect(await upgradeStatus(`${gw.ws}?token=${token(ec2, 'ES256', 'ec-2')}`)).toBe(401);
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [rsa1.jwk, ec1.jwk, ec2.jwk] }));
    // The file is re-read at most once a second when an unknown kid shows up.
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (status !== 101 && Date.now() < deadline) {
      status = await upgradeStatus(`${gw.ws}?token=${token(ec2, 'ES256', 'ec-2')}`);
      if (status !== 101) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(101);
  });
});

describe('JWKS from a URL', () => {
  let server: Server;
  let fetches = 0;
  let keys = [ec1.jwk];
  let gw: GatewayProcess;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    gw = await startGateway({
      AUTH_MODE: 'jwks',
      AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('fetches the set once, caches it, and fetches again when a new kid appears', async () => {
    for (let i = 0; i < 5; i++) {
      expect(await upgradeStatus(`${gw.ws}?token=${token(ec1, 'ES256', 'ec-1')}`)).toBe(101);
    }
    expect(fetches).toBe(1);
    keys = [ec1.jwk, rsa1.jwk];
    // jose refetches on an unknown kid at most once a second after the last fetch.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await upgradeStatus(`${gw.ws}?token=${token(rsa1, 'RS256', 'rsa-1')}`)).toBe(101);
    expect(fetches).toBe(2);
    expect(await upgradeStatus(`${gw.ws}?token=${token(ec1, 'ES256', 'ec-1')}`)).toBe(101);
    expect(fetches).toBe(2);
  });
});
