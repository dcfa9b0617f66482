/** `json`: one JSON object per line. `pretty`: readable lines for a person at a terminal. */
export const LOG_FORMATS = ['json', 'pretty'] as const;

export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Readable lines when stdout is a terminal (a developer's `npm start`), JSON lines otherwise (a
 * container, a test, a pipe into a tool). LOG_FORMAT=json or LOG_FORMAT=pretty forces one.
 */
export function logFormat(
  env: NodeJS.ProcessEnv = process.env,
  stdoutIsTerminal: boolean = process.stdout.isTTY === true,
): LogFormat {
  // Spelled as LOG_VARIABLES reads it (any case, blanks around), so the value that passed the check is the one used.
  const forced = LOG_FORMATS.find((f) => f === env.LOG_FORMAT?.trim().toLowerCase());
  if (forced !== undefined) return forced;
  return stdoutIsTerminal ? 'pretty' : 'json';
}
