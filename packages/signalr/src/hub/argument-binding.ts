/**
 * The declared type of a hub method parameter, checked before the method runs (ASP.NET Core binds
 * arguments to the method's .NET signature the same way). `any` accepts every value.
 */
export type HubArgumentType =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'object'
  | 'array'
  | 'string[]'
  | 'number[]'
  | 'any'
  /** A stream the client uploads (a stream id of the invocation); the method receives a HubChannel. */
  | 'stream';

export interface HubParameter {
  type: HubArgumentType;
  /** May be left out (or be null) by the client; only trailing parameters may be optional. */
  optional?: boolean;
  /** Accepts null, as a .NET reference type does. */
  nullable?: boolean;
}

/** A parameter as written in `@HubMethod({ parameters })`: its type alone means a required one. */
export type HubParameterDeclaration = HubArgumentType | HubParameter;

export function normalizeParameter(declaration: HubParameterDeclaration): HubParameter {
  return typeof declaration === 'string' ? { type: declaration } : declaration;
}

export const BINDING_ERROR =
  'Error binding arguments. Make sure that the types of the provided values match the types of the hub method being invoked.';

function isObject(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

function matches(type: HubArgumentType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string[]':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
    case 'number[]':
      return Array.isArray(value) && value.every((item) => typeof item === 'number' && Number.isFinite(item));
    case 'any':
    case 'stream':
      return true;
  }
}

/**
 * Checks invocation arguments against declared parameters: undefined when they bind, otherwise the
 * reason (the InvalidDataException text of ASP.NET Core).
 */
export function bindArguments(
  parameters: readonly HubParameter[],
  args: readonly unknown[],
): string | undefined {
  for (let i = 0; i < args.length && i < parameters.length; i++) {
    const parameter = parameters[i] as HubParameter;
    const value = args[i];
    if (value === null || value === undefined) {
      if (parameter.optional || parameter.nullable || parameter.type === 'any') continue;
      return BINDING_ERROR;
    }
    if (!matches(parameter.type, value)) return BINDING_ERROR;
  }
  return undefined;
}

/** The parameters filled from the invocation's arguments (every one but the upload streams). */
export function valueParameters(parameters: readonly HubParameter[]): HubParameter[] {
  return parameters.filter((p) => p.type !== 'stream');
}

/**
 * The arguments a method is called with: the invocation's values and its upload streams, each in the
 * place its declared parameter has (without declared parameters, streams follow the values).
 */
export function placeArguments(
  parameters: readonly HubParameter[] | undefined,
  args: readonly unknown[],
  streams: readonly unknown[],
): unknown[] {
  if (!parameters) return [...args, ...streams];
  const out: unknown[] = [];
  let a = 0;
  let s = 0;
  for (const parameter of parameters) {
    if (parameter.type === 'stream') out.push(streams[s++]);
    else out.push(args[a++]);
  }
  return out;
}
