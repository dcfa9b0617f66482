// Three gateway processes behind nginx, with the ingester writing to a real Kafka and a private
// redis-server as the backplane: fan-out across pods, interest routing, a Redis restart and a pod
// killed with SIGKILL, all under load. Needs built gateway and ingester (turbo builds them for the
// e2e tests), KAFKA_BROKERS, redis-server and nginx.
import {
  type Deployment,
  events,
  FeedClient,
  metric,
  isReady as ready,
  DEPLOYMENT_SESSION_TIMEOUT_MS as SESSION_TIMEOUT_MS,
  seqRegressions,
  startDeployment,
  waitFor,
} from './harness';

/** docs/protocol.md rule 4 on one connection: updates strictly increase; a snapshot never goes back. */
function expectSeqNeverBackwards(
  client: FeedClient,
  symbols: string[],
  floor = new Map<string, number>(),
): void {
  const found = seqRegressions(client, symbols, floor);
  if (found.length > 0) throw new Error(found[0]);
}

function lastSeq(client: FeedClient, symbol: string): number {
  const all = events(client, symbol);
  return all.length > 0 ? all[all.length - 1]!.seq : -1;
}

async function openThrough(url: string): Promise<FeedClient> {
  return FeedClient.open(url);
}

async function subscribe(c: FeedClient, symbols: string[], maxHz = 50): Promise<void> {
  const id = `s${Math.random().toString(36).slice(2, 8)}`;
  const from = c.messages.length;
  c.send({ type: 'subscribe', id, symbols, maxHz });
  const answer = await c.next((m) => m.id === id, 10_000, from);
  expect(answer).toMatchObject({ type: 'subscribed', symbols });
}

