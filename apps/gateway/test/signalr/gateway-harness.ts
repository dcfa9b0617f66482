import { createLogger } from '@tickhub/log';
import { loadConfig } from '../../src/config';
import { createGateway, type Gateway } from '../../src/main';
import { gatewayHubsModule } from '../../src/signalr/gateway-hubs.module';

/** A whole gateway (embedded mode: simulator, memory backplane) with the hubs, on a free loopback port. */
export async function startGatewayWithHubs(
  env: Record<string, string> = {},
): Promise<{ gateway: Gateway; baseUrl: string }> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    SIM_SYMBOLS: '20',
    SIM_RATE: '400',
    DRAIN_GRACE_MS: '2000',
    // No simulated history: these tests are about the hubs, and a few seconds of warm-up per gateway
    // (two in one process for the failover tests) only delay readiness on a busy machine.
    SIM_WARMUP_SECONDS: '0',
    ...env,
  });
  const gateway = await createGateway(config, {
    logger: createLogger({ app: 'gateway', level: 'error', fields: { test: 'signalr' } }),
    imports: [gatewayHubsModule()],
  });
  return { gateway, baseUrl: `http://127.0.0.1:${gateway.port}` };
}
