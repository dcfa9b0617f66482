import pino, { type DestinationStream, type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import { errorFields } from './error-fields';
import { type LogFormat, logFormat } from './format';
import type { LogFields, Logger, LogLevel } from './logger';

export interface LoggerOptions {
  /** The `app` field of every line (`gateway`, `ingester`, …). */
  app: string;
  /** Lines below it are dropped before anything is built. Default `info`. */
  level?: LogLevel;
  /** Default: `logFormat()` (LOG_FORMAT, else readable on a terminal and JSON elsewhere). */
  format?: LogFormat;
  /** Fields on every line of this app (a pod's id, …). */
  fields?: LogFields;
  /** Where lines go; default stdout, written synchronously so that no line is lost at exit. */
  destination?: DestinationStream;
}

const RANK: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

/** The app's root logger (component `main`): create it once in the entry point and pass it down. */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? logFormat();
  const root = pino(
    {
      level,
      base: { app: options.app, ...options.fields },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    format === 'pretty'
      ? readable(options.destination, Object.keys(options.fields ?? {}))
      : (options.destination ?? pino.destination({ fd: 1, sync: true })),
  );
  return new PinoLogger(root, RANK[level], 'main', {});
}

/** pino-pretty in this thread (not a worker transport): lines are written before the process can exit. */
function readable(destination: DestinationStream | undefined, appFields: string[]): DestinationStream {
  return pretty({
    sync: true,
    destination: destination ?? 1,
    colorize: destination === undefined && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    // What every line of the terminal would repeat says nothing there.
    ignore: ['app', 'component', ...appFields].join(','),
    messageFormat: '{component}: {msg}',
    singleLine: true,
  });
}

/**
 * The `Logger` on pino. `msg` goes first in the object given to pino, so that lines read
 * `{"level":…,"time":…,"app":…,"component":…,"msg":…,…fields}` and tools can match
 * `"msg":"listening"` before the fields.
 */
class PinoLogger implements Logger {
  private readonly pino: Pino;

  constructor(
    private readonly root: Pino,
    private readonly min: number,
    component: string,
    private readonly fields: LogFields,
  ) {
    // Children come from the root, so a child of a child has one `component`, not two.
    this.pino = root.child({ component, ...fields });
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.min <= RANK.debug) this.pino.debug(line(msg, fields));
  }

  info(msg: string, fields?: LogFields): void {
    if (this.min <= RANK.info) this.pino.info(line(msg, fields));
  }

  warn(msg: string, fields?: LogFields): void {
    if (this.min <= RANK.warn) this.pino.warn(line(msg, fields));
  }

  error(msg: string, fields?: LogFields): void {
    if (this.min <= RANK.error) this.pino.error(line(msg, fields));
  }

  enabled(level: LogLevel): boolean {
    return this.min <= RANK[level];
  }

  child(component: string, fields?: LogFields): Logger {
    return new PinoLogger(
      this.root,
      this.min,
      component,
      fields ? { ...this.fields, ...fields } : this.fields,
    );
  }
}

function line(msg: string, fields: LogFields | undefined): LogFields {
  const entry: LogFields = { msg };
  if (fields !== undefined) {
    for (const key in fields) {
      const value = fields[key];
      if (value !== undefined) entry[key] = value instanceof Error ? errorFields(value) : value;
    }
  }
  return entry;
}
