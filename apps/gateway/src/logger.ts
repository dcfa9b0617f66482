import type { LoggerService } from '@nestjs/common';
import type { LogLevel } from './config';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Structured JSON logs, one object per line on stdout; readable lines instead when stdout is a
 * terminal (a developer's `npm start`), unless LOG_FORMAT=json. Never pass secrets in fields.
 */
export class Logger {
  constructor(
    private readonly level: LogLevel = 'info',
    private readonly base: Record<string, unknown> = {},
    private readonly readable: boolean = process.stdout.isTTY === true && process.env.LOG_FORMAT !== 'json',
  ) {}

  child(fields: Record<string, unknown>): Logger {
    return new Logger(this.level, { ...this.base, ...fields }, this.readable);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.write('error', msg, fields);
  }

  enabled(level: LogLevel): boolean {
    return LEVELS[level] >= LEVELS[this.level];
  }

  private write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (LEVELS[level] < LEVELS[this.level]) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...this.base };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) line[k] = v instanceof Error ? errorFields(v) : v;
    }
    process.stdout.write(`${this.readable ? readableLine(line) : safeStringify(line)}\n`);
  }
}

/** `12:00:01 INFO  msg key=value …`: the fields of a JSON line, for eyes. */
function readableLine(line: Record<string, unknown>): string {
  const { time, level, msg, ...fields } = line;
  const extra = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : safeStringify(v)}`)
    .join(' ');
  const clock = String(time).slice(11, 19);
  return `${clock} ${String(level).toUpperCase().padEnd(5)} ${String(msg)}${extra ? `  ${extra}` : ''}`;
}

function errorFields(e: Error): Record<string, unknown> {
  return { name: e.name, message: e.message, stack: e.stack };
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify({ level: 'error', msg: 'unserializable log line' });
  }
}

/** Routes Nest's own log calls into the structured logger. */
export class NestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: unknown): void {
    this.logger.info(String(message), context ? { context } : undefined);
  }
  error(message: unknown, trace?: unknown, context?: unknown): void {
    this.logger.error(String(message), { trace, context });
  }
  warn(message: unknown, context?: unknown): void {
    this.logger.warn(String(message), context ? { context } : undefined);
  }
  debug(message: unknown, context?: unknown): void {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
  verbose(message: unknown, context?: unknown): void {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
}
