import type { SignalRConnection } from '../transports/connection';
import type { Hub, HubCallerClients, HubCallerContext, SingleClientProxy } from './hub';
import { createGroupManager, createHubClients, proxy } from './hub-clients';
import type { HubLifetimeManager } from './lifetime-manager';

/** What the calling connection lends to its view of the hub. */
export interface CallerConnection {
  readonly connection: SignalRConnection;
  readonly protocol: 'json' | 'messagepack';
  /** Sends an Invocation of a client method to this connection only. */
  sendInvocation(method: string, args: unknown[]): void;
  sendBytes(data: Uint8Array): void;
  invokeClient(method: string, args: unknown[]): Promise<unknown>;
  closeWithError(error: string, allowReconnect?: boolean): void;
}

/**
 * The hub as one connection sees it: the shared hub instance, with `context`, `clients` and
 * `groups` of that connection (ASP.NET Core sets the same three on a hub per invocation).
 */
export function createCallerView(hub: Hub, lifetime: HubLifetimeManager, caller: CallerConnection): Hub {
  const { connection } = caller;
  const connectionId = connection.connectionId;
  const callerProxy: SingleClientProxy = {
    invoke: <T>(method: string, ...args: unknown[]) => caller.invokeClient(method, args) as Promise<T>,
    send: (method: string, ...args: unknown[]) => {
      if (typeof method !== 'string' || method.length === 0) {
        return Promise.reject(new TypeError('method must be a non-empty string'));
      }
      try {
        caller.sendInvocation(method, args);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
  const clients: HubCallerClients = {
    ...createHubClients(lifetime),
    caller: callerProxy,
    others: proxy(lifetime, [{ kind: 'all' }], [connectionId]),
    othersInGroup: (group) => proxy(lifetime, [{ kind: 'group', group }], [connectionId]),
  };
  const context: HubCallerContext = {
    connectionId,
    userIdentifier: connection.principal.userId,
    principal: connection.principal,
    items: connection.items,
    transport: connection.transport ?? 'WebSockets',
    protocol: caller.protocol,
    bufferedBytes: () => connection.bufferedBytes(),
    sendEncoded: (data: Uint8Array) => caller.sendBytes(data),
    abort: (error?: string, allowReconnect?: boolean) => {
      if (error === undefined) connection.close();
      else caller.closeWithError(error, allowReconnect);
    },
  };
  return Object.create(hub, {
    context: { value: context, enumerable: true },
    clients: { value: clients, enumerable: true },
    groups: { value: createGroupManager(lifetime), enumerable: true },
  }) as Hub;
}
