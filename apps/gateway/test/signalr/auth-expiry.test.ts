import * as signalR from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { COMBINATIONS, TRANSPORT_TYPES, waitFor } from '@tickhub/signalr/testing';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { HS256_SECRET, hs256Token, loggedLine, metricValue, signJwt } from '../support/auth';

jest.setTimeout(90_000);

const EXPIRED_ERROR = 'Unauthorized: the access token expired.';

let gw: GatewayProcess;

beforeAll(async () => {
  gw = await startGateway({ AUTH_MODE: 'hs256', AUTH_HS256_SECRET: HS256_SECRET });
});

afterAll(async () => {
  await gw?.stop();
});

/** `exp` (ms) of a compact JWT. */
function expOf(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as {
    exp: number;
  };
  return payload.exp * 1000;
}

describe('SignalR connections end when their token expires', () => {
  it.each(COMBINATIONS)(
    'closes a %s/%s connection at exp with a Close that lets the official client reconnect with a fresh token',
    async (transport, protocol) => {
      const user = `expiring-${transport}-${protocol}`;
      const short = await hs256Token({ sub: user }, { expIn: 2 });
      const exp = expOf(short);
      let fresh = false;
      let factoryCalls = 0;
      const accessTokenFactory = async () => {
        factoryCalls++;
        return fresh ? hs256Token({ sub: user }) : short;
      };
      let builder = new signalR.HubConnectionBuilder()
        .withUrl(`${gw.http}/hubs/market`, { transport: TRANSPORT_TYPES[transport], accessTokenFactory })
        .withAutomaticReconnect([0, 250, 500, 1000, 1000, 1000, 2000, 2000, 2000])
        .configureLogging(signalR.LogLevel.None);
      if (protocol === 'messagepack') builder = builder.withHubProtocol(new MessagePackHubProtocol());
      const connection = builder.build();
      const reconnecting: Array<{ at: number; error: string }> = [];
      let reconnected = false;
      connection.onreconnecting((error) => reconnecting.push({ at: Date.now(), error: String(error) }));
      connection.onreconnected(() => {
        reconnected = true;
      });
      const before = await metricValue(gw.http, 'token_expired_closes_total');
      await connection.start();
      try {
        const firstId = connection.connectionId;
        expect(await connection.invoke<string[]>('Subscribe', ['EURUSD'])).toEqual(['EURUSD']);
        // From now on the factory hands out tokens valid for an hour.
        fresh = true;
        const callsBefore = factoryCalls;
        await waitFor(() => reconnected, 30_000, 'the client to reconnect after the token expired');
        expect(reconnecting).toHaveLength(1);
        expect(reconnecting[0]?.error).toContain(EXPIRED_ERROR);
        // Not before exp: the server closed it because of the expiry, not for another reason.
        expect(reconnecting[0]?.at).toBeGreaterThanOrEqual(exp);
        expect(factoryCalls).toBeGreaterThan(callsBefore);
        expect(connection.connectionId).not.toBe(firstId);
        expect(connection.state).toBe(signalR.HubConnectionState.Connected);
        expect(await connection.invoke<string[]>('Subscribe', ['EURUSD'])).toEqual(['EURUSD']);
        expect(await metricValue(gw.http, 'token_expired_closes_total')).toBe(before + 1);
        const line = await loggedLine(gw.logs, [
          '"msg":"token expired, closing"',
          `"connectionId":"${firstId}"`,
        ]);
        expect(line).toBeDefined();
        expect(line).toContain('"reason":"token_expired"');
        expect(line).toContain(`"transport":"${transport}"`);
        expect(gw.logs.some((l) => l.includes(short.slice(-20)))).toBe(false);
      } finally {
        await connection.stop();
      }
    },
  );

  it('ends at exp, without reconnecting, a client that has no reconnect policy', async () => {
    const token = await hs256Token({ sub: 'no-reconnect' }, { expIn: 2 });
    const connection = new signalR.HubConnectionBuilder()
      .withUrl(`${gw.http}/hubs/market`, {
        transport: signalR.HttpTransportType.LongPolling,
        accessTokenFactory: () => token,
      })
      .configureLogging(signalR.LogLevel.None)
      .build();
    const closed = new Promise<Error | undefined>((resolve) => connection.onclose(resolve));
    await connection.start();
    const error = await closed;
    expect(String(error)).toContain(EXPIRED_ERROR);
    expect(connection.state).toBe(signalR.HubConnectionState.Disconnected);
  });

  it('refuses a token without exp (AUTH_REQUIRE_EXP is on by default)', async () => {
    // signJwt puts an exp in unless the claims override it; an undefined exp is dropped by JSON.
    const token = signJwt({ sub: 'forever', exp: undefined }, { alg: 'HS256', secret: HS256_SECRET });
    const res = await fetch(`${gw.http}/hubs/market/negotiate?negotiateVersion=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'token invalid' });
    expect(
      await loggedLine(gw.logs, ['"reason":"token_invalid"', 'ERR_JWT_CLAIM_VALIDATION_FAILED']),
    ).toBeDefined();
  });

  it('lets a fresher token on the WebSocket request extend a connection negotiated with an older one', async () => {
    const user = 'renewing-ws';
    const negotiateToken = await hs256Token({ sub: user }, { expIn: 2 });
    const transportToken = await hs256Token({ sub: user }, { expIn: 5 });
    // The official client asks the factory for the negotiate and again for the WebSocket.
    const tokens = [negotiateToken, transportToken];
    const connection = new signalR.HubConnectionBuilder()
      .withUrl(`${gw.http}/hubs/market`, {
        transport: signalR.HttpTransportType.WebSockets,
        accessTokenFactory: () => tokens.shift() ?? transportToken,
      })
      .configureLogging(signalR.LogLevel.None)
      .build();
    const closed = new Promise<{ at: number; error: string }>((resolve) =>
      connection.onclose((error) => resolve({ at: Date.now(), error: String(error) })),
    );
    await connection.start();
    expect(tokens).toHaveLength(0);
    const { at, error } = await closed;
    expect(error).toContain(EXPIRED_ERROR);
    expect(at).toBeGreaterThanOrEqual(expOf(transportToken));
  });

  it('lets a fresher token on the SSE request extend a connection negotiated with an older one', async () => {
    const user = 'renewing-sse';
    const negotiateToken = await hs256Token({ sub: user }, { expIn: 2 });
    const transportToken = await hs256Token({ sub: user }, { expIn: 5 });
    const negotiated = await fetch(`${gw.http}/hubs/market/negotiate?negotiateVersion=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${negotiateToken}` },
    });
    const { connectionToken } = (await negotiated.json()) as { connectionToken: string };
    const stream = await fetch(`${gw.http}/hubs/market?id=${encodeURIComponent(connectionToken)}`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${transportToken}` },
    });
    expect(stream.status).toBe(200);
    // The hub protocol handshake, sent as the official client does: a POST on the same connection.
    const handshake = await fetch(`${gw.http}/hubs/market?id=${encodeURIComponent(connectionToken)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${transportToken}`, 'content-type': 'text/plain' },
      body: '{"protocol":"json","version":1}\u001e',
    });
    expect(handshake.status).toBe(200);
    await handshake.arrayBuffer();
    const reader = stream.body!.getReader();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    // The server ended the stream at the later exp, after its Close message.
    expect(Date.now()).toBeGreaterThanOrEqual(expOf(transportToken));
    expect(text).toContain(EXPIRED_ERROR);
  });
});

describe('AUTH_REQUIRE_EXP=false', () => {
  let lenient: GatewayProcess;

  beforeAll(async () => {
    lenient = await startGateway({
      AUTH_MODE: 'hs256',
      AUTH_HS256_SECRET: HS256_SECRET,
      AUTH_REQUIRE_EXP: 'false',
    });
  });

  afterAll(async () => {
    await lenient?.stop();
  });

  it('keeps a connection whose token has no exp', async () => {
    // signJwt puts an exp in unless the claims override it; an undefined exp is dropped by JSON.
    const token = signJwt({ sub: 'forever', exp: undefined }, { alg: 'HS256', secret: HS256_SECRET });
    const connection = new signalR.HubConnectionBuilder()
      .withUrl(`${lenient.http}/hubs/market`, {
        transport: signalR.HttpTransportType.WebSockets,
        accessTokenFactory: () => token,
      })
      .configureLogging(signalR.LogLevel.None)
      .build();
    await connection.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(connection.state).toBe(signalR.HubConnectionState.Connected);
      expect(await connection.invoke<string[]>('Subscribe', ['EURUSD'])).toEqual(['EURUSD']);
    } finally {
      await connection.stop();
    }
  });
});
