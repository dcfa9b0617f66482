import type { HubEndpoint } from '@tickhub/signalr';
import type { PublishedInvocation, PublishTarget } from './hub-message';

/**
 * Server publishing in terms of a hub's own client proxies and lifetime manager, so a published
 * message travels exactly as a hub send does: over the backplane to every pod, encoded once per pod.
 */
export function publish(
  endpoint: HubEndpoint,
  to: PublishTarget,
  invocation: PublishedInvocation,
  excluded?: readonly string[],
): Promise<void> {
  const clients = endpoint.context.clients;
  const except = excluded && excluded.length > 0 ? excluded : undefined;
  const proxy =
    to.kind === 'all'
      ? except
        ? clients.allExcept(except)
        : clients.all
      : to.kind === 'user'
        ? clients.user(to.id)
        : to.kind === 'group'
          ? except
            ? clients.groupExcept(to.id, except)
            : clients.group(to.id)
          : clients.client(to.id);
  return proxy.send(invocation.target, ...invocation.arguments);
}

export type MembershipChange = 'add' | 'remove';

/** Adds or removes one connection to or from a group, on whichever pod holds it. */
export function changeConnectionGroup(
  endpoint: HubEndpoint,
  change: MembershipChange,
  connectionId: string,
  group: string,
): Promise<void> {
  const groups = endpoint.context.groups;
  return change === 'add' ? groups.add(connectionId, group) : groups.remove(connectionId, group);
}

/** Adds or removes every current connection of a user, on every pod, to or from a group. */
export function changeUserGroup(
  endpoint: HubEndpoint,
  change: MembershipChange,
  user: string,
  group: string,
): void {
  if (change === 'add') endpoint.lifetime.addUserToGroup(user, group);
  else endpoint.lifetime.removeUserFromGroup(user, group);
}
