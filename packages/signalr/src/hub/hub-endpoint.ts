import type { SignalRConnection } from '../transports/connection';
import type { SignalREndpoint } from '../transports/transport-options';
import type { Hub, HubContext, HubMethodDefinition } from './hub';
import { hubMethodsOf } from './hub';
import { createGroupManager, createHubClients } from './hub-clients';
import { HubConnectionContext } from './hub-connection';
import { DEFAULT_HUB_OPTIONS, type HubOptions } from './hub-options';
import { type HubBackplane, HubLifetimeManager } from './lifetime-manager';

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
    this.lifetime = new HubLifetimeManager(
      `signalr:${path}`,
      backplane,
      (error) => this.reportError(error, 'delivery'),
      this.options.clientResultTimeoutMs,
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
