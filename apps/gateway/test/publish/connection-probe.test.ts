import { MemoryBackplane, MemoryBus } from '@tickhub/backplane';
import { HubEndpoint, jsonHubProtocol } from '@tickhub/signalr';
import { ConnectionProbe, ProbeOverloadError } from '../../src/publish/connection-probe';
import { HubDirectory } from '../../src/publish/hub-directory';
import { ChatHub } from '../../src/signalr/hubs/chat.hub';

/** Two pods on one bus, each with the chat hub; pod b holds the connection `b.1`. */
function cluster(options: { timeoutMs?: number; maxPending?: number; owners?: boolean } = {}) {
  const bus = new MemoryBus();
  const pods = ['a', 'b'].map((podId) => {
    const backplane = new MemoryBackplane({ podId, bus });
    const endpoint = new HubEndpoint('/chathub', new ChatHub(), {}, backplane);
    const probe = new ConnectionProbe(backplane, new HubDirectory([endpoint]), {
      timeoutMs: options.timeoutMs ?? 60_000,
      maxPending: options.maxPending ?? 100,
      ...(options.owners === false ? {} : { ownerOf: (id: string) => id.split('.')[0] }),
    });
    return { backplane, endpoint, probe };
  });
  const [a, b] = pods as [(typeof pods)[0], (typeof pods)[0]];
  b.endpoint.lifetime.add({
    connectionId: 'b.1',
    userId: undefined,
    protocol: jsonHubProtocol,
    groups: new Set(),
    sendBytes: () => undefined,
    invokeClient: () => Promise.reject(new Error('not used here')),
  });
  const report = (pod: typeof a) => pod.backplane.reportPresence({ connections: 0, subscribers: {} });
  return { a, b, report };
}

describe('ConnectionProbe', () => {
  it('answers from the pod the id names, whatever the presence count says', async () => {
    const { a, report } = cluster();
    report(a); // pod b has not reported yet: the count says one pod
    expect(await a.probe.exists('chathub', 'b.1')).toBe(true);
    expect(await a.probe.exists('ChatHub', 'b.2')).toBe(false); // b's "no", long before the timeout
    expect(await a.probe.exists('chathub', 'a.9')).toBe(false);
  });

  it('settles ids that name no pod once every counted pod said no', async () => {
    const { a, b, report } = cluster({ owners: false });
    report(a);
    report(b);
    expect(await a.probe.exists('chathub', 'b.1')).toBe(true);
    expect(await a.probe.exists('chathub', 'elsewhere')).toBe(false);
  });

  it('answers no at the timeout when the named pod is gone', async () => {
    const { a } = cluster({ timeoutMs: 50 });
    expect(await a.probe.exists('chathub', 'c.1')).toBe(false);
  });

  it('refuses probes beyond its bound', async () => {
    const { a } = cluster({ timeoutMs: 50, maxPending: 1 });
    const first = a.probe.exists('chathub', 'c.1');
    await expect(a.probe.exists('chathub', 'c.2')).rejects.toBeInstanceOf(ProbeOverloadError);
    expect(await first).toBe(false);
  });
});
