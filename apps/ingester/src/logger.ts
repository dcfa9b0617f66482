import type { LogLevel } from './config';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

/**
 * Structured logger: one JSON object per line on stdout. Small on purpose, so that the hot path
 * never formats anything unless the level is enabled.
 */
export class Logger {
  private readonly min: number;

  constructor(
    private readonly level: LogLevel = 'info',
    private readonly context = 'ingester',
    private readonly write: (line: string) => void = (line) => process.stdout.write(line),
  ) {
    this.min = LEVELS[level];
  }

  child(context: string): Logger {
    return new Logger(this.level, context, this.write);
  }

  enabled(level: LogLevel): boolean {
    return LEVELS[level] >= this.min;
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LEVELS[level] < this.min) return;
    const entry: LogFields = { time: new Date().toISOString(), level, context: this.context, msg };
    if (fields !== undefined) {
      for (const key of Object.keys(fields)) {
        const value = fields[key];
        entry[key] = value instanceof Error ? errorText(value) : value;
      }
    }
    this.write(`${safeStringify(entry)}\n`);
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function safeStringify(entry: LogFields): string {
  try {
    return JSON.stringify(entry);
  } catch {
    return JSON.stringify({ time: entry.time, level: entry.level, context: entry.context, msg: entry.msg });
  }
}
