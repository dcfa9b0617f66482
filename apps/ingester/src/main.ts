import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createLogger, NestLogBridge } from '@tickhub/log';
import { ConfigError, loadConfig } from './config';
import { checkReplayFile, ReplayFileError } from './csv-replay';
import { errorText } from './error-text';
import { ingesterModule } from './ingester.module';
import { IngesterService } from './ingester.service';
import { StartupError } from './publisher';
import { ingesterHelp } from './variables';

/** Exit codes: 2 = configuration to fix, 1 = cannot start or stop cleanly. */
export const EXIT_CONFIG = 2;
export const EXIT_FAILURE = 1;

/** Exits with one line per message. */
function fail(message: string | string[], code: number): never {
  for (const line of [message].flat()) process.stderr.write(`tickhub-ingester: ${line}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(ingesterHelp(process.env));
    return;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
    if (config.replayFile !== undefined) await checkReplayFile(config.replayFile);
  } catch (err) {
    if (err instanceof ConfigError)
      fail(
        err.lines.map((line) => `invalid configuration: ${line}`),
        EXIT_CONFIG,
      );
    if (err instanceof ReplayFileError)
      fail(`invalid configuration: REPLAY_FILE ${err.message}`, EXIT_CONFIG);
    throw err;
  }
  const log = createLogger({ app: 'ingester', level: config.logLevel });

  // A broker going away surfaces as rejected promises deep inside kafkajs: log them, keep running.
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled rejection', { error: errorText(reason) });
  });
  process.on('uncaughtException', (err) => {
    if (err.name.startsWith('KafkaJS')) {
      log.error('Kafka client error', { error: errorText(err) });
      return;
    }
    log.error('uncaught exception, exiting', { error: err });
    process.exit(EXIT_FAILURE);
  });

  let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>>;
  try {
    app = await NestFactory.createApplicationContext(ingesterModule(config, log), {
      logger: new NestLogBridge(log.child('nest')),
      abortOnError: false,
    });
  } catch (err) {
    if (err instanceof StartupError) fail(err.message, EXIT_FAILURE);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      fail(
        `cannot listen on ${config.httpHost}:${config.httpPort} (INGESTER_HTTP_PORT): ${code}`,
        EXIT_FAILURE,
      );
    }
    fail(`cannot start: ${errorText(err)}`, EXIT_FAILURE);
  }

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) {
      log.warn('second signal, exiting without waiting for the flush', { signal });
      process.exit(EXIT_FAILURE);
    }
    closing = true;
    log.info('shutdown requested', { signal });
    app.close().then(
      () => {
        const summary = app.get(IngesterService).summary;
        process.exit(summary === undefined || summary.flushed ? 0 : EXIT_FAILURE);
      },
      (err) => {
        log.error('shutdown failed', { error: errorText(err) });
        process.exit(EXIT_FAILURE);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => fail(`cannot start: ${errorText(err)}`, EXIT_FAILURE));
