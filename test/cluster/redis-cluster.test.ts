// Redis Cluster end to end: three masters (sharded pub/sub, one slot per symbol's channel and last
// value), the ingester on the real Kafka, three gateways with REDIS_CLUSTER=true, raw WebSocket clients
// on each. One master is killed and started again on its port and cluster state: the symbols of the
// other shards keep flowing, and every symbol flows again once it is back, with seq never going back.
import {
  events,
  FeedClient,
  type GatewayPod,
  type Ingester,
  isReady,
  kafkaBrokers,
  metric,
  RedisCluster,
  SYMBOLS,
  seqRegressions,
  startIngester,
  startPod,
  waitFor,
} from './harness';

const RECOVERY_MS = 30_000;

/** What a pod's readiness body says of the Redis Cluster masters it cannot reach. */
async function unreachableShards(http: string): Promise<string[]> {
  const body = (await (await fetch(`${http}/health/ready`)).json()) as {
    backplane: { unreachableShards: string[] };
  };
  return body.backplane.unreachableShards;
}

/** Polls every pod until `check` holds for each one's unreachable masters. */
async function untilShards(
  pods: GatewayPod[],
  check: (shards: string[]) => boolean,
  what: string,
): Promise<void> {
  const deadline = Date.now() + RECOVERY_MS;
  for (;;) {
    const seen = await Promise.all(pods.map((p) => unreachableShards(p.http)));
    if (seen.every(check)) return;
    if (Date.now() > deadline) throw new Error(`${what}: pods report ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freshAfter(clients: FeedClient[], symbols: string[], t: number): boolean {
  return clients.every((c) =>
    symbols.every((s) => events(c, s).some((e) => e.kind === 'update' && e.at > t)),
  );
}

describe('Redis Cluster backplane: three masters behind three gateways', () => {
  const run = Math.random().toString(36).slice(2, 8);
  let cluster: RedisCluster;
  let ingester: Ingester;
  const pods: GatewayPod[] = [];
  const clients: FeedClient[] = [];
  let symbols: string[];

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    ingester = await startIngester({
      KAFKA_BROKERS: kafkaBrokers(),
      KAFKA_TOPIC: `redis-cluster-${run}`,
      KAFKA_PARTITIONS: '6',
      TICK_RATE: '600',
      SIM_SYMBOLS: String(SYMBOLS),
      LOG_LEVEL: 'info',
    });
    pods.push(
      ...(await Promise.all(
        [1, 2, 3].map((i) =>
          startPod(`gw${i}-${run}`, {
            KAFKA_BROKERS: kafkaBrokers(),
            KAFKA_TOPIC: `redis-cluster-${run}`,
            KAFKA_GROUP_ID: `gateway-${run}`,
            REDIS_URL: cluster.url,
            REDIS_CLUSTER: 'true',
            REDIS_KEY_PREFIX: `tickhub-rc-${run}:`,
            SIM_SYMBOLS: String(SYMBOLS),
            DRAIN_GRACE_MS: '4000',
          }),
        ),
      )),
    );
    const universe = (await (await fetch(`${pods[0]!.http}/api/symbols`)).json()) as Array<{
      symbol: string;
    }>;
    symbols = universe.map((s) => s.symbol);
    for (const pod of pods) {
      const c = await FeedClient.open(pod.ws);
      c.send({ type: 'subscribe', id: 'all', symbols, maxHz: 50 });
      await c.next((m) => m.id === 'all');
      clients.push(c);
    }
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const p of pods) await p.stop().catch(() => undefined);
    await ingester?.stop().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
  }, 60_000);

  it('fans every symbol out to every pod over the shards, and recovers when a master is killed and restarted', async () => {
    const start = Date.now();
    await waitFor(() => freshAfter(clients, symbols, start), RECOVERY_MS, 'every symbol on every pod');
    // Every shard carries some of the symbols' channels.
    const perNode = cluster.nodes.map((n) => Number(n.cli('DBSIZE')[0]));
    expect(perNode.every((keys) => keys > 0)).toBe(true);

    expect(await Promise.all(pods.map((p) => unreachableShards(p.http)))).toEqual(pods.map(() => []));

    const victim = cluster.nodes[1]!;
    const killedAt = Date.now();
    await victim.kill();
    // Every pod names the master it lost (readiness body and metric), and stays ready on the others.
    const lost = (shards: string[]) => shards.length === 1 && shards[0]!.endsWith(`:${victim.port}`);
    await untilShards(pods, lost, 'the killed master named by every pod');
    const namedMs = Date.now() - killedAt;
    for (const pod of pods)
      expect(await metric(pod.http, 'tickhub_gateway_backplane_shards_unreachable')).toBe(1);
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - namedMs)));
    // The symbols of the two other shards kept flowing while one master was away.
    const flowing = symbols.filter((s) =>
      clients.every((c) => events(c, s).some((e) => e.at > killedAt + 2000)),
    );
    const readyDuring = await Promise.all(pods.map((p) => isReady(p.http)));
    await victim.startAgain();
    const backAt = Date.now();
    await cluster.untilOk(RECOVERY_MS);
    await waitFor(() => freshAfter(clients, symbols, backAt), RECOVERY_MS, 'every symbol again on every pod');
    await untilShards(pods, (shards) => shards.length === 0, 'no master named once it was back');
    const fresh = Math.max(
      ...clients.flatMap((c) =>
        symbols.map((s) => events(c, s).find((e) => e.kind === 'update' && e.at > backAt)!.at - backAt),
      ),
    );
    console.log(
      `[redis-cluster] keys per master ${perNode.join('/')}; master on port ${victim.port} killed for ${backAt - killedAt} ms (named unreachable by every pod after ${namedMs} ms): ${flowing.length}/${symbols.length} symbols kept flowing on every pod, pods ready meanwhile: ${readyDuring.join('/')}; every symbol fresh on every pod ${fresh} ms after it was back`,
    );
    expect(flowing.length).toBeGreaterThan(0);
    expect(clients.flatMap((c) => seqRegressions(c, symbols))).toEqual([]);
    expect(pods.filter((p) => p.proc.exitCode !== null || p.proc.signalCode !== null)).toEqual([]);
  });
});
