import type { AddressInfo } from 'node:net';
import { MemoryBackplane } from '@tickhub/backplane';
import { createLogger } from '@tickhub/log';
import { DEFAULT_LIMITS, jsonCodec } from '@tickhub/protocol';
import { WebSocketServer } from 'ws';
import { realClock } from '../../src/core/clock';
import { EdgeStage } from '../../src/core/edge-stage';
import { WsConnection, WsCounters } from '../../src/ws/ws-connection';
import { Client } from '../support/gateway';

describe('WsConnection', () => {
  it('answers INTERNAL when a request fails unexpectedly and keeps the connection', async () => {
    const backplane = new MemoryBackplane({ podId: 'ws-test' });
    await backplane.connect();
    const edge = new EdgeStage({
      backplane,
      clock: realClock,
      // A symbol directory that fails: the kind of fault INTERNAL exists for.
      isKnownSymbol: () => {
        throw new Error('symbol directory unavailable');
      },
    });
    const counters = new WsCounters();
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    wss.on('connection', (ws) => {
      new WsConnection(
        ws,
        jsonCodec,
        {
          edge,
          limits: DEFAULT_LIMITS,
          gatewayId: 'gw-test',
          heartbeatMs: 15000,
          symbols: [],
          counters,
          logger: createLogger({ app: 'gateway', level: 'error' }),
          abuseMaxRejections: 100,
          abuseWindowMs: 3000,
          maxBufferedBytes: 4 * 1024 * 1024,
          now: Date.now,
        },
        undefined,
        () => undefined,
      );
    });
    const port = (wss.address() as AddressInfo).port;
    const c = await Client.open(`ws://127.0.0.1:${port}/`);
    try {
      c.send({ type: 'subscribe', id: 'i', symbols: ['AAPL'] });
      expect(await c.next((m) => m.type === 'error')).toEqual({
        type: 'error',
        id: 'i',
        code: 'INTERNAL',
        message: 'internal error',
      });
      c.send({ type: 'ping', id: 'after' });
      expect(await c.next((m) => m.type === 'pong')).toMatchObject({ id: 'after' });
      expect(counters.errors.INTERNAL).toBe(1);
    } finally {
      c.close();
      await new Promise<void>((r) => wss.close(() => r()));
      await backplane.close();
    }
  });
});
