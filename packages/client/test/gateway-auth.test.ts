import { createHmac } from 'node:crypto';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import WebSocket from 'ws';
import { connect, type Feed, type FeedState } from '../src';
import { waitFor } from './support/wait';

// The SDK's token flow against the real gateway with HS256 authentication: a token that expires
// closes the connection with 4001, and the feed asks getToken for a new one and reconnects.
jest.setTimeout(60000);

const SECRET = 'a-client-test-secret-of-32-bytes-or-more';

function hs256(sub: string, expIn: number): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, iat: now, exp: now + expIn })}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

let gateway: GatewayProcess;
let feed: Feed | undefined;

afterEach(async () => {
  feed?.close();
  await gateway?.stop();
});

it('gets a new token from getToken after the gateway closes with 4001 at expiry', async () => {
  gateway = await startGateway({
    AUTH_MODE: 'hs256',
    AUTH_HS256_SECRET: SECRET,
    AUTH_CLOCK_TOLERANCE_S: '0',
  });
  let calls = 0;
  const states: FeedState[] = [];
  feed = connect({
    url: gateway.ws,
    WebSocket,
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    getToken: () => {
      calls++;
      // The first token expires almost at once; the next ones last.
      return hs256('sdk-user', calls === 1 ? 2 : 3600);
    },
  });
  feed.on('state', (state) => states.push(state));
  await waitFor(
    'a reconnect with a new token',
    () => calls >= 2 && states.filter((s) => s === 'open').length >= 2,
    30000,
  );
  expect(states[states.length - 1]).toBe('open');
});
