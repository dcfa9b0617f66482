import 'reflect-metadata';
import { existsSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createLogger, type Logger, NestLogBridge } from '@tickhub/log';
import { CloseCode } from '@tickhub/protocol';
import { AppModule, type AppModuleDeps } from './app.module';
import { AccessControl } from './auth/access-control';
import { ConfigError, type GatewayConfig, loadConfig } from './config';
import { securityHeaders } from './http/security-headers';
import { HalfOpenSocketCap } from './http/socket-caps';
import { PublishModule } from './publish/publish.module';
import { GatewayRuntime } from './runtime';
import { gatewayHubsModule } from './signalr/gateway-hubs.module';
import { gatewayHelp } from './variables';
import { UpgradeRouter } from './ws/upgrade-router';
import { TickhubWsAdapter } from './ws/ws-adapter';
import { WsConnections } from './ws/ws-connections';

export interface Gateway {
  readonly app: NestExpressApplication;
  readonly runtime: GatewayRuntime;
  readonly router: UpgradeRouter;
  readonly connections: WsConnections;
  readonly port: number;
  /** Graceful drain: not ready, refuse upgrades, close clients with 1001, stop the source, close all. */
  drain(reason?: string): Promise<void>;
}

export interface CreateGatewayOptions {
  logger?: Logger;
  imports?: AppModuleDeps['imports'];
}

/** Builds, starts and binds a gateway; resolves once it listens (readiness follows the tick source). */
export async function createGateway(
  config: GatewayConfig,
  options: CreateGatewayOptions = {},
): Promise<Gateway> {
  const logger = options.logger ?? gatewayLogger(config);
  const runtime = new GatewayRuntime(config, logger);
  const router = new UpgradeRouter(config.allowedOrigins, (error) =>
    logger.warn('upgrade failed', { error: String(error) }),
  );
  const connections = new WsConnections(config.heartbeatMs);
  const dashboardDir = config.dashboardDir ?? resolve(__dirname, '../../dashboard/dist');

  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.create({
      config,
      logger,
      runtime,
      router,
      connections,
      dashboardDir,
      imports: options.imports,
    }),
    // No route reads a parsed body: the hubs and the publish API read theirs with their own limits.
    { logger: new NestLogBridge(logger.child('nest')), abortOnError: false, bodyParser: false },
  );
  app.useWebSocketAdapter(
    new TickhubWsAdapter(app, { router, maxPayloadBytes: config.limits.maxPayloadBytes }),
  );
  app.disable('x-powered-by');
  app.use(securityHeaders);
  if (existsSync(dashboardDir)) app.useStaticAssets(dashboardDir, { index: false });

  logger.info('starting', {
    mode: config.kafkaBrokers ? 'kafka' : 'embedded',
    tickSource: runtime.mode.tickSource,
    backplane: runtime.mode.backplane,
    kafkaTopic: config.kafkaBrokers ? config.kafkaTopic : undefined,
    kafkaGroupId: config.kafkaBrokers ? config.kafkaGroupId : undefined,
    symbols: runtime.symbols.length,
    limits: config.limits,
  });

  await app.listen(config.port, config.host);
  const server: Server = app.getHttpServer();
  // Half-open sockets (connected, no request yet) expire sooner than Node's 60 s, and are capped per address.
  server.headersTimeout = config.headersTimeoutMs;
  new HalfOpenSocketCap(config.maxHalfOpenSocketsPerIp).attach(server);
  const port = (server.address() as AddressInfo).port;
  logger.info('listening', { port, host: config.host });
  runtime.presenceCounters = app.get(AccessControl);
  runtime.startInBackground();

  let draining: Promise<void> | undefined;
  // A keep-alive client (a long-polling SignalR client, a dashboard's fetches) would otherwise keep
  // reaching this pod through its old socket, get 404 for connections the pod no longer holds and
  // hold the drain open: while draining, every response closes its connection, so the next request
  // goes through the load balancer to a pod that serves.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (draining) res.setHeader('Connection', 'close');
  });
  const drain = (reason = 'drain'): Promise<void> => {
    draining ??= (async () => {
      logger.info('draining', { reason, graceMs: config.drainGraceMs });
      router.setDraining();
      runtime.markDraining();
      connections.closeAll(CloseCode.GOING_AWAY, 'server going away');
      await runtime.runDrainHooks();
      const deadline = Date.now() + config.drainGraceMs / 2;
      while (connections.size() > 0 && Date.now() < deadline) await sleep(25);
      connections.terminateAll();
      connections.stop();
      await runtime.stop();
      // Whatever is still open after the grace (a request in flight, an idle keep-alive socket)
      // is cut, or closing the listener would wait for it.
      server.closeAllConnections();
      await app.close();
      logger.info('drained', { reason });
    })();
    return draining;
  };

  return { app, runtime, router, connections, port, drain };
}

