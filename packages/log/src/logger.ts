/** The four levels every app and package logs at, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Extra fields of one line. An `Error` value is written as `{name, message, stack}`. Never pass secrets. */
export type LogFields = Record<string, unknown>;

/**
 * What a package needs from a logger: packages that only receive one depend on this type, never on
 * how lines are written. Every line has `time`, `level`, `msg`, the `app` and the logger's `component`.
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether a line at `level` would be written: check it before building costly fields. */
  enabled(level: LogLevel): boolean;
  /** A logger for one part of the app: its lines carry `component` (replacing the parent's) and `fields`. */
  child(component: string, fields?: LogFields): Logger;
}
