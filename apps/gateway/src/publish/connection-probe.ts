import type { Backplane, ClusterMessage } from '@tickhub/backplane';
import type { HubDirectory } from './hub-directory';

type ProbeBackplane = Pick<Backplane, 'podId' | 'sendMessage' | 'onMessage' | 'getClusterPresence'>;

const QUERY_TOPIC = 'publish:connection?';
const ANSWER_TOPIC = 'publish:connection!';

interface PendingProbe {
  answers: number;
  pods: number | undefined;
  /** The pod the connection id names, when it names one: its "no" is final. */
  owner: string | undefined;
  finish: (exists: boolean) => void;
}

export interface ConnectionProbeOptions {
  /** A probe no pod has confirmed within this is answered "no such connection". */
  timeoutMs: number;
  /** Probes in flight at once; more are refused (the caller answers 503), so memory stays bounded. */
  maxPending: number;
  /**
   * The pod (backplane pod id) that would hold a connection, read from its id; undefined when the id
   * does not say. The gateway's ids start with its GATEWAY_ID, which is also its pod id.
   */
  ownerOf?: (connectionId: string) => string | undefined;
}

export const DEFAULT_PROBE_OPTIONS: ConnectionProbeOptions = { timeoutMs: 1000, maxPending: 1000 };

/** Too many existence checks are already waiting for the cluster's answers. */
export class ProbeOverloadError extends Error {}

/**
 * Whether a connection exists anywhere in the cluster, asked over the backplane: every pod answers
 * for its own connections; the first "yes" settles it. "No" is settled by the answer of the pod the
 * id names (`ownerOf`); for ids that name none, once as many pods as the cluster presence counts
 * have said no (a count that lags a starting pod may answer too early), and at the latest at the
 * timeout.
 * Connections are not mirrored into shared storage: they change far more often than they are checked.
 */
export class ConnectionProbe {
  private readonly pending = new Map<string, PendingProbe>();
  private nextId = 0;

  constructor(
    private readonly backplane: ProbeBackplane,
    private readonly hubs: HubDirectory,
    private readonly options: ConnectionProbeOptions = DEFAULT_PROBE_OPTIONS,
  ) {
    backplane.onMessage(QUERY_TOPIC, (message) => this.answer(message));
    backplane.onMessage(ANSWER_TOPIC, (message) => this.collect(message));
  }

  exists(hub: string, connectionId: string): Promise<boolean> {
    if (this.hubs.get(hub)?.lifetime.get(connectionId)) return Promise.resolve(true);
    if (this.pending.size >= this.options.maxPending) {
      return Promise.reject(new ProbeOverloadError('too many connection checks in flight'));
    }
    const id = `${this.nextId++}`;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => probe.finish(false), this.options.timeoutMs);
      const owner = this.options.ownerOf?.(connectionId);
      const probe: PendingProbe = {
        answers: 0,
        pods: undefined,
        owner,
        finish: (exists) => {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve(exists);
        },
      };
      this.pending.set(id, probe);
      if (owner === undefined) this.countPods(id, probe);
      this.backplane.sendMessage({
        topic: QUERY_TOPIC,
        target: { kind: 'connection', connectionId },
        payload: Buffer.from(JSON.stringify([id, hub])),
      });
    });
  }

  private countPods(id: string, probe: PendingProbe): void {
    this.backplane.getClusterPresence().then(
      (view) => {
        // No report yet (a cluster starting up) counts as unknown, not as "no pods".
        if (view.pods < 1) return;
        probe.pods = view.pods;
        if (probe.answers >= view.pods && this.pending.has(id)) probe.finish(false);
      },
      // Without a pod count only a "yes" or the timeout settles the probe.
      () => undefined,
    );
  }

  private answer(message: ClusterMessage): void {
    if (message.target.kind !== 'connection') return;
    const decoded = decode(message.payload);
    if (!decoded) return;
    const [id, hub] = decoded;
    if (typeof hub !== 'string') return;
    const exists = this.hubs.get(hub)?.lifetime.get(message.target.connectionId) !== undefined;
    this.backplane.sendMessage({
      topic: ANSWER_TOPIC,
      // The asking pod: answers reach every pod, and only the asker holds the probe id.
      target: { kind: 'connection', connectionId: message.origin },
      payload: Buffer.from(JSON.stringify([id, exists ? 1 : 0])),
    });
  }

  private collect(message: ClusterMessage): void {
    if (message.target.kind !== 'connection' || message.target.connectionId !== this.backplane.podId) return;
    const decoded = decode(message.payload);
    if (!decoded) return;
    const [id, exists] = decoded;
    const probe = this.pending.get(String(id));
    if (!probe) return;
    probe.answers++;
    if (exists === 1) probe.finish(true);
    else if (
      probe.owner !== undefined ? message.origin === probe.owner : probe.answers >= (probe.pods ?? Infinity)
    ) {
      probe.finish(false);
    }
  }
}

function decode(payload: Uint8Array): [string, string | number] | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(payload).toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string') {
      return value as [string, string | number];
    }
  } catch {
    // Not ours to fail on: a malformed probe from another version is ignored.
  }
  return undefined;
}
