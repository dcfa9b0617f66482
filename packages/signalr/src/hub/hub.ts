import type { ConnectionPrincipal, TransportKind } from '../transports/connection';
import {
  type HubParameter,
  type HubParameterDeclaration,
  normalizeParameter,
  valueParameters,
} from './argument-binding';
import type { HubOptions } from './hub-options';

/** Sends an invocation of a client-side method to the clients it stands for. */
export interface ClientProxy {
  /** Resolves once the message is handed to the local transports and the backplane. */
  send(method: string, ...args: unknown[]): Promise<void>;
}

/** One client: besides sending, the server may invoke its method and await the result. */
export interface SingleClientProxy extends ClientProxy {
  /**
   * Invokes a client method and resolves with what it returns (client results); rejects with the
   * client's error, after `clientResultTimeoutMs`, or when the connection ends. A connection on
   * another pod is reached through the backplane.
   */
  invoke<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
}

/** Addresses clients of one hub, on every pod. */
export interface HubClients {
  readonly all: ClientProxy;
  allExcept(excludedConnectionIds: readonly string[]): ClientProxy;
  client(connectionId: string): SingleClientProxy;
  clients(connectionIds: readonly string[]): ClientProxy;
  group(groupName: string): ClientProxy;
  groupExcept(groupName: string, excludedConnectionIds: readonly string[]): ClientProxy;
  groups(groupNames: readonly string[]): ClientProxy;
  user(userId: string): ClientProxy;
  users(userIds: readonly string[]): ClientProxy;
}

/** HubClients plus the ones defined relative to the connection that invoked the method. */
export interface HubCallerClients extends HubClients {
  readonly caller: SingleClientProxy;
  readonly others: ClientProxy;
  othersInGroup(groupName: string): ClientProxy;
}

/** Group membership; groups exist cluster-wide and are empty until someone joins. */
export interface GroupManager {
  add(connectionId: string, groupName: string): Promise<void>;
  remove(connectionId: string, groupName: string): Promise<void>;
}

/** The connection a hub method or lifecycle hook runs for. */
export interface HubCallerContext {
  readonly connectionId: string;
  /** The user as the authentication hook identified it (`Clients.User` addresses it). */
  readonly userIdentifier: string | undefined;
  readonly principal: ConnectionPrincipal;
  /** Per-connection state that lives as long as the connection. */
  readonly items: Map<string, unknown>;
  readonly transport: TransportKind;
  readonly protocol: 'json' | 'messagepack';
  /** Bytes sent to this connection but not yet on the network (slow-consumer checks). */
  bufferedBytes(): number;
  /**
   * Writes bytes already framed for this connection's protocol: lets a hub encode a message once
   * and write it to many connections of the same protocol.
   */
  sendEncoded(data: Uint8Array): void;
  /**
   * Closes the connection; with an error the client receives a Close message carrying it, and
   * `allowReconnect` lets clients with automatic reconnect try again.
   */
  abort(error?: string, allowReconnect?: boolean): void;
}

/** Sends to clients from outside a hub method (a service, a timer, the market feed). */
export interface HubContext {
  readonly clients: HubClients;
  readonly groups: GroupManager;
}

/**
 * An error whose message the client may see: thrown from a hub method, it becomes the error of
 * the invocation's completion. Other errors are reported without details.
 */
export class HubException extends Error {
  override readonly name = 'HubException';
}

/** The members every hub has; hub classes get them by extending `Hub`. */
export interface Hub {
  readonly context: HubCallerContext;
  readonly clients: HubCallerClients;
  readonly groups: GroupManager;
  /** Runs after the handshake, before any invocation of the connection. */
  onConnected(): void | Promise<void>;
  /** Runs once when the connection ends; `error` is set when it ended abnormally. */
  onDisconnected(error?: string): void | Promise<void>;
}

/** Where `@Hub(...)` maps a hub class: its path and, optionally, its own options. */
export interface HubRoute {
  /** The hub's path, e.g. "/chathub"; negotiate lives at `${path}/negotiate`. */
  path: string;
  options?: Partial<HubOptions>;
}

abstract class HubBase implements Hub {
  declare readonly context: HubCallerContext;
  declare readonly clients: HubCallerClients;
  declare readonly groups: GroupManager;

  onConnected(): void | Promise<void> {}

  onDisconnected(_error?: string): void | Promise<void> {}
}

const HUB_ROUTE = Symbol('tickhub.signalr.hubRoute');

function hubDecorator(route: string | HubRoute): ClassDecorator {
  const normalized = typeof route === 'string' ? { path: route } : route;
  if (typeof normalized?.path !== 'string' || !normalized.path.startsWith('/')) {
    throw new TypeError('@Hub() takes the hub\'s path, starting with "/"');
  }
  return (target) => {
    if (!(target.prototype instanceof HubBase)) throw new TypeError(`@Hub(): ${target.name} must extend Hub`);
    Object.defineProperty(target, HUB_ROUTE, { value: normalized, configurable: true });
  };
}

// Called by a subclass's constructor (`new`), it is the base class; called plainly, it is the
// decorator. A function has both behaviours, a class only the first.
function hubOrDecorator(this: unknown, route: string | HubRoute): ClassDecorator | undefined {
  return new.target === undefined ? hubDecorator(route) : undefined;
}
hubOrDecorator.prototype = HubBase.prototype;
Object.defineProperty(hubOrDecorator, 'name', { value: 'Hub' });

