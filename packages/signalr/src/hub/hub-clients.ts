import type { MessageTarget } from '@tickhub/backplane';
import type { ClientProxy, GroupManager, HubClients, SingleClientProxy } from './hub';
import type { HubLifetimeManager } from './lifetime-manager';

/** Sends through the lifetime manager to every target, skipping `except` connections. */
export function proxy(
  lifetime: HubLifetimeManager,
  targets: readonly MessageTarget[],
  except?: readonly string[],
): ClientProxy {
  return {
    send(method: string, ...args: unknown[]): Promise<void> {
      if (typeof method !== 'string' || method.length === 0) {
        return Promise.reject(new TypeError('method must be a non-empty string'));
      }
      try {
        for (const target of targets) lifetime.send(target, method, args, except);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

/** A proxy for one connection, with client results (on this pod or through the backplane). */
export function singleClient(lifetime: HubLifetimeManager, connectionId: string): SingleClientProxy {
  return {
    ...proxy(lifetime, [{ kind: 'connection', connectionId }]),
    invoke<T>(method: string, ...args: unknown[]): Promise<T> {
      if (typeof method !== 'string' || method.length === 0) {
        return Promise.reject(new TypeError('method must be a non-empty string'));
      }
      return lifetime.invokeClient(connectionId, method, args) as Promise<T>;
    },
  };
}

export function createHubClients(lifetime: HubLifetimeManager): HubClients {
  const all = proxy(lifetime, [{ kind: 'all' }]);
  return {
    all,
    allExcept: (excluded) => proxy(lifetime, [{ kind: 'all' }], excluded),
    client: (connectionId) => singleClient(lifetime, connectionId),
    clients: (ids) =>
      proxy(
        lifetime,
        ids.map((connectionId) => ({ kind: 'connection', connectionId })),
      ),
    group: (group) => proxy(lifetime, [{ kind: 'group', group }]),
    groupExcept: (group, excluded) => proxy(lifetime, [{ kind: 'group', group }], excluded),
    groups: (names) =>
      proxy(
        lifetime,
        names.map((group) => ({ kind: 'group', group })),
      ),
    user: (user) => proxy(lifetime, [{ kind: 'user', user }]),
    users: (users) =>
      proxy(
        lifetime,
        users.map((user) => ({ kind: 'user', user })),
      ),
  };
}

export function createGroupManager(lifetime: HubLifetimeManager): GroupManager {
  const check = (connectionId: unknown, group: unknown): void => {
    if (typeof connectionId !== 'string' || connectionId.length === 0) {
      throw new TypeError('connectionId must be a non-empty string');
    }
    if (typeof group !== 'string' || group.length === 0)
      throw new TypeError('group must be a non-empty string');
  };
  return {
    add: async (connectionId, group) => {
      check(connectionId, group);
      lifetime.addToGroup(connectionId, group);
    },
    remove: async (connectionId, group) => {
      check(connectionId, group);
      lifetime.removeFromGroup(connectionId, group);
    },
  };
}
