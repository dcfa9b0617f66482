/** `json`: one JSON object per line. `pretty`: readable lines for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * Readable lines when stdout is a terminal (a developer's `npm start`), JSON lines otherwise (a
 * container, a test, a pipe into a tool). LOG_FORMAT=json or LOG_FORMAT=pretty forces one.
 */
export function logFormat(
  env: NodeJS.ProcessEnv = process.env,
  stdoutIsTerminal: boolean = process.stdout.isTTY === true,
): LogFormat {
  if (env.LOG_FORMAT === 'json' || env.LOG_FORMAT === 'pretty') return env.LOG_FORMAT;
  return stdoutIsTerminal ? 'pretty' : 'json';
}
