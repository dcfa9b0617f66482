import type { Backplane, ClusterMessage, MessageTarget } from '@tickhub/backplane';
import { Packr, Unpackr } from 'msgpackr';
import { type HubProtocol, type InvocationMessage, MessageType } from '../protocol';
import { DEFAULT_HUB_OPTIONS } from './hub-options';

/** The part of the backplane hubs use: cluster messages addressed to all, a group, a user or a connection. */
export type HubBackplane = Pick<Backplane, 'podId' | 'sendMessage' | 'onMessage'>;

/** A connection as the lifetime manager sees it. */
export interface HubConnectionHandle {
  readonly connectionId: string;
  readonly userId: string | undefined;
  readonly protocol: HubProtocol;
  /** Group names this connection belongs to (kept by the manager). */
  readonly groups: Set<string>;
  sendBytes(data: Uint8Array): void;
  /** Invokes a method of this client and awaits its result (client results). */
  invokeClient(method: string, args: unknown[]): Promise<unknown>;
}

// Cluster payloads: [kind, ...]. MessagePack keeps binary arguments intact between pods.
const KIND_INVOCATION = 0;
const KIND_GROUP_ADD = 1;
const KIND_GROUP_REMOVE = 2;
/** [kind, request id, method, args]: invoke a client of that pod and send back its result. */
const KIND_CLIENT_INVOKE = 3;
/** [kind, request id, error or nil, result]: the answer, for the pod that asked. */
const KIND_CLIENT_RESULT = 4;

/** Client results awaited through the backplane at once, per hub and pod. */
const MAX_REMOTE_CLIENT_RESULTS = 10_000;

/** Groups one connection may belong to; membership is per-connection state and must be bounded. */
export const MAX_GROUPS_PER_CONNECTION = 1000;

