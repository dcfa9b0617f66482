import type { PublishTarget } from './hub-message';
import type { MembershipChange } from './hub-publisher';

/**
 * The two spellings of the data-plane API: v1 (`/api/v1/hubs/{hub}/users/{user}`) and the current
 * one that today's Management SDK calls (`/api/hubs/{hub}/users/{user}/:send?api-version=…`).
 */
export type ApiDialect = 'v1' | 'current';

export const PUBLISH_API_PREFIXES: ReadonlyArray<readonly [string, ApiDialect]> = [
  ['/api/v1/hubs/', 'v1'],
  ['/api/hubs/', 'current'],
];

/** Health paths that the SDKs probe (always 200 while the API is served). */
export const PUBLISH_HEALTH_PATHS: ReadonlySet<string> = new Set(['/api/health', '/api/v1/health']);

/** What one request of the publish API asks for, read from its method and path. */
export type PublishRoute =
  | { op: 'send'; hub: string; to: PublishTarget }
  | { op: 'connection-group'; hub: string; change: MembershipChange; group: string; connectionId: string }
  | { op: 'user-group'; hub: string; change: MembershipChange; group: string; user: string }
  | { op: 'connection-exists'; hub: string; connectionId: string };

/** A path of the API with a method it does not serve (405), or a path it does not know (404). */
export type RouteMiss = { miss: 'method'; allow: string } | { miss: 'path' };

const change = (method: string): MembershipChange | undefined =>
  method === 'PUT' ? 'add' : method === 'DELETE' ? 'remove' : undefined;

/**
 * Routes `/api/v1/hubs/{hub}[/…]` (Azure SignalR Service data-plane REST v1). `segments` are the
 * decoded path segments after the prefix.
 */
export function routePublish(
  method: string,
  segments: readonly string[],
  dialect: ApiDialect = 'v1',
): PublishRoute | RouteMiss {
  if (segments.some((segment) => segment.length === 0)) return { miss: 'path' };
  if (dialect === 'current') return routeCurrent(method, segments);
  const [hub, kind, id, subKind, subId] = segments as [string, ...(string | undefined)[]];
  if (segments.length === 1) {
    return method === 'POST' ? { op: 'send', hub, to: { kind: 'all' } } : { miss: 'method', allow: 'POST' };
  }
  if (segments.length === 3 && id !== undefined) {
    if (kind === 'users' || kind === 'groups') {
      if (method !== 'POST') return { miss: 'method', allow: 'POST' };
      return { op: 'send', hub, to: { kind: kind === 'users' ? 'user' : 'group', id } };
    }
    if (kind === 'connections') {
      if (method === 'POST') return { op: 'send', hub, to: { kind: 'connection', id } };
      if (method === 'GET' || method === 'HEAD') return { op: 'connection-exists', hub, connectionId: id };
      return { miss: 'method', allow: 'GET, HEAD, POST' };
    }
  }
  if (segments.length === 5 && kind === 'groups' && id !== undefined && subId !== undefined) {
    if (subKind !== 'connections' && subKind !== 'users') return { miss: 'path' };
    const membership = change(method);
    if (!membership) return { miss: 'method', allow: 'PUT, DELETE' };
    return subKind === 'connections'
      ? { op: 'connection-group', hub, change: membership, group: id, connectionId: subId }
      : { op: 'user-group', hub, change: membership, group: id, user: subId };
  }
  return { miss: 'path' };
}

const SEND_KINDS: Record<string, 'user' | 'group' | 'connection'> = {
  users: 'user',
  groups: 'group',
  connections: 'connection',
};

/** Routes `/api/hubs/{hub}/…` as the current API spells it: sends end in `/:send`. */
function routeCurrent(method: string, segments: readonly string[]): PublishRoute | RouteMiss {
  const [hub, kind, id, subKind, subId] = segments as [string, ...(string | undefined)[]];
  if (segments[segments.length - 1] === ':send') {
    if (segments.length !== 2 && segments.length !== 4) return { miss: 'path' };
    const sendKind = kind === ':send' ? undefined : SEND_KINDS[kind ?? ''];
    if (segments.length === 4 && (!sendKind || id === undefined)) return { miss: 'path' };
    if (method !== 'POST') return { miss: 'method', allow: 'POST' };
    return { op: 'send', hub, to: sendKind && id !== undefined ? { kind: sendKind, id } : { kind: 'all' } };
  }
  if (segments.length === 3 && kind === 'connections' && id !== undefined) {
    if (method === 'GET' || method === 'HEAD') return { op: 'connection-exists', hub, connectionId: id };
    return { miss: 'method', allow: 'GET, HEAD' };
  }
  if (segments.length === 5 && id !== undefined && subId !== undefined) {
    const membership = change(method);
    const isConnectionGroup = kind === 'groups' && subKind === 'connections';
    const isUserGroup = kind === 'users' && subKind === 'groups';
    if (!isConnectionGroup && !isUserGroup) return { miss: 'path' };
    if (!membership) return { miss: 'method', allow: 'PUT, DELETE' };
    return isConnectionGroup
      ? { op: 'connection-group', hub, change: membership, group: id, connectionId: subId }
      : { op: 'user-group', hub, change: membership, group: subId, user: id };
  }
  return { miss: 'path' };
}
