import type { IncomingMessage } from 'node:http';
import * as signalR from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { ChatHub } from '../example/chat.hub';
import type { HubBackplane } from '../src';
import {
  COMBINATIONS,
  type HubHost,
  type ProtocolName,
  startHubHost,
  TRANSPORT_TYPES,
  type TransportName,
  waitFor,
} from '../src/testing';
import { TestHub } from './test-hubs';

export interface Pods {
  backplanes: HubBackplane[];
  close(): Promise<void>;
}

/** Test users name themselves in a header; a real deployment authenticates with a token. */
const userFromHeader = (req: IncomingMessage) => {
  const user = req.headers['x-test-user'];
  return typeof user === 'string' ? { userId: user } : {};
};

function client(
  url: string,
  transport: TransportName,
  protocol: ProtocolName,
  user?: string,
): signalR.HubConnection {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url, { transport: TRANSPORT_TYPES[transport], headers: user ? { 'x-test-user': user } : {} })
    .configureLogging(signalR.LogLevel.None);
  if (protocol === 'messagepack') builder = builder.withHubProtocol(new MessagePackHubProtocol());
  return builder.build();
}

/**
 * Two gateway pods (two HTTP servers, each with its own hubs) joined only by the backplane: what a
 * client does on one pod reaches clients on the other.
 */
export function clusterSuite(name: string, createPods: () => Promise<Pods>): void {
  describe(name, () => {
    let pods: Pods;
    let a: HubHost;
    let b: HubHost;

    beforeAll(async () => {
      pods = await createPods();
      const hubs = () => [
        { path: '/chathub', hub: new ChatHub() },
        { path: '/test', hub: new TestHub(), options: { clientResultTimeoutMs: 1000 } },
      ];
      a = await startHubHost({
        hubs: hubs(),
        backplane: pods.backplanes[0],
        transport: { authenticate: userFromHeader },
      });
      b = await startHubHost({
        hubs: hubs(),
        backplane: pods.backplanes[1],
        transport: { authenticate: userFromHeader },
      });
    });

    afterAll(async () => {
      await a.close();
      await b.close();
      await pods.close();
    });

    it.each(COMBINATIONS)(
      '/chathub %s + %s: a message sent on pod A reaches clients on pod B',
      async (t, p) => {
        const onA = client(`${a.baseUrl}/chathub`, t, p);
        const onB = client(`${b.baseUrl}/chathub`, t, p);
        const gotA: string[] = [];
        const gotB: string[] = [];
        onA.on('ReceiveMessage', (user: string, message: string) => gotA.push(`${user}:${message}`));
        onB.on('ReceiveMessage', (user: string, message: string) => gotB.push(`${user}:${message}`));
        await onA.start();
        await onB.start();
        await onA.invoke('SendMessage', 'alice', `from A over ${t}/${p}`);
        await onB.invoke('SendMessage', 'bob', `from B over ${t}/${p}`);
        await waitFor(() => gotA.length >= 2 && gotB.length >= 2, 15_000, 'both messages on both pods');
        expect(gotB.sort()).toEqual([`alice:from A over ${t}/${p}`, `bob:from B over ${t}/${p}`]);
        expect(gotA.sort()).toEqual(gotB);
        await onA.stop();
        await onB.stop();
      },
    );

    it('groups, users, others and single connections work across pods', async () => {
      const alice = client(`${a.baseUrl}/test`, 'WebSockets', 'json', 'alice');
      const bob = client(`${b.baseUrl}/test`, 'LongPolling', 'messagepack', 'bob');
      const bob2 = client(`${a.baseUrl}/test`, 'ServerSentEvents', 'json', 'bob');
      const seen: Record<string, string[]> = { alice: [], bob: [], bob2: [] };
      for (const [who, c] of Object.entries({ alice, bob, bob2 })) {
        for (const method of ['Group', 'Others', 'User', 'Direct', 'Caller']) {
          c.on(method, (...args: unknown[]) => seen[who]!.push(`${method}:${args.join('/')}`));
        }
      }
      await Promise.all([alice.start(), bob.start(), bob2.start()]);
      expect(await bob2.invoke('WhoAmI')).toMatchObject({ user: 'bob', transport: 'ServerSentEvents' });

      // Bob (pod B) joins a group; Alice (pod A) sends to it.
      await bob.invoke('JoinGroup', 'desk');
      await alice.invoke('SendToGroup', 'desk', 'hello desk');
      await waitFor(() => seen.bob!.includes('Group:desk/hello desk'), 15_000, 'the group message on pod B');

      // Alice adds bob2's connection (same pod) and then her own to the group; a remote add works too.
      await alice.invoke('JoinGroup', 'desk', bob2.connectionId);
      await bob.invoke('JoinGroup', 'desk2', alice.connectionId);
      await bob.invoke('SendToGroup', 'desk2', 'remote add');
      await waitFor(
        () => seen.alice!.includes('Group:desk2/remote add'),
        15_000,
        'a group joined from another pod',
      );
      await bob.invoke('LeaveGroup', 'desk');
      await alice.invoke('SendToGroup', 'desk', 'second');
      await waitFor(() => seen.bob2!.includes('Group:desk/second'), 15_000, 'the second group message');

      // A user on two pods gets messages on both connections.
      await alice.invoke('SendToUser', 'bob', 'for bob');
      await waitFor(
        () => seen.bob!.includes('User:for bob') && seen.bob2!.includes('User:for bob'),
        15_000,
        'both of bob’s connections',
      );

      // Others: everyone but the caller, on every pod.
      await bob.invoke('SendToOthers', 'not me');
      await waitFor(
        () => seen.alice!.includes('Others:not me') && seen.bob2!.includes('Others:not me'),
        15_000,
        'others on both pods',
      );

      // One connection on the other pod, by id; and the caller alone.
      await alice.invoke('SendToConnection', bob.connectionId, 'direct');
      await bob.invoke('SendToCaller', 'just me');
      await waitFor(
        () => seen.bob!.includes('Direct:direct') && seen.bob!.includes('Caller:just me'),
        15_000,
        'direct and caller messages',
      );

      // What must not have arrived.
      expect(seen.bob).not.toContain('Group:desk/second');
      expect(seen.bob).not.toContain('Others:not me');
      expect(seen.alice).not.toContain('User:for bob');
      expect(seen.alice).not.toContain('Caller:just me');
      expect(seen.bob2).not.toContain('Direct:direct');
      await Promise.all([alice.stop(), bob.stop(), bob2.stop()]);
    });

    it('client results reach a connection on the other pod through the backplane', async () => {
      const alice = client(`${a.baseUrl}/test`, 'WebSockets', 'json', 'alice');
      const bob = client(`${b.baseUrl}/test`, 'LongPolling', 'messagepack', 'bob');
      bob.on('Whoami', (prefix: string) => `${prefix}:bob`);
      bob.on('Refuse', () => {
        throw new Error('bob says no');
      });
      await Promise.all([alice.start(), bob.start()]);
      expect(await alice.invoke('AskClient', bob.connectionId, 'Whoami', 'asked from A')).toBe(
        'asked from A:bob',
      );
      await expect(alice.invoke('AskClient', bob.connectionId, 'Refuse', null)).rejects.toThrow(
        "An unexpected error occurred invoking 'AskClient' on the server.",
      );
      // A connection that no pod holds: nobody answers, the timeout does.
      await expect(alice.invoke('AskClient', 'nowhere', 'Whoami', 'x')).rejects.toThrow(
        "An unexpected error occurred invoking 'AskClient' on the server.",
      );
      await Promise.all([alice.stop(), bob.stop()]);
    });
  });
}