/**
 * Base class of hubs, and their class decorator. One instance serves every connection (so it may
 * receive Nest dependencies in its constructor); each invocation runs on a view of it whose
 * `context`, `clients` and `groups` belong to the calling connection. State kept on `this` does not
 * outlive the call: use `context.items` for per-connection state and injected services for shared
 * state.
 *
 * ```ts
 * @Hub('/chathub') // optional: maps the class for SignalRModule.forRoot({ hubs: [ChatHub] })
 * class ChatHub extends Hub { … }
 * ```
 */
export const Hub = hubOrDecorator as unknown as (abstract new () => Hub) &
  ((route: string | HubRoute) => ClassDecorator);

/** The route `@Hub(...)` gave a hub class (its own, not a parent's), if any. */
export function hubRouteOf(hubClass: abstract new (...args: never[]) => Hub): HubRoute | undefined {
  return Object.hasOwn(hubClass, HUB_ROUTE)
    ? ((hubClass as unknown as Record<symbol, HubRoute>)[HUB_ROUTE] as HubRoute)
    : undefined;
}

export interface HubMethodOptions {
  /** The name clients invoke (matched case-insensitively); defaults to the method's name. */
  name?: string;
  /** Fewest arguments accepted; defaults to the method's declared parameter count. */
  minArgs?: number;
  /** Most arguments accepted; defaults to the method's declared parameter count. */
  maxArgs?: number;
  /**
   * The method's signature: arguments are checked against it before the method runs, and a client
   * whose arguments do not bind gets "Error binding arguments…" as from ASP.NET Core. Sets the argument
   * counts (optional parameters are the trailing ones), so minArgs/maxArgs go without it.
   */
  parameters?: readonly HubParameterDeclaration[];
  /**
   * A server-to-client stream: clients call it with `connection.stream(...)` (StreamInvocation) and
   * the method returns an AsyncIterable (e.g. a HubChannel or an async generator) whose items become
   * StreamItem messages; the client's cancel stops it.
   */
  stream?: boolean;
}

export interface HubMethodDefinition {
  name: string;
  propertyKey: string;
  minArgs: number;
  maxArgs: number;
  /** Declared parameters; without them any argument values reach the method. */
  parameters?: readonly HubParameter[];
  /** Upload streams the method takes (`stream` parameters); undefined without declared parameters. */
  uploads?: number;
  stream: boolean;
}

function countsOf(
  options: HubMethodOptions,
  declared: number,
  parameters: readonly HubParameter[] | undefined,
): { minArgs: number; maxArgs: number } {
  if (parameters) {
    if (options.minArgs !== undefined || options.maxArgs !== undefined) {
      throw new TypeError('@HubMethod() takes parameters or minArgs/maxArgs, not both');
    }
    const values = valueParameters(parameters);
    const required = values.filter((p) => !p.optional).length;
    if (values.slice(0, required).some((p) => p.optional)) {
      throw new TypeError('@HubMethod(): only trailing parameters may be optional');
    }
    return { minArgs: required, maxArgs: values.length };
  }
  const maxArgs = options.maxArgs ?? Math.max(declared, options.minArgs ?? 0);
  return { minArgs: options.minArgs ?? Math.min(declared, maxArgs), maxArgs };
}

const HUB_METHODS = Symbol('tickhub.signalr.hubMethods');

type HubMethodHolder = { [HUB_METHODS]?: HubMethodDefinition[] };

/**
 * Marks a hub method as callable by clients. Only marked methods are: helpers on the same class
 * stay private to the server.
 */
export function HubMethod(options: HubMethodOptions = {}): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    if (typeof propertyKey !== 'string' || typeof descriptor.value !== 'function') {
      throw new TypeError('@HubMethod() applies to methods with a string name');
    }
    const declared = (descriptor.value as (...args: unknown[]) => unknown).length;
    const parameters = options.parameters?.map(normalizeParameter);
    const counts = countsOf(options, declared, parameters);
    const holder = target as HubMethodHolder;
    // Each class keeps its own list; subclasses see their parents' through the prototype chain.
    const own = Object.hasOwn(holder, HUB_METHODS) ? holder[HUB_METHODS]! : [];
    own.push({
      name: options.name ?? propertyKey,
      propertyKey,
      ...counts,
      ...(parameters ? { parameters, uploads: parameters.length - valueParameters(parameters).length } : {}),
      stream: options.stream === true,
    });
    Object.defineProperty(holder, HUB_METHODS, { value: own, configurable: true });
  };
}

/** The client-callable methods of a hub class, keyed by lower-cased name. */
export function hubMethodsOf(
  hubClass: abstract new (...args: never[]) => Hub,
): Map<string, HubMethodDefinition> {
  const methods = new Map<string, HubMethodDefinition>();
  let proto: object | null = hubClass.prototype as object;
  while (proto && proto !== HubBase.prototype) {
    const own = Object.hasOwn(proto, HUB_METHODS) ? (proto as HubMethodHolder)[HUB_METHODS]! : [];
    for (const method of own) {
      const key = method.name.toLowerCase();
      // A subclass's definition wins over the one it overrides.
      if (!methods.has(key)) methods.set(key, method);
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return methods;
}
