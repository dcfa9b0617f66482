import type { Logger } from './logger';

/**
 * Nest's own log calls (its `LoggerService`) routed to the app's logger: pass
 * `new NestLogBridge(logger.child('nest'))` as the `logger` option of `NestFactory`. Nest's start-up
 * chatter (`log`, `verbose`) is debug; its warnings and errors stay warnings and errors. Nest's
 * context (`RoutesResolver`, …) becomes the `context` field, an error's stack the `stack` field.
 */
export class NestLogBridge {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    if (this.logger.enabled('debug')) this.logger.debug(...nestLine(message, params));
  }

  verbose(message: unknown, ...params: unknown[]): void {
    if (this.logger.enabled('debug')) this.logger.debug(...nestLine(message, params));
  }

  debug(message: unknown, ...params: unknown[]): void {
    if (this.logger.enabled('debug')) this.logger.debug(...nestLine(message, params));
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.logger.warn(...nestLine(message, params));
  }

  error(message: unknown, ...params: unknown[]): void {
    this.logger.error(...nestLine(message, params));
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.logger.error(...nestLine(message, params));
  }
}

/** Nest calls `(message, context)` and, for errors, `(message, stack, context)`; a message may be an Error. */
function nestLine(message: unknown, params: unknown[]): [string, Record<string, unknown>] {
  const fields: Record<string, unknown> = {};
  let msg: string;
  if (message instanceof Error) {
    msg = message.message;
    fields.error = message;
  } else {
    msg = typeof message === 'string' ? message : (JSON.stringify(message) ?? String(message));
  }
  for (const param of params) {
    if (typeof param !== 'string') continue;
    if (isStack(param)) fields.stack = param;
    else fields.context = param;
  }
  return [msg, fields];
}

function isStack(text: string): boolean {
  return /\n\s+at /.test(text);
}
