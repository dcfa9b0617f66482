import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type DynamicModule,
  Inject,
  Injectable,
  type InjectionToken,
  Module,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type OnModuleInit,
  type Provider,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import type { WebSocketServer } from 'ws';
import { type Hub, type HubContext, hubRouteOf } from '../hub/hub';
import { HubEndpoint } from '../hub/hub-endpoint';
import type { HubOptions } from '../hub/hub-options';
import type { HubBackplane } from '../hub/lifetime-manager';
import { isWebSocketUpgrade, serveAsHttp } from '../transports/http-upgrade';
import { SignalRServer } from '../transports/signalr-server';
import type { SignalRTransportOptions } from '../transports/transport-options';

export interface SignalRHubDefinition {
  /** The hub's path, e.g. "/chathub"; negotiate lives at `${path}/negotiate`. */
  path: string;
  hub: Type<Hub>;
  options?: Partial<HubOptions>;
}

/**
 * The part of an upgrade router the hubs need when another component owns the HTTP server's
 * `upgrade` event: a WebSocketServer per path, and a synchronous guard run before each upgrade.
 */
export interface UpgradeRouterLike {
  register(path: string, wss: WebSocketServer): void;
  addGuard(
    guard: (
      req: IncomingMessage,
      /** `user`: who the router's own guards authenticated, when they ran before this one. */
      context: { path: string; user?: string },
    ) => { status: number; reason: string } | undefined,
  ): void;
}

/** Settings known only at run time (from other providers). */
export interface SignalRRuntimeOptions {
  transport?: Partial<SignalRTransportOptions>;
  /** Defaults for every hub (a hub's own `options` win). */
  hubOptions?: Partial<HubOptions>;
  /** Joins the hubs of every pod; absent, hubs reach only this process's clients. */
  backplane?: HubBackplane;
  /** Absent: the module listens to the HTTP server's `upgrade` events itself. */
  upgradeRouter?: UpgradeRouterLike;
  /** Called when the server is drained, before the HTTP server closes; the module then closes the hubs' clients. */
  onDrain?: (hook: () => Promise<void>) => void;
  /**
   * Called once the hubs are mapped, with their server: for an upgrade router whose own guards run
   * before the hubs' (e.g. to refuse with `refuseAnonymousUpgrade` an upgrade without a token that
   * names someone's connection, which its authentication would otherwise answer 401).
   */
  onServer?: (server: SignalRServer) => void;
}

export interface SignalRModuleOptions {
  /** Hub classes mapped with `@Hub('/path')`, or `{ path, hub }` for classes without it. */
  hubs: Array<SignalRHubDefinition | Type<Hub>>;
  /** Modules whose providers the hubs (and the factory) inject. */
  imports?: ModuleMetadata['imports'];
  /** More providers for the hubs to inject. */
  providers?: Provider[];
  inject?: InjectionToken[];
  useFactory?: (...deps: never[]) => SignalRRuntimeOptions | Promise<SignalRRuntimeOptions>;
}

export const SIGNALR_RUNTIME_OPTIONS = Symbol('SIGNALR_RUNTIME_OPTIONS');

const hubContextTokens = new WeakMap<Type<Hub>, symbol>();

/** The injection token of a hub's HubContext (`@InjectHubContext(ChatHub)` uses it). */
export function hubContextToken(hub: Type<Hub>): symbol {
  let token = hubContextTokens.get(hub);
  if (!token) {
    token = Symbol(`HubContext<${hub.name}>`);
    hubContextTokens.set(hub, token);
  }
  return token;
}

/** Injects the HubContext of a hub registered with SignalRModule (ASP.NET Core's IHubContext<THub>). */
export function InjectHubContext(hub: Type<Hub>): PropertyDecorator & ParameterDecorator {
  return Inject(hubContextToken(hub));
}

/**
 * The context of a hub for injection: providers are built before the module maps its hubs, so it
 * looks the hub up on first use.
 */
function lazyHubContext(hubs: SignalRHubs, hub: Type<Hub>): HubContext {
  return {
    get clients() {
      return hubs.hubContext(hub).clients;
    },
    get groups() {
      return hubs.hubContext(hub).groups;
    },
  };
}
const SIGNALR_HUB_DEFINITIONS = Symbol('SIGNALR_HUB_DEFINITIONS');

function hubDefinition(entry: SignalRHubDefinition | Type<Hub>): SignalRHubDefinition {
  if (typeof entry !== 'function') return entry;
  const route = hubRouteOf(entry);
  if (!route) {
    throw new TypeError(`SignalRModule: ${entry.name} has no @Hub('/path'); list it as { path, hub }`);
  }
  return { path: route.path, hub: entry, ...(route.options ? { options: route.options } : {}) };
}

