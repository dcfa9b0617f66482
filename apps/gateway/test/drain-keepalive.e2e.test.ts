import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { startGatewayWithHubs } from './signalr/gateway-harness';

jest.setTimeout(30_000);

/** One GET over the given agent; resolves with the status and the Connection header. */
function get(agent: Agent, url: string): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('drain with keep-alive HTTP clients', () => {
  it('answers with Connection: close while draining and finishes although a client keeps its socket busy', async () => {
    const { gateway, baseUrl } = await startGatewayWithHubs({ DRAIN_GRACE_MS: '3000' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await get(agent, `${baseUrl}/health/live`);
      expect(before.status).toBe(200);
      expect(before.connection).toBe('keep-alive');
      // A WebSocket client that does not answer the close handshake keeps the drain in its grace
      // period for a while, so the HTTP client below is served during the drain.
      const stuck = new WebSocket(`${baseUrl.replace('http', 'ws')}/ws`);
      await new Promise((resolve, reject) => stuck.once('open', resolve).once('error', reject));
      stuck.pause();

      // A client that never lets its socket go idle, like a long-polling client retrying every few
      // milliseconds: before the fix it held `server.close()` open and kept reaching the drained pod.
      let stop = false;
      const answers: Array<string | undefined> = [];
      const busy = (async () => {
        while (!stop) {
          const answer = await get(agent, `${baseUrl}/health/live`).catch(() => undefined);
          if (!answer) break; // the listener is gone
          answers.push(answer.connection);
        }
      })();
      const drained = gateway.drain('test');
      const outcome = await Promise.race([
        drained.then(() => 'drained'),
        new Promise((resolve) => setTimeout(() => resolve('still draining after 15 s'), 15_000)),
      ]);
      stop = true;
      await busy;
      expect(outcome).toBe('drained');
      // Every answer given while draining told the client to close the socket.
      expect(answers.length).toBeGreaterThan(0);
      expect(answers.every((connection) => connection === 'close')).toBe(true);
    } finally {
      agent.destroy();
      await gateway.drain('test over');
    }
  });
});
