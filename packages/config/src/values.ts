import { z } from 'zod';
import { bad, parsed, type Variable, variable } from './variables';

/**
 * The value kinds the apps' variables share, each with one wording: a bad value reads
 * `PORT must be an integer >= 0 and <= 65535, got "x"`, so every app's errors look alike.
 */

/** What `number`, `boolean`, `oneOf` and `text` take besides the value: the docs' facts. */
export interface ValueOptions<T> {
  doc: string;
  default: T;
  group?: string;
}

/** A variable without a default: undefined when unset (off, or the app computes it: `defaultText` says how). */
export interface NoDefaultOptions {
  doc: string;
  defaultText?: string;
  group?: string;
}

export interface NumberCheck {
  min?: number;
  max?: number;
  integer?: boolean;
}

/** A number within bounds; refused: `must be an integer >= 0 and <= 65535, got "x"`. */
export function numberValue(check: NumberCheck = {}): z.ZodType<number, string> {
  const { min, max, integer } = check;
  return parsed((raw) => {
    const value = Number(raw);
    const ok =
      Number.isFinite(value) &&
      (!integer || Number.isInteger(value)) &&
      (min === undefined || value >= min) &&
      (max === undefined || value <= max);
    return ok ? value : bad(`must be ${numberWanted(check)}, got ${JSON.stringify(raw)}`);
  });
}

/** `an integer >= 0 and <= 65535`: what a number must be, as the messages say it. */
export function numberWanted({ min, max, integer }: NumberCheck): string {
  const bounds = [min !== undefined ? `>= ${min}` : '', max !== undefined ? `<= ${max}` : ''].filter(Boolean);
  return `${integer ? 'an integer' : 'a number'}${bounds.length > 0 ? ` ${bounds.join(' and ')}` : ''}`;
}

/** `integer 0–65535`, `number ≥ 1`: what a number takes, as `--help` and the docs say it. */
export function numberAccepts({ min, max, integer }: NumberCheck): string {
  const kind = integer ? 'integer' : 'number';
  if (min !== undefined && max !== undefined) return `${kind} ${min}–${max}`;
  if (min !== undefined) return `${kind} ≥ ${min}`;
  if (max !== undefined) return `${kind} ≤ ${max}`;
  return kind;
}

export function number(check: NumberCheck, options: ValueOptions<number>): Variable<number>;
export function number(check: NumberCheck, options: NoDefaultOptions): Variable<number | undefined>;
export function number(
  check: NumberCheck,
  options: ValueOptions<number> | NoDefaultOptions,
): Variable<number | undefined> {
  return variable({ ...options, accepts: numberAccepts(check), value: numberValue(check) });
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

/** true/1/yes/on or false/0/no/off, any case; refused: `must be true or false, got "maybe"`. */
export const booleanValue: z.ZodType<boolean, string> = parsed((raw) => {
  const lower = raw.toLowerCase();
  if (TRUE.includes(lower)) return true;
  if (FALSE.includes(lower)) return false;
  return bad(`must be true or false, got ${JSON.stringify(raw)}`);
});

export function boolean(options: ValueOptions<boolean>): Variable<boolean> {
  return variable({ ...options, accepts: 'true or false (1, 0, yes, no, on, off)', value: booleanValue });
}

/** One of `allowed`, any case; refused: `must be one of off, hs256, jwks, got "x"`. */
export function oneOfValue<const T extends string>(allowed: readonly T[]): z.ZodType<T, string> {
  return parsed((raw) => {
    const lower = raw.toLowerCase();
    return (
      allowed.find((a) => a.toLowerCase() === lower) ??
      bad(`must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`)
    );
  });
}

export function oneOf<const T extends string>(allowed: readonly T[], options: ValueOptions<T>): Variable<T>;
export function oneOf<const T extends string>(
  allowed: readonly T[],
  options: NoDefaultOptions,
): Variable<T | undefined>;
export function oneOf<const T extends string>(
  allowed: readonly T[],
  options: ValueOptions<T> | NoDefaultOptions,
): Variable<T | undefined> {
  return variable({ ...options, accepts: allowed.join(', '), value: oneOfValue(allowed) });
}

export function text(options: ValueOptions<string>): Variable<string> {
  return variable({ ...options, accepts: 'text', value: z.string() });
}

/** A value matching `pattern`; refused: `must be <what>, got "x"`. */
export function matching(pattern: RegExp, what: string): z.ZodType<string, string> {
  return parsed((raw) => (pattern.test(raw) ? raw : bad(`must be ${what}, got ${JSON.stringify(raw)}`)));
}

/**
 * A URL of one of `schemes`; refused: `must start with http:// or https://`, without the value, which
 * may carry a password.
 */
export function urlValue(schemes: readonly string[]): z.ZodType<string, string> {
  const prefixes = schemes.map((s) => `${s}://`);
  const wanted = `${prefixes.slice(0, -1).join(', ')}${prefixes.length > 1 ? ' or ' : ''}${prefixes.at(-1)}`;
  return parsed((raw) => (prefixes.some((p) => raw.startsWith(p)) ? raw : bad(`must start with ${wanted}`)));
}

/**
 * A comma-separated list, blanks dropped, each item passing `item`; refused (a bad item, or no item
 * at all): `must be <what>, got "item"`.
 */
export function listValue(
  what: string,
  item: (value: string) => boolean = () => true,
): z.ZodType<string[], string> {
  return parsed((raw) => {
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (items.length === 0) return bad(`must be ${what}, got ${JSON.stringify(raw)}`);
    const wrong = items.find((i) => !item(i));
    return wrong === undefined ? items : bad(`must be ${what}, got ${JSON.stringify(wrong)}`);
  });
}