/**
 * The hubs of the application: `hubContext(ChatHub)` sends to a hub's clients from any service
 * (the ASP.NET Core IHubContext<THub>).
 */
@Injectable()
export class SignalRHubs implements OnModuleInit, OnApplicationShutdown {
  private readonly endpoints = new Map<Type<Hub>, HubEndpoint>();
  private upgradeListener: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;
  private httpServer: Server | undefined;
  readonly server: SignalRServer;

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(SIGNALR_RUNTIME_OPTIONS) private readonly options: SignalRRuntimeOptions,
    @Inject(SIGNALR_HUB_DEFINITIONS) private readonly definitions: SignalRHubDefinition[],
  ) {
    this.server = new SignalRServer(options.transport);
  }

  hubContext(hub: Type<Hub>): HubContext {
    const endpoint = this.endpoints.get(hub);
    if (!endpoint) throw new Error(`${hub.name} is not a registered hub`);
    return endpoint.context;
  }

  endpoint(hub: Type<Hub>): HubEndpoint | undefined {
    return this.endpoints.get(hub);
  }

  /** Every hub's endpoint, for services that address hubs by name (the server publish API). */
  get hubEndpoints(): HubEndpoint[] {
    return [...this.endpoints.values()];
  }

  onModuleInit(): void {
    for (const definition of this.definitions) {
      const hub = this.moduleRef.get(definition.hub, { strict: true });
      const endpoint = new HubEndpoint(
        definition.path,
        hub,
        { ...this.options.hubOptions, ...definition.options },
        this.options.backplane,
      );
      this.server.addEndpoint(endpoint);
      this.endpoints.set(definition.hub, endpoint);
    }
    this.mountHttp();
    this.mountUpgrades();
    this.options.onDrain?.(() => this.server.close());
    this.options.onServer?.(this.server);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.upgradeListener && this.httpServer) this.httpServer.off('upgrade', this.upgradeListener);
    await this.server.close();
  }

  private mountHttp(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter) throw new Error('SignalRModule needs an HTTP application (NestFactory.create)');
    const instance = adapter.getInstance() as {
      use?: (handler: (req: IncomingMessage, res: ServerResponse, next: () => void) => void) => void;
    };
    if (typeof instance.use !== 'function') {
      throw new Error('SignalRModule supports the Express platform (@nestjs/platform-express)');
    }
    instance.use((req, res, next) => {
      if (!this.server.handleRequest(req, res)) next();
    });
  }

  private mountUpgrades(): void {
    const router = this.options.upgradeRouter;
    if (router) {
      const wss = this.server.webSocketServer;
      wss.on('connection', (ws, req: IncomingMessage) => this.server.acceptWebSocket(ws, req));
      for (const path of this.server.paths) router.register(path, wss);
      router.addGuard((req, context) => this.server.checkUpgrade(req, context.user));
      return;
    }
    const httpServer = this.adapterHost.httpAdapter.getHttpServer() as Server | undefined;
    if (!httpServer) throw new Error('SignalRModule needs the HTTP server to route WebSocket upgrades');
    this.httpServer = httpServer;
    this.upgradeListener = (req, socket, head) => {
      if (isWebSocketUpgrade(req)) {
        this.server.handleUpgrade(req, socket, head);
      } else if (httpServer.listenerCount('upgrade') === 1) {
        // No one else takes upgrades: an h2c offer and the like are ordinary requests.
        serveAsHttp(httpServer, req, socket);
      }
    };
    httpServer.on('upgrade', this.upgradeListener);
  }
}

/**
 * SignalR hubs for a Nest application: a class per hub, mapped to a path.
 *
 * ```ts
 * SignalRModule.forRoot({ hubs: [ChatHub] }) // @Hub('/chathub') class ChatHub extends Hub
 * SignalRModule.forRoot({ hubs: [{ path: '/chathub', hub: ChatHub }] })
 * ```
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with a static factory.
export class SignalRModule {
  static forRoot(options: SignalRModuleOptions): DynamicModule {
    const definitions = options.hubs.map(hubDefinition);
    const hubClasses = definitions.map((definition) => definition.hub);
    return {
      module: SignalRModule,
      imports: options.imports ?? [],
      providers: [
        ...(options.providers ?? []),
        ...hubClasses,
        { provide: SIGNALR_HUB_DEFINITIONS, useValue: definitions },
        {
          provide: SIGNALR_RUNTIME_OPTIONS,
          useFactory: options.useFactory ?? (() => ({})),
          inject: options.inject ?? [],
        },
        SignalRHubs,
        ...hubClasses.map((hub) => ({
          provide: hubContextToken(hub),
          useFactory: (hubs: SignalRHubs) => lazyHubContext(hubs, hub),
          inject: [SignalRHubs],
        })),
      ],
      exports: [SignalRHubs, ...hubClasses.map(hubContextToken)],
    };
  }
}
