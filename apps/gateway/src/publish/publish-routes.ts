import type { PublishTarget } from './hub-message';
import type { MembershipChange } from './hub-publisher';

export const PUBLISH_API_PREFIX = '/api/v1/hubs/';

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
export function routePublish(method: string, segments: readonly string[]): PublishRoute | RouteMiss {
  if (segments.some((segment) => segment.length === 0)) return { miss: 'path' };
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