describe('several gateway pods behind nginx, Kafka in, Redis backplane', () => {
  let d: Deployment;
  let symbols: string[];
  /** Subscribed to `symbols`. */
  const clients: FeedClient[] = [];
  const others: FeedClient[] = [];

  beforeAll(async () => {
    d = await startDeployment(3);
    const universe = (await (await fetch(`http://127.0.0.1:${d.nginx.port}/api/symbols`)).json()) as Array<{
      symbol: string;
    }>;
    symbols = universe.slice(0, 5).map((s) => s.symbol);
  }, 120_000);

  afterAll(async () => {
    for (const c of [...clients, ...others]) c.close();
    await d?.stop();
  });

  const wsUrl = () => `ws://127.0.0.1:${d.nginx.port}/ws`;

  it('clients on different pods, subscribed to the same symbols, all get the same seq progression', async () => {
    for (let i = 0; i < 6; i++) clients.push(await openThrough(wsUrl()));
    const servers = new Set(clients.map((c) => c.server));
    expect(servers).toEqual(new Set(d.pods.map((p) => p.id)));
    for (const c of clients) await subscribe(c, symbols);

    // Everyone gets every symbol, then everyone reaches the highest seq that anyone had seen.
    await waitFor(
      () => clients.every((c) => symbols.every((s) => lastSeq(c, s) > 0)),
      20_000,
      'every client to get every symbol',
    );
    // A few seconds of flow, so that the progressions can be compared.
    await waitFor(
      () => clients.every((c) => symbols.every((s) => events(c, s).length >= 15)),
      30_000,
      'every client to get 15 updates of every symbol',
    );
    const target = new Map(symbols.map((s) => [s, Math.max(...clients.map((c) => lastSeq(c, s)))]));
    await waitFor(
      () => clients.every((c) => symbols.every((s) => lastSeq(c, s) >= target.get(s)!)),
      20_000,
      'every client to reach the same seq',
    );
    for (const c of clients) {
      expectSeqNeverBackwards(c, symbols);
      for (const s of symbols) {
        const e = events(c, s);
        expect(e[0]!.kind).toBe('snapshot');
      }
    }
    // Source work is split by partition ownership: each tick is published once in the cluster.
    const published = await Promise.all(
      d.pods.map((p) => metric(p.http, 'tickhub_gateway_source_published_total')),
    );
    // Within the window every client was subscribed, how many of the seqs are seen by all six.
    const common = symbols.map((s) => {
      const from = Math.max(...clients.map((c) => events(c, s)[0]!.seq));
      const to = target.get(s)!;
      const seen = clients.map(
        (c) =>
          new Set(
            events(c, s)
              .filter((e) => e.seq >= from && e.seq <= to)
              .map((e) => e.seq),
          ),
      );
      const union = new Set(seen.flatMap((x) => [...x]));
      const shared = [...union].filter((q) => seen.every((x) => x.has(q))).length;
      return `${s} ${shared}/${union.size}`;
    });
    console.log(
      `[cluster] source updates published per pod: ${published.join(', ')}; seqs seen by all 6 clients / by any, per symbol: ${common.join(', ')}`,
    );
  });

  it('a pod with no subscriber and no share in a symbol receives no backplane traffic for it', async () => {
    const channel = (s: string) => `${d.keyPrefix}u:${s}`;
    const numsub = (s: string) => Number(d.redis.cli('PUBSUB', 'NUMSUB', channel(s))[1]);
    const unwanted = (await (await fetch(`${d.pods[0]!.http}/api/symbols`)).json()) as Array<{
      symbol: string;
    }>;
    const lonely = unwanted[SYMBOL_NOBODY_WANTS]!.symbol;
    expect(symbols).not.toContain(lonely);

    for (const s of symbols) expect(numsub(s)).toBe(3);
    // Only the symbol's two owners (the primary and the standby of its partition, on two different
    // pods) watch its channel; the third pod has no reason to.
    await waitFor(() => numsub(lonely) === 2, 10_000, 'the two owners to watch the channel');

    // A client straight on each pod in turn: only the pod without a share subscribes the channel for
    // it, and drops it when the client leaves.
    const added: number[] = [];
    for (const pod of d.pods) {
      const before = await metric(pod.http, 'tickhub_gateway_backplane_channels');
      const direct = await FeedClient.open(pod.ws);
      try {
        await subscribe(direct, [lonely]);
        await direct.next(
          (m) => m.type === 'ticks' && (m.updates ?? []).some((u) => u.symbol === lonely),
          20_000,
        );
        added.push((await metric(pod.http, 'tickhub_gateway_backplane_channels')) - before);
      } finally {
        direct.close();
      }
      await waitFor(() => numsub(lonely) === 2, 10_000, 'the channel to be dropped again');
    }
    expect(added.sort()).toEqual([0, 0, 1]);
  });

  it('every pod recovers by itself after Redis restarts under load', async () => {
    await d.redis.kill();
    // Readiness follows the backplane: every pod reports not ready while Redis is gone.
    const states = new Array<boolean>(d.pods.length).fill(true);
    for (const deadline = Date.now() + 10_000; states.some(Boolean) && Date.now() < deadline; ) {
      const now = await Promise.all(d.pods.map((p) => ready(p.http)));
      now.forEach((r, i) => {
        if (!r) states[i] = false;
      });
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(states).toEqual([false, false, false]);
    // A subscribe during the outage: no last value can be read; it is answered, logged and counted,
    // and the symbol's updates arrive once Redis is back.
    const universe = (await (await fetch(`${d.pods[0]!.http}/api/symbols`)).json()) as Array<{
      symbol: string;
    }>;
    const fresh = universe[SYMBOL_NOBODY_WANTS + 1]!.symbol;
    const duringOutage = await FeedClient.open(d.pods[0]!.ws);
    others.push(duringOutage);
    await subscribe(duringOutage, [fresh]);
    await waitFor(
      () => d.pods[0]!.logs.some((l) => l.includes('snapshot read of 1 symbols')),
      10_000,
      'the failed snapshot read to be logged',
    );
    expect(
      await metric(d.pods[0]!.http, 'tickhub_gateway_snapshot_read_failures_total'),
    ).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 1500));
    await d.redis.startAgain();
    const back = Date.now();

    const readyAt = await Promise.all(
      d.pods.map(async (p) => {
        for (;;) {
          if (await ready(p.http)) return Date.now() - back;
          if (Date.now() - back > 30_000) throw new Error(`${p.id} not ready 30 s after Redis came back`);
          await new Promise((r) => setTimeout(r, 25));
        }
      }),
    );
    // Delivering again: every client gets an update of every symbol sent after Redis came back.
    await waitFor(
      () => clients.every((c) => symbols.every((s) => events(c, s).some((e) => e.at > back))),
      30_000,
      'updates to flow again after the Redis restart',
    );
    const flowing = Math.max(
      ...clients.flatMap((c) => symbols.map((s) => events(c, s).find((e) => e.at > back)!.at - back)),
    );
    console.log(
      `[cluster] Redis restart: pods ready again after ${readyAt.join(' / ')} ms; every client has updates of every symbol again after ${flowing} ms`,
    );
    for (const c of clients) expectSeqNeverBackwards(c, symbols);
    await waitFor(
      () => events(duringOutage, fresh).some((e) => e.at > back),
      30_000,
      'updates of the symbol subscribed during the outage',
    );

    // The emptied last-value cache is refilled by the source pods: a new subscriber gets snapshots.
    const late = await openThrough(wsUrl());
    clients.push(late);
    await subscribe(late, symbols);
    await waitFor(
      () => symbols.every((s) => events(late, s).some((e) => e.kind === 'snapshot')),
      15_000,
      'snapshots after the Redis restart',
    );
  });

  it('a restarted ingester is followed at once: its ticks are not dropped as stale, seq never goes back', async () => {
    const sum = async (name: string) =>
      (await Promise.all(d.pods.map((p) => metric(p.http, name)))).reduce((a, b) => a + b, 0);
    const staleBefore = await sum('tickhub_gateway_source_ticks_stale_total');
    const inBefore = await sum('tickhub_gateway_source_ticks_total');
    const seenBefore = new Map(clients.map((c) => [c, new Map(symbols.map((s) => [s, lastSeq(c, s)]))]));

    // The gateways' last values (in Redis, shared by the pods) hold the first run's seqs.
    await d.restartIngester(1000);
    const restartedAt = Date.now();
    await waitFor(
      () =>
        clients.every((c) =>
          symbols.every((s) =>
            events(c, s).some((e) => e.at >= restartedAt && e.seq > seenBefore.get(c)!.get(s)!),
          ),
        ),
      15_000,
      'every client to get every symbol from the restarted ingester',
    );
    const caughtUp = Date.now() - restartedAt;
    const stale = (await sum('tickhub_gateway_source_ticks_stale_total')) - staleBefore;
    const arrived = (await sum('tickhub_gateway_source_ticks_total')) - inBefore;
    console.log(
      `[cluster] ingester restarted: every client had new updates of every symbol ${caughtUp} ms after it was back; source ticks since: ${arrived}, dropped as stale: ${stale}`,
    );
    expect(arrived).toBeGreaterThan(0);
    // Only redelivered duplicates may be stale; a restart counting from 1 again made them all stale.
    expect(stale).toBeLessThan(arrived / 10);
    for (const c of clients) expectSeqNeverBackwards(c, symbols);
  });

  it('kill -9 of a pod under load: its clients reconnect through nginx, no seq goes backwards', async () => {
    const victim = d.pods[1]!;
    const orphans = clients.filter((c) => c.server === victim.id);
    const survivors = clients.filter((c) => c.server !== victim.id);
    expect(orphans.length).toBeGreaterThan(0);
    const seenBefore = new Map(orphans.map((c) => [c, new Map(symbols.map((s) => [s, lastSeq(c, s)]))]));

    victim.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    await Promise.all(orphans.map((c) => c.closed));

    // The orphans reconnect through nginx (which skips the dead pod) and get their snapshots.
    const reconnected: FeedClient[] = [];
    for (let i = 0; i < orphans.length; i++) {
      const c = await openThrough(wsUrl());
      expect(c.server).not.toBe(victim.id);
      reconnected.push(c);
      clients.push(c);
      await subscribe(c, symbols);
    }
    await waitFor(
      () => reconnected.every((c) => symbols.every((s) => events(c, s).some((e) => e.kind === 'snapshot'))),
      15_000,
      'snapshots after reconnecting',
    );
    const snapshotAfter = Date.now() - killedAt;
    orphans.forEach((old, i) => {
      const before = seenBefore.get(old)!;
      for (const s of symbols) {
        const snap = events(reconnected[i]!, s).find((e) => e.kind === 'snapshot')!;
        expect(snap.seq).toBeGreaterThanOrEqual(before.get(s)!);
      }
      expectSeqNeverBackwards(reconnected[i]!, symbols, before);
    });

    // The victim's partitions move to the survivors: every symbol flows again on every connection.
    await waitFor(
      () =>
        [...survivors, ...reconnected].every((c) =>
          symbols.every((s) => events(c, s).some((e) => e.at > killedAt + 500 && e.kind === 'update')),
        ),
      60_000,
      'every symbol to flow again after the rebalance',
    );
    // The standby owners cover the dead pod's partitions at once; the groups rebalance later (the
    // primary group at the session timeout, the standby group at twice it). The gap is measured over
    // both, so a pause at either rebalance shows.
    await new Promise((r) =>
      setTimeout(r, Math.max(0, killedAt + 2 * SESSION_TIMEOUT_MS + 1500 - Date.now())),
    );
    const until = Date.now();
    let gap = 0;
    let gapSymbol = '';
    let gapFrom = 0;
    for (const c of survivors) {
      for (const s of symbols) {
        const at = events(c, s)
          .filter((x) => x.at >= killedAt - 2000)
          .map((x) => x.at);
        at.push(until);
        for (let i = 1; i < at.length; i++) {
          // Gaps that end after the kill (one that began before it counts whole).
          if (at[i]! >= killedAt && at[i]! - at[i - 1]! > gap) {
            gap = at[i]! - at[i - 1]!;
            gapSymbol = s;
            gapFrom = at[i - 1]! - killedAt;
          }
        }
      }
      expectSeqNeverBackwards(c, symbols);
    }
    console.log(
      `[cluster] kill -9 ${victim.id}: ${orphans.length} clients reconnected with snapshots ${snapshotAfter} ms after the kill; longest gap seen by clients of surviving pods over the ${until - killedAt} ms after it: ${gap} ms (${gapSymbol}, from ${gapFrom} ms after the kill; Kafka session timeout ${SESSION_TIMEOUT_MS} ms, standby owners on)`,
    );
    expect(await Promise.all(d.pods.filter((p) => p !== victim).map((p) => ready(p.http)))).toEqual([
      true,
      true,
    ]);
  });
});

/** Index in the universe of a symbol no client of the fan-out test subscribes to. */
const SYMBOL_NOBODY_WANTS = 9;
