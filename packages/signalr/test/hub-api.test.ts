import { MemoryBackplane, MemoryBus } from '@tickhub/backplane';
import { Hub, HubMethod, hubMethodsOf, hubRouteOf } from '../src/hub/hub';
import {
  type HubConnectionHandle,
  HubLifetimeManager,
  MAX_GROUPS_PER_CONNECTION,
} from '../src/hub/lifetime-manager';
import { type HubProtocol, jsonHubProtocol, messagePackHubProtocol } from '../src/protocol';
import { waitFor } from '../src/testing';

class BaseHub extends Hub {
  @HubMethod({ name: 'Ping' })
  ping(): string {
    return 'base';
  }

  @HubMethod()
  greet(name: string): string {
    return `hi ${name}`;
  }
}

class DerivedHub extends BaseHub {
  @HubMethod({ name: 'Ping' })
  override ping(): string {
    return 'derived';
  }

  @HubMethod({ minArgs: 1 })
  optional(_a: string, _b?: string): void {}

  @HubMethod({ parameters: ['string', { type: 'number', optional: true }] })
  typed(_a: string, _b?: number): void {}

  notExposed(): void {}
}

/** A connection that keeps what it is sent: the recipient side of the lifetime manager. */
class RecordingConnection implements HubConnectionHandle {
  readonly groups = new Set<string>();
  readonly received: Uint8Array[] = [];
  constructor(
    readonly connectionId: string,
    readonly protocol: HubProtocol,
    readonly userId: string | undefined = undefined,
  ) {}
  sendBytes(data: Uint8Array): void {
    this.received.push(data);
  }
  invokeClient(): Promise<unknown> {
    return Promise.reject(new Error('not used by these tests'));
  }
}

describe('hub method table', () => {
  it('exposes only @HubMethod methods, by case-insensitive name, subclasses overriding parents', () => {
    const methods = hubMethodsOf(DerivedHub);
    expect([...methods.keys()].sort()).toEqual(['greet', 'optional', 'ping', 'typed']);
    expect(methods.get('typed')).toMatchObject({
      minArgs: 1,
      maxArgs: 2,
      parameters: [{ type: 'string' }, { type: 'number', optional: true }],
    });
    expect(methods.get('ping')).toMatchObject({ name: 'Ping', minArgs: 0, maxArgs: 0 });
    expect(methods.get('greet')).toMatchObject({ name: 'greet', minArgs: 1, maxArgs: 1 });
    expect(methods.get('optional')).toMatchObject({ minArgs: 1, maxArgs: 2 });
    expect(methods.has('notexposed')).toBe(false);
    expect(hubMethodsOf(BaseHub).has('optional')).toBe(false);
  });
});

describe('Hub as a class decorator', () => {
  @Hub({ path: '/rooms', options: { maxStreams: 4 } })
  class RoomsHub extends BaseHub {}

  @Hub('/lobby')
  class LobbyHub extends RoomsHub {}

  it('maps a hub class to its path, without changing what the class is', () => {
    expect(hubRouteOf(RoomsHub)).toEqual({ path: '/rooms', options: { maxStreams: 4 } });
    expect(hubRouteOf(LobbyHub)).toEqual({ path: '/lobby' });
    // A subclass does not inherit its parent's path.
    expect(hubRouteOf(DerivedHub)).toBeUndefined();
    const hub = new LobbyHub();
    expect(hub).toBeInstanceOf(Hub);
    expect(hub.ping()).toBe('base');
    expect(hubMethodsOf(LobbyHub).has('greet')).toBe(true);
  });

  it('refuses a path without a leading slash and a class that is not a hub', () => {
    expect(() => Hub('rooms')).toThrow('@Hub() takes the hub\'s path, starting with "/"');
    class NotAHub {}
    expect(() => Hub('/x')(NotAHub)).toThrow('@Hub(): NotAHub must extend Hub');
  });
});

describe('HubLifetimeManager', () => {
  it('encodes an invocation once per protocol and writes the same bytes to every connection', () => {
    const manager = new HubLifetimeManager('t');
    const json = [
      new RecordingConnection('a', jsonHubProtocol),
      new RecordingConnection('b', jsonHubProtocol),
    ];
    const msgpack = [
      new RecordingConnection('c', messagePackHubProtocol),
      new RecordingConnection('d', messagePackHubProtocol),
    ];
    for (const c of [...json, ...msgpack]) manager.add(c);
    manager.send({ kind: 'all' }, 'Tick', [1], ['b']);
    expect(json[0]!.received).toHaveLength(1);
    expect(json[1]!.received).toHaveLength(0);
    expect(msgpack[0]!.received[0]).toBe(msgpack[1]!.received[0]);
    expect(Buffer.from(json[0]!.received[0]!).toString()).toBe(
      '{"type":1,"target":"Tick","arguments":[1]}\u001e',
    );
  });

  it('forgets groups and users of a removed connection', () => {
    const manager = new HubLifetimeManager('t');
    const c = new RecordingConnection('a', jsonHubProtocol, 'u');
    manager.add(c);
    manager.addToGroup('a', 'g');
    manager.remove(c);
    const d = new RecordingConnection('a', jsonHubProtocol);
    manager.add(d);
    manager.send({ kind: 'group', group: 'g' }, 'X', []);
    manager.send({ kind: 'user', user: 'u' }, 'X', []);
    expect(d.received).toHaveLength(0);
  });

  it('bounds the groups of one connection', () => {
    const manager = new HubLifetimeManager('t');
    manager.add(new RecordingConnection('a', jsonHubProtocol));
    for (let i = 0; i < MAX_GROUPS_PER_CONNECTION; i++) manager.addToGroup('a', `g${i}`);
    manager.addToGroup('a', 'g0'); // already a member: fine
    expect(() => manager.addToGroup('a', 'one-too-many')).toThrow(RangeError);
  });

  it('with a backplane, delivers on every pod and applies group changes on the pod of the connection', async () => {
    const bus = new MemoryBus();
    const [bpA, bpB] = [new MemoryBackplane({ bus }), new MemoryBackplane({ bus })];
    await Promise.all([bpA.connect(), bpB.connect()]);
    const podA = new HubLifetimeManager('hub', bpA);
    const podB = new HubLifetimeManager('hub', bpB);
    const onB = new RecordingConnection('b1', messagePackHubProtocol);
    podB.add(onB);
    podA.addToGroup('b1', 'g');
    await waitFor(() => onB.groups.has('g'), 5000, 'the remote join');
    podA.send({ kind: 'group', group: 'g' }, 'Hello', ['x']);
    podA.send({ kind: 'connection', connectionId: 'b1' }, 'Direct', []);
    await waitFor(() => onB.received.length === 2, 5000, 'both messages');
    podA.removeFromGroup('b1', 'g');
    await waitFor(() => !onB.groups.has('g'), 5000, 'the remote leave');
    await Promise.all([bpA.close(), bpB.close()]);
  });
});