/** The gateway's root logger: every line names the pod, so lines of several pods can be merged. */
function gatewayLogger(config: GatewayConfig): Logger {
  return createLogger({ app: 'gateway', level: config.logLevel, fields: { gateway: config.gatewayId } });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Entry point of `npm start`: configuration from the environment, drain on SIGTERM and SIGINT. */
export async function startGateway(env: NodeJS.ProcessEnv = process.env): Promise<Gateway | undefined> {
  let config: GatewayConfig;
  try {
    config = loadConfig(env);
  } catch (error) {
    // One line per bad variable, so that a deployment fixes them all in one go.
    const lines = error instanceof ConfigError ? error.lines : [String(error)];
    for (const line of lines) {
      process.stderr.write(`${JSON.stringify({ level: 'error', msg: `invalid configuration: ${line}` })}\n`);
    }
    process.exitCode = 1;
    return undefined;
  }
  const logger = gatewayLogger(config);
  process.on('uncaughtException', (error) => logger.error('uncaught exception', { error }));
  process.on('unhandledRejection', (error) => logger.error('unhandled rejection', { error }));
  // Handlers go in before start-up so that a signal arriving while the gateway starts is not lost:
  // nothing is serving yet, so there is nothing to drain and the process simply exits.
  let gateway: Gateway | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!gateway) {
      logger.info('signal during start-up, exiting', { signal });
      process.exit(0);
    }
    const timer = setTimeout(() => {
      logger.warn('drain grace period over, exiting', { graceMs: config.drainGraceMs });
      process.exit(0);
    }, config.drainGraceMs);
    timer.unref();
    gateway.drain(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('drain failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    gateway = await createGateway(config, {
      logger,
      imports: [gatewayHubsModule(), PublishModule.forRoot()],
    });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    logger.error(
      `PORT ${config.port} is already in use on ${config.host}: set PORT (and HOST) to a free address`,
      {
        variable: 'PORT',
      },
    );
    process.exit(1);
  }
  announceWhenReady(gateway, config, logger);
  return gateway;
}

/** One line saying where everything is, once the gateway serves (the first thing a developer looks for). */
function announceWhenReady(gateway: Gateway, config: GatewayConfig, logger: Logger): void {
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const http = `http://${host.includes(':') ? `[${host}]` : host}:${gateway.port}`;
  const urls = {
    dashboard: http,
    websocket: `${http.replace('http', 'ws')}/ws`,
    signalr: `${http}/hubs/market`,
  };
  const timer = setInterval(() => {
    if (gateway.runtime.isDraining()) return clearInterval(timer);
    if (!gateway.runtime.isReady()) return;
    clearInterval(timer);
    logger.info(
      `tickhub is running: dashboard ${urls.dashboard} · WebSocket ${urls.websocket} · SignalR ${urls.signalr}`,
      urls,
    );
  }, 100);
  timer.unref();
}

if (require.main === module && process.argv.includes('--help')) {
  process.stdout.write(gatewayHelp(process.env));
} else if (require.main === module) {
  startGateway().catch((error: unknown) => {
    process.stderr.write(
      `${JSON.stringify({ level: 'error', msg: 'gateway failed to start', error: String(error) })}\n`,
    );
    process.exit(1);
  });
}
