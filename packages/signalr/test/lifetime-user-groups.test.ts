import { MemoryBackplane, MemoryBus } from '@tickhub/backplane';
import { type HubConnectionHandle, HubLifetimeManager } from '../src/hub/lifetime-manager';
import { jsonHubProtocol } from '../src/protocol';
import { waitFor } from '../src/testing';

/** A connection that keeps the invocation targets written to it. */
function connection(connectionId: string, userId: string | undefined) {
  const targets: string[] = [];
  const handle: HubConnectionHandle = {
    connectionId,
    userId,
    protocol: jsonHubProtocol,
    groups: new Set(),
    sendBytes: (data) => {
      for (const frame of Buffer.from(data).toString('utf8').split('\u001e').filter(Boolean)) {
        targets.push((JSON.parse(frame) as { target: string }).target);
      }
    },
    invokeClient: () => Promise.reject(new Error('not used here')),
  };
  return { handle, targets };
}

describe('user group membership', () => {
  it('applies to every connection of the user in one process', () => {
    const lifetime = new HubLifetimeManager('signalr:/t');
    const [a, b, other] = [connection('a', 'alice'), connection('b', 'alice'), connection('c', 'bob')];
    for (const c of [a, b, other]) lifetime.add(c.handle);
    lifetime.addUserToGroup('alice', 'desk');
    lifetime.send({ kind: 'group', group: 'desk' }, 'one', []);
    lifetime.removeUserFromGroup('alice', 'desk');
    lifetime.send({ kind: 'group', group: 'desk' }, 'two', []);
    expect([a.targets, b.targets, other.targets]).toEqual([['one'], ['one'], []]);
  });

  it('applies on every pod of the backplane, and a connection at its group limit does not stop the others', async () => {
    const bus = new MemoryBus();
    const errors: unknown[] = [];
    const pods = ['p1', 'p2'].map(
      (podId) =>
        new HubLifetimeManager('signalr:/t', new MemoryBackplane({ podId, bus }), (e) => errors.push(e)),
    );
    const [p1, p2] = pods as [HubLifetimeManager, HubLifetimeManager];
    const full = connection('full', 'alice');
    for (let i = 0; i < 1000; i++) full.handle.groups.add(`g${i}`);
    const [a, b] = [connection('a', 'alice'), connection('b', 'alice')];
    p1.add(a.handle);
    // The full connection comes first in the user's set: its refusal must not skip the next one.
    p2.add(full.handle);
    p2.add(b.handle);
    p1.addUserToGroup('alice', 'desk');
    p1.send({ kind: 'group', group: 'desk' }, 'hello', []);
    await waitFor(() => a.targets.length > 0 && b.targets.length > 0, 5000, 'the group send on both pods');
    expect([a.targets, b.targets, full.targets]).toEqual([['hello'], ['hello'], []]);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('at most 1000 groups');
  });
});
