import { startGateway } from '@tickhub/testkit';
import { metric } from './support/gateway';

jest.setTimeout(60_000);

describe('backplane round trip on Redis', () => {
  it('exports the last PING round trip of the Redis backplane', async () => {
    const url = process.env.REDIS_URL;
    if (!url) throw new Error('REDIS_URL is not set: this test needs a real Redis');
    const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const gw = await startGateway({
      REDIS_URL: url,
      REDIS_KEY_PREFIX: `tickhub-test:rtt:${run}:`,
      GATEWAY_ID: `gw-rtt-${run}`,
      SIM_RATE: '100',
    });
    try {
      // The first PING goes out at start; its reply can land after readiness.
      const deadline = Date.now() + 15_000;
      let rtt = await metric(gw.http, 'tickhub_gateway_backplane_rtt_seconds');
      while (rtt === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        rtt = await metric(gw.http, 'tickhub_gateway_backplane_rtt_seconds');
      }
      expect(rtt).toBeGreaterThan(0);
      expect(Number.isFinite(rtt)).toBe(true);
    } finally {
      await gw.stop();
    }
  });
});
