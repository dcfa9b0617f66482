import { bindArguments, placeArguments } from './argument-binding';
import { type Hub, HubException, type HubMethodDefinition } from './hub';

// ASP.NET Core's texts (DefaultHubDispatcher), so that clients written against it read the same errors.

export function methodMissing(target: string): string {
  return `Failed to invoke '${target}' due to an error on the server. HubException: Method does not exist.`;
}

export function bindingFailed(target: string, reason: string): string {
  return `Failed to invoke '${target}' due to an error on the server. InvalidDataException: ${reason}`;
}

/** The error a client sees when the hub method threw: only a HubException's message is shown. */
export function invocationFailed(target: string, error: unknown): string {
  return error instanceof HubException
    ? `An unexpected error occurred invoking '${target}' on the server. HubException: ${error.message}`
    : `An unexpected error occurred invoking '${target}' on the server.`;
}

/** A call ready to run: the method, its function on the connection's view, and its arguments. */
export interface BoundCall {
  method: HubMethodDefinition;
  fn: (...args: unknown[]) => unknown;
  args: unknown[];
}

/**
 * Binds an invocation to a hub method before anything runs (ASP.NET Core's HubMethodDescriptor and
 * binder): the method exists and is exposed, the invocation kind matches (stream or not), the
 * argument count, the upload streams and the declared types. The error text for the client, or
 * the call.
 */
export function bindCall(
  methods: ReadonlyMap<string, HubMethodDefinition>,
  view: Hub,
  invocation: { target: string; arguments: unknown[]; streaming: boolean },
  uploads: readonly unknown[],
): BoundCall | { error: string } {
  const { target, streaming } = invocation;
  const method = methods.get(target.toLowerCase());
  const fn = method ? (view as unknown as Record<string, unknown>)[method.propertyKey] : undefined;
  if (!method || typeof fn !== 'function') return { error: methodMissing(target) };
  if (method.stream !== streaming) {
    return {
      error: streaming
        ? `The client attempted to invoke the non-streaming '${target}' method with a streaming invocation.`
        : `The client attempted to invoke the streaming '${target}' method with a non-streaming invocation.`,
    };
  }
  const count = invocation.arguments.length;
  if (count < method.minArgs || count > method.maxArgs) {
    const expected =
      method.minArgs === method.maxArgs ? `${method.maxArgs}` : `${method.minArgs} to ${method.maxArgs}`;
    return {
      error: bindingFailed(
        target,
        `Invocation provides ${count} argument(s) but target expects ${expected}.`,
      ),
    };
  }
  if (method.uploads !== undefined && uploads.length !== method.uploads) {
    return {
      error: bindingFailed(
        target,
        `Client sent ${uploads.length} stream(s), Hub method expects ${method.uploads}.`,
      ),
    };
  }
  const unbound = method.parameters ? bindArguments(method.parameters, invocation.arguments) : undefined;
  if (unbound !== undefined) return { error: bindingFailed(target, unbound) };
  return {
    method,
    fn: fn as (...args: unknown[]) => unknown,
    args: placeArguments(method.parameters, invocation.arguments, uploads),
  };
}