const packr = new Packr({ useRecords: false, moreTypes: false, encodeUndefinedAsNil: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/**
 * Knows the hub's connections on this pod, their groups and users, and delivers invocations to
 * them. With a backplane every send to more than one known local connection travels through it, so
 * each pod delivers to its own connections; without one (a single process) delivery is local.
 */
export class HubLifetimeManager {
  private readonly connections = new Map<string, HubConnectionHandle>();
  private readonly groupMembers = new Map<string, Set<string>>();
  private readonly userConnections = new Map<string, Set<string>>();
  /** Client results asked of connections on other pods, by request id. */
  private readonly remoteResults = new Map<
    string,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  private nextRequest = 0;

  constructor(
    /** Backplane topic of this hub. */
    readonly topic: string,
    private readonly backplane?: HubBackplane,
    private readonly onError: (error: unknown) => void = () => {},
    /** How long a client result asked of a connection on another pod may take. */
    private readonly clientResultTimeoutMs = DEFAULT_HUB_OPTIONS.clientResultTimeoutMs,
  ) {
    backplane?.onMessage(topic, (message) => {
      try {
        this.onClusterMessage(message);
      } catch (error) {
        this.onError(error);
      }
    });
  }

  get size(): number {
    return this.connections.size;
  }

  get(connectionId: string): HubConnectionHandle | undefined {
    return this.connections.get(connectionId);
  }

  add(connection: HubConnectionHandle): void {
    this.connections.set(connection.connectionId, connection);
    if (connection.userId !== undefined)
      addTo(this.userConnections, connection.userId, connection.connectionId);
  }

  remove(connection: HubConnectionHandle): void {
    if (this.connections.get(connection.connectionId) !== connection) return;
    this.connections.delete(connection.connectionId);
    if (connection.userId !== undefined) {
      removeFrom(this.userConnections, connection.userId, connection.connectionId);
    }
    for (const group of connection.groups) removeFrom(this.groupMembers, group, connection.connectionId);
    connection.groups.clear();
  }

  // ---------------------------------------------------------------- sending

  send(target: MessageTarget, method: string, args: unknown[], except?: readonly string[]): void {
    if (target.kind === 'connection') {
      const local = this.connections.get(target.connectionId);
      if (local) {
        if (!except?.includes(local.connectionId))
          local.sendBytes(local.protocol.write(invocation(method, args)));
        return;
      }
    }
    if (!this.backplane) {
      this.deliver(target, method, args, except);
      return;
    }
    const payload = packr.pack([KIND_INVOCATION, method, args]);
    this.backplane.sendMessage({
      topic: this.topic,
      target,
      payload,
      ...(except && except.length > 0 ? { except: [...except] } : {}),
    });
  }

  // ---------------------------------------------------------------- client results

  /**
   * Invokes a method of one client and awaits its result: directly on this pod, otherwise through
   * the backplane to the pod that holds the connection (which answers on the same topic).
   */
  invokeClient(connectionId: string, method: string, args: unknown[]): Promise<unknown> {
    const local = this.connections.get(connectionId);
    if (local) return local.invokeClient(method, args);
    const backplane = this.backplane;
    if (!backplane) return Promise.reject(new Error(`Connection '${connectionId}' does not exist.`));
    if (this.remoteResults.size >= MAX_REMOTE_CLIENT_RESULTS) {
      return Promise.reject(new Error('Too many client results are awaited through the backplane.'));
    }
    const requestId = `${backplane.podId}:${++this.nextRequest}`;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.remoteResults.delete(requestId);
        // Also what a connection that exists on no pod ends in: nobody answers.
        reject(
          new Error(
            `No result from connection '${connectionId}' for '${method}' within ${this.clientResultTimeoutMs} ms.`,
          ),
        );
      }, this.clientResultTimeoutMs);
      timer.unref();
      this.remoteResults.set(requestId, { resolve, reject, timer });
      try {
        backplane.sendMessage({
          topic: this.topic,
          target: { kind: 'connection', connectionId },
          payload: packr.pack([KIND_CLIENT_INVOKE, requestId, method, args]),
        });
      } catch (error) {
        clearTimeout(timer);
        this.remoteResults.delete(requestId);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Runs a client result asked by another pod and sends the answer back to every pod of the hub. */
  private answerRemote(connectionId: string, requestId: string, method: string, args: unknown[]): void {
    const local = this.connections.get(connectionId);
    if (!local || !this.backplane) return;
    const reply = (error: string | null, result: unknown) => {
      try {
        this.backplane?.sendMessage({
          topic: this.topic,
          target: { kind: 'all' },
          payload: packr.pack([KIND_CLIENT_RESULT, requestId, error, result]),
        });
      } catch (e) {
        this.onError(e);
      }
    };
    local.invokeClient(method, args).then(
      (result) => reply(null, result),
      (error: unknown) => reply(error instanceof Error ? error.message : String(error), null),
    );
  }

  private settleRemote(requestId: string, error: unknown, result: unknown): void {
    const entry = this.remoteResults.get(requestId);
    if (!entry) return;
    this.remoteResults.delete(requestId);
    clearTimeout(entry.timer);
    if (typeof error === 'string') entry.reject(new Error(error));
    else entry.resolve(result);
  }

  // ---------------------------------------------------------------- groups

  addToGroup(connectionId: string, group: string): void {
    const local = this.connections.get(connectionId);
    if (local) {
      this.joinLocal(local, group);
      return;
    }
    // The connection lives on another pod (or nowhere): its pod applies the change.
    this.backplane?.sendMessage({
      topic: this.topic,
      target: { kind: 'connection', connectionId },
      payload: packr.pack([KIND_GROUP_ADD, group]),
    });
  }

  removeFromGroup(connectionId: string, group: string): void {
    const local = this.connections.get(connectionId);
    if (local) {
      this.leaveLocal(local, group);
      return;
    }
    this.backplane?.sendMessage({
      topic: this.topic,
      target: { kind: 'connection', connectionId },
      payload: packr.pack([KIND_GROUP_REMOVE, group]),
    });
  }

  /** Adds every current connection of a user, on every pod, to a group (the publish API's user groups). */
  addUserToGroup(user: string, group: string): void {
    this.changeUserGroup(user, group, KIND_GROUP_ADD);
  }

  removeUserFromGroup(user: string, group: string): void {
    this.changeUserGroup(user, group, KIND_GROUP_REMOVE);
  }

  private changeUserGroup(
    user: string,
    group: string,
    kind: typeof KIND_GROUP_ADD | typeof KIND_GROUP_REMOVE,
  ) {
    const target: MessageTarget = { kind: 'user', user };
    if (this.backplane) {
      this.backplane.sendMessage({ topic: this.topic, target, payload: packr.pack([kind, group]) });
      return;
    }
    this.applyGroupChange(target, kind, group);
  }

  private applyGroupChange(target: MessageTarget, kind: number, group: string): void {
    for (const local of this.localRecipients(target)) {
      try {
        if (kind === KIND_GROUP_ADD) this.joinLocal(local, group);
        else this.leaveLocal(local, group);
      } catch (error) {
        // A refused join (group limit) of one connection must not skip the user's others.
        this.onError(error);
      }
    }
  }

  private joinLocal(connection: HubConnectionHandle, group: string): void {
    if (!connection.groups.has(group) && connection.groups.size >= MAX_GROUPS_PER_CONNECTION) {
      throw new RangeError(`a connection belongs to at most ${MAX_GROUPS_PER_CONNECTION} groups`);
    }
    connection.groups.add(group);
    addTo(this.groupMembers, group, connection.connectionId);
  }

  private leaveLocal(connection: HubConnectionHandle, group: string): void {
    connection.groups.delete(group);
    removeFrom(this.groupMembers, group, connection.connectionId);
  }

  // ---------------------------------------------------------------- delivery on this pod

  private onClusterMessage(message: ClusterMessage): void {
    let decoded: unknown;
    try {
      decoded = unpackr.unpack(message.payload);
    } catch {
      this.onError(new Error(`undecodable hub message on ${this.topic}`));
      return;
    }
    if (!Array.isArray(decoded)) return;
    const [kind, a, b, c] = decoded as unknown[];
    if (kind === KIND_INVOCATION && typeof a === 'string' && Array.isArray(b)) {
      this.deliver(message.target, a, b, message.except);
      return;
    }
    if (kind === KIND_CLIENT_INVOKE && typeof a === 'string' && typeof b === 'string' && Array.isArray(c)) {
      if (message.target.kind === 'connection') this.answerRemote(message.target.connectionId, a, b, c);
      return;
    }
    if (kind === KIND_CLIENT_RESULT && typeof a === 'string') {
      this.settleRemote(a, b, c);
      return;
    }
    if ((kind === KIND_GROUP_ADD || kind === KIND_GROUP_REMOVE) && typeof a === 'string') {
      if (message.target.kind !== 'connection' && message.target.kind !== 'user') return;
      // A refused remote join (group limit) ends in the error handler: no one is waiting for it.
      this.applyGroupChange(message.target, kind, a);
    }
  }

  /** Writes the invocation to the matching local connections, encoding it once per protocol. */
  private deliver(target: MessageTarget, method: string, args: unknown[], except?: readonly string[]): void {
    const recipients = this.localRecipients(target);
    if (recipients.length === 0) return;
    const message = invocation(method, args);
    const encoded = new Map<HubProtocol, Uint8Array>();
    for (const connection of recipients) {
      if (except?.includes(connection.connectionId)) continue;
      let bytes = encoded.get(connection.protocol);
      if (!bytes) {
        try {
          bytes = connection.protocol.write(message);
        } catch (error) {
          this.onError(error);
          return;
        }
        encoded.set(connection.protocol, bytes);
      }
      connection.sendBytes(bytes);
    }
  }

  private localRecipients(target: MessageTarget): HubConnectionHandle[] {
    switch (target.kind) {
      case 'all':
        return [...this.connections.values()];
      case 'connection': {
        const connection = this.connections.get(target.connectionId);
        return connection ? [connection] : [];
      }
      case 'group':
        return this.lookup(this.groupMembers.get(target.group));
      case 'user':
        return this.lookup(this.userConnections.get(target.user));
    }
  }

  private lookup(ids: Set<string> | undefined): HubConnectionHandle[] {
    if (!ids) return [];
    const out: HubConnectionHandle[] = [];
    for (const id of ids) {
      const connection = this.connections.get(id);
      if (connection) out.push(connection);
    }
    return out;
  }
}

function invocation(target: string, args: unknown[]): InvocationMessage {
  return { type: MessageType.Invocation, target, arguments: args };
}

function addTo(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key);
  if (set) set.add(id);
  else map.set(key, new Set([id]));
}

function removeFrom(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) map.delete(key);
}
