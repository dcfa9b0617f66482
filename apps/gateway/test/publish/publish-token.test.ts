import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import {
  audienceOf,
  CLOCK_SKEW_S,
  PublishTokenError,
  signPublishToken,
  verifyPublishToken,
} from '../../src/publish/publish-token';

const KEY = 'k'.repeat(44);
const KEYS = [Buffer.from(KEY)];
const URL_ = 'http://gw.example:8080/api/v1/hubs/chathub/users/alice';
const expected = audienceOf(new URL(URL_));
const NOW = 1_800_000_000_000;

function token(header: unknown, claims: unknown, key = KEY): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

const refusal = (t: string | undefined, keys = KEYS, now = NOW) => {
  try {
    verifyPublishToken(t, keys, expected, now);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(PublishTokenError);
    return (error as Error).message;
  }
};

describe('verifyPublishToken', () => {
  const exp = NOW / 1000 + 60;

  it('accepts what signPublishToken signs, for the URL with or without its query', () => {
    expect(refusal(signPublishToken(URL_, KEY, 60, NOW))).toBeUndefined();
    expect(refusal(signPublishToken(`${URL_}?excluded=x`, KEY, 60, NOW))).toBeUndefined();
  });

  it('compares the audience by host and decoded path, not by scheme or escaping', () => {
    const aud = 'https://GW.example:8080/api/v1/hubs/chathub/users/%61lice/';
    expect(refusal(token({ alg: 'HS256' }, { aud, exp }))).toBeUndefined();
    expect(
      refusal(
        token({ alg: 'HS256' }, { aud: 'http://gw.example:8081/api/v1/hubs/chathub/users/alice', exp }),
      ),
    ).toBe('aud does not name this URL');
  });

  it('matches an aud that names no port to the host on any port (as the Management SDK signs)', () => {
    const path = '/api/hubs/chathub/users/alice';
    const at = (host: string, requestUrl = `http://gw.example:8080${path}`) => {
      const t = token({ alg: 'HS256' }, { aud: `http://${host}${path}?api-version=2024-12-01`, exp });
      try {
        verifyPublishToken(t, KEYS, audienceOf(new URL(requestUrl)), NOW);
        return 'accepted';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(at('gw.example')).toBe('accepted');
    expect(at('GW.example:8080')).toBe('accepted');
    expect(at('gw.example', `http://gw.example${path}`)).toBe('accepted');
    expect(at('gw.example:80', `http://gw.example${path}`)).toBe('accepted');
    expect(at('gw.example:8081')).toBe('aud does not name this URL');
    expect(at('gw.example:8080', `http://gw.example${path}`)).toBe('aud does not name this URL');
    expect(at('other.example')).toBe('aud does not name this URL');
  });

  it('accepts any of the keys (rotation) and refuses others', () => {
    const other = 'o'.repeat(44);
    const t = token({ alg: 'HS256' }, { aud: URL_, exp }, other);
    expect(refusal(t)).toBe('bad signature');
    expect(refusal(t, [...KEYS, Buffer.from(other)])).toBeUndefined();
  });

  it('requires exp, within the clock skew', () => {
    expect(refusal(token({ alg: 'HS256' }, { aud: URL_ }))).toBe('exp missing');
    expect(
      refusal(token({ alg: 'HS256' }, { aud: URL_, exp: NOW / 1000 - CLOCK_SKEW_S + 1 })),
    ).toBeUndefined();
    expect(refusal(token({ alg: 'HS256' }, { aud: URL_, exp: NOW / 1000 - CLOCK_SKEW_S - 1 }))).toBe(
      'token expired',
    );
  });

  it('refuses other algorithms, none included', () => {
    expect(refusal(token({ alg: 'none' }, { aud: URL_, exp }))).toBe('token must be HS256');
    expect(refusal(token({ alg: 'HS512' }, { aud: URL_, exp }))).toBe('token must be HS256');
  });

  it('refuses any string that is not a valid token, with a PublishTokenError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        expect(refusal(s)).toBeDefined();
      }),
    );
    expect(refusal('a'.repeat(9000))).toBe('token too long');
  });
});
