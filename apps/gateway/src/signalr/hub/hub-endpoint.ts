import type { MessageTarget } from '@tickhub/backplane';
import type { InboundLimit } from '../../core/inbound-limiter';
import { type HubProtocol, jsonHubProtocol, messagePackHubProtocol } from '../protocol';
import type { SignalRConnection } from '../transports/connection';
import type { SignalREndpoint } from '../transports/signalr-server';
import type { ClientProxy, GroupManager, Hub, HubClients, HubContext, HubMethodDefinition } from './hub';
import { hubMethodsOf } from './hub';
import { HubConnectionContext } from './hub-connection';
import { type HubBackplane, HubLifetimeManager } from './lifetime-manager';

export interface HubOptions {
  /** A Ping goes out when nothing else was sent for this long (not on long polling, which needs none). */
  keepAliveIntervalMs: number;
  /** A client that sends nothing (not even a Ping) for this long is disconnected. */
  clientTimeoutMs: number;
  /** The client must complete the handshake within this long. */
  handshakeTimeoutMs: number;
  /** Largest hub message accepted from a client; larger ones close the connection with an error. */
  maxMessageSize: number;
  /**
   * Invocations of one connection waiting to run before the server stops reading from it
   * (backpressure; it reads again when half of them are done). A client that still piles up
   * far more (many messages in one frame or body) is closed.
   */
  maxPendingInvocations: number;
  /**
   * Invocations per second one connection may make, and when sustained abuse closes it
   * (`InboundLimiter`); undefined = no limit. Beyond the rate an invocation is not run: it completes
   * with a `RATE_LIMITED` error (a non-blocking one is dropped).
   */
  inboundLimit?: InboundLimit;
  /** An invocation refused by the inbound limit ('refused'), or a connection closed for abuse ('closed'). */
  onInboundLimit?: (event: 'refused' | 'closed', connectionId: string) => void;
  protocols: readonly HubProtocol[];
  /** Reports errors of hub code and of delivery (never sent to clients). */
  onError?: (error: unknown, context: string) => void;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  keepAliveIntervalMs: 15_000,
  clientTimeoutMs: 30_000,
  handshakeTimeoutMs: 15_000,
  maxMessageSize: 32 * 1024,
  maxPendingInvocations: 32,
  protocols: [jsonHubProtocol, messagePackHubProtocol],
};

/** One hub mapped to one path: its method table, its connections and its cluster-wide sending. */
export class HubEndpoint<THub extends Hub = Hub> implements SignalREndpoint {
  readonly methods: Map<string, HubMethodDefinition>;
  readonly lifetime: HubLifetimeManager;
  readonly options: HubOptions;
  readonly context: HubContext;

  constructor(
    readonly path: string,
    readonly hub: THub,
    options: Partial<HubOptions> = {},
    backplane?: HubBackplane,
  ) {
    this.options = { ...DEFAULT_HUB_OPTIONS, ...options };
    this.methods = hubMethodsOf(hub.constructor as abstract new (...args: never[]) => Hub);
    this.lifetime = new HubLifetimeManager(`signalr:${path}`, backplane, (error) =>
      this.reportError(error, 'delivery'),
    );
    this.context = { clients: createHubClients(this.lifetime), groups: createGroupManager(this.lifetime) };
  }

  createApplication(connection: SignalRConnection): HubConnectionContext {
    return new HubConnectionContext(this, connection);
  }

  reportError(error: unknown, context: string): void {
    try {
      this.options.onError?.(error, context);
    } catch {
      // A failing error reporter must not take the connection down with it.
    }
  }
}

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

export function createHubClients(lifetime: HubLifetimeManager): HubClients {
  const all = proxy(lifetime, [{ kind: 'all' }]);
  return {
    all,
    allExcept: (excluded) => proxy(lifetime, [{ kind: 'all' }], excluded),
    client: (connectionId) => proxy(lifetime, [{ kind: 'connection', connectionId }]),
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
