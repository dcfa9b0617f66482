/** Who a server-published message is for; `id` names the user (JWT `sub`), group or connection. */
export type PublishTarget =
  | { kind: 'all' }
  | { kind: 'user'; id: string }
  | { kind: 'group'; id: string }
  | { kind: 'connection'; id: string };

/** A hub invocation from a backend: `target` is the client method, `arguments` its arguments. */
export interface PublishedInvocation {
  target: string;
  arguments: unknown[];
}

/** One message of the Kafka ingress (the REST API carries the same fields in its URL and body). */
export interface HubMessage extends PublishedInvocation {
  hub: string;
  to: PublishTarget;
  /** Connection ids that must not receive it (sends to all or to a group). */
  excluded?: string[];
}

/** A refused message; `message` says which field is wrong. */
export class HubMessageError extends Error {}

const KINDS = new Set(['all', 'user', 'group', 'connection']);
/** Identifiers travel in URLs and backplane envelopes; Azure SignalR Service caps them alike. */
const MAX_ID_LENGTH = 1024;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new HubMessageError(`${field} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return value;
}

/** An invocation's fields, `{"target": "…", "arguments": […]}`. */
export function parseInvocation(value: unknown): PublishedInvocation {
  if (!isObject(value)) throw new HubMessageError('the body must be a JSON object');
  const target = nonEmpty(value.target, 'target');
  if (!Array.isArray(value.arguments)) throw new HubMessageError('arguments must be an array');
  return { target, arguments: value.arguments };
}

/**
 * The body of a REST send. Its field names are matched without regard to case, as Azure SignalR
 * Service binds them: the Management SDK writes `{"Target": "…", "Arguments": […]}`. A name spelt
 * exactly in lower case wins over other spellings.
 */
export function parseSendBody(value: unknown): PublishedInvocation {
  if (!isObject(value)) throw new HubMessageError('the body must be a JSON object');
  const field = (name: string): unknown =>
    Object.hasOwn(value, name)
      ? value[name]
      : Object.entries(value).find(([key]) => key.toLowerCase() === name)?.[1];
  return parseInvocation({ target: field('target'), arguments: field('arguments') });
}

/** `excluded`: connection ids, absent or an array of non-empty strings. */
export function parseExcluded(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new HubMessageError('excluded must be an array of connection ids');
  return value.map((id) => nonEmpty(id, 'excluded[]'));
}

/** A record value of the Kafka ingress. */
export function parseHubMessage(value: unknown): HubMessage {
  if (!isObject(value)) throw new HubMessageError('the message must be a JSON object');
  const hub = nonEmpty(value.hub, 'hub');
  const to = value.to;
  if (!isObject(to) || typeof to.kind !== 'string' || !KINDS.has(to.kind)) {
    throw new HubMessageError('to.kind must be one of all, user, group, connection');
  }
  const target: PublishTarget =
    to.kind === 'all'
      ? { kind: 'all' }
      : { kind: to.kind as 'user' | 'group' | 'connection', id: nonEmpty(to.id, 'to.id') };
  const excluded = parseExcluded(value.excluded);
  return { hub, to: target, ...parseInvocation(value), ...(excluded ? { excluded } : {}) };
}
