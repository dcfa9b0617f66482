import { z } from 'zod';

export type Env = Readonly<Record<string, string | undefined>>;

/** One environment variable: how its value is read, and what the docs and `--help` say about it. */
export interface Variable<T> {
  /** Parses the trimmed value; an unset or blank variable arrives as undefined. */
  readonly schema: z.ZodType<T, string | undefined>;
  readonly description: Omit<VariableDescription, 'name'>;
}

/** What the docs and `--help` print about a variable: plain data, the same for every app. */
export interface VariableDescription {
  name: string;
  /** The values it takes, in a few words: `integer 0–65535`, `off, hs256, jwks`. */
  accepts: string;
  /** The value used when it is unset, as the docs show it; undefined = none (the setting is off or absent). */
  default: string | undefined;
  /** What it sets, on one line. */
  doc: string;
  /** Its value is never printed (keys, secrets). */
  secret: boolean;
  /** Unset is an error. */
  required: boolean;
  /** The table of the docs it belongs to, e.g. `publish`; `main` when not said. */
  group: string;
}

export interface VariableOptions<T> {
  doc: string;
  accepts: string;
  /**
   * Parses a non-blank, trimmed value. Its issues' messages follow the variable's name in the error
   * line: `must be an integer >= 0, got "x"` becomes `PORT must be an integer >= 0, got "x"`.
   */
  value: z.ZodType<T, string>;
  /** What `--help` and the docs show as the default when it is not `String(default)` (a computed one). */
  defaultText?: string;
  secret?: boolean;
  group?: string;
  /** Unset is an error, with this message after the variable's name (`is required: …`). */
  required?: string;
}

const absent = (raw: unknown): unknown => {
  if (typeof raw !== 'string') return undefined;
  const trimmed = raw.trim();
  return trimmed === '' ? undefined : trimmed;
};

/** A variable with a default, or a required one: its value is always set. */
export function variable<T>(options: VariableOptions<T> & { default: NonNullable<T> }): Variable<T>;
export function variable<T>(options: VariableOptions<T> & { required: string }): Variable<T>;
/** A variable without a default: undefined when unset or blank. */
export function variable<T>(options: VariableOptions<T>): Variable<T | undefined>;
export function variable<T>(options: VariableOptions<T> & { default?: T }): Variable<T | undefined> {
  const { default: fallback, value, required } = options;
  const schema = z.preprocess(
    absent,
    value.optional().transform((v, ctx) => {
      if (v !== undefined) return v;
      if (required === undefined) return fallback;
      ctx.addIssue({ code: 'custom', message: required, input: v });
      return z.NEVER;
    }),
  ) as unknown as z.ZodType<T | undefined, string | undefined>;
  return {
    schema,
    description: {
      accepts: options.accepts,
      default: options.defaultText ?? (fallback === undefined ? undefined : String(fallback)),
      doc: options.doc,
      secret: options.secret ?? false,
      required: required !== undefined,
      group: options.group ?? 'main',
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: a table of variables of any value type
export type Variables = Readonly<Record<string, Variable<any>>>;

export type ValuesOf<V extends Variables> = { -readonly [K in keyof V]: z.output<V[K]['schema']> };

/** A bad value: the variable, and the one line that names it (`PORT must be …`). */
export interface ConfigProblem {
  variable: string;
  message: string;
}

/** Configuration that cannot be used: one line per bad variable, each starting with its name. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map((p) => p.message).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }

  /** The first bad variable. */
  get variable(): string {
    return this.problems[0]?.variable ?? '';
  }

  /** One line per problem: `PORT must be …`. */
  get lines(): string[] {
    return this.problems.map((p) => p.message);
  }
}

/**
 * Reads every variable of `variables` from `env`: the values, and every variable that is wrong (its
 * first problem each), never the first alone, so that a deployment fixes them in one go. A variable with
 * a problem is undefined in `values`: checks across variables run on the others, and the caller throws
 * when `problems` is not empty.
 */
export function readVariables<V extends Variables>(
  variables: V,
  env: Env,
): { values: ValuesOf<V>; problems: ConfigProblem[] } {
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [name, v] of Object.entries(variables)) {
    const result = v.schema.safeParse(env[name]);
    if (result.success) values[name] = result.data;
    else
      problems.push({
        variable: name,
        message: `${name} ${result.error.issues[0]?.message ?? 'is invalid'}`,
      });
  }
  return { values: values as ValuesOf<V>, problems };
}

/** The values of `variables`, or a ConfigError naming every bad one. */
export function parseVariables<V extends Variables>(variables: V, env: Env): ValuesOf<V> {
  const { values, problems } = readVariables(variables, env);
  if (problems.length > 0) throw new ConfigError(problems);
  return values;
}

/** The plain-data description of each variable, in the order they are declared. */
export function describeVariables(variables: Variables): VariableDescription[] {
  return Object.entries(variables).map(([name, v]) => ({ name, ...v.description }));
}

/**
 * A value parsed by `parse`, which returns the value or, for a bad one, the message that follows the
 * variable's name (`must be …, got "x"`).
 */
export function parsed<T>(parse: (raw: string) => T | BadValue): z.ZodType<T, string> {
  return z.string().transform((raw, ctx) => {
    const result = parse(raw);
    if (result instanceof BadValue) {
      ctx.addIssue({ code: 'custom', message: result.message, input: raw });
      return z.NEVER;
    }
    return result;
  });
}

/** What `parse` of `parsed` returns for a value it refuses. */
export class BadValue {
  constructor(readonly message: string) {}
}

export function bad(message: string): BadValue {
  return new BadValue(message);
}
