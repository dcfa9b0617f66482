// The failure model of docs/architecture.md, against real parts: a broker of the suite's own (so it can
// be killed), a private redis-server, the ingester and two gateway processes, with raw WebSocket
// clients on each pod. Each fault asserts what must hold (no seq regression, no crash, recovery within
// generous bounds) and prints its figures; the tight numbers come from `npm run chaos`.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  events,
  FeedClient,
  type GatewayPod,
  type Ingester,
  metric,
  metricSeries,
  PrivateKafka,
  RedisServer,
  SYMBOLS,
  seqRegressions,
  startIngester,
  startPod,
  waitFor,
} from './harness';

const PRIMARY = 'tickhub_gateway_source_published_total';
const STANDBY = 'tickhub_gateway_standby_published_total';
/** What the alert rules of docker/prometheus/alerts.yml read. */
const DEPENDENCY_UP = 'tickhub_gateway_dependency_up';
const PARTITION_IDLE = 'tickhub_gateway_partition_idle_seconds';
const PARTITION_LAG = 'tickhub_gateway_partition_lag';

/**
 * Per owned partition of each pod: seconds since its last record, and records behind. A partition that
 * no symbol hashes to stays idle for good, with no lag: the stall alert asks for both.
 */
async function partitions(pods: GatewayPod[]): Promise<Array<{ idle: number; lag: number }>> {
  const found: Array<{ idle: number; lag: number }> = [];
  for (const p of pods) {
    const lag = await metricSeries(p.http, PARTITION_LAG);
    for (const [labels, idle] of await metricSeries(p.http, PARTITION_IDLE))
      found.push({ idle, lag: lag.get(labels) ?? 0 });
  }
  return found;
}

/** Generous bound for every recovery: the suite checks behaviour, `npm run chaos` measures speed. */
const RECOVERY_MS = 30_000;

/** How long the broker, and Redis, stay killed before they are started again (on their data). */
const KAFKA_OUTAGE_MS = 10_000;
const REDIS_OUTAGE_MS = 5_000;

interface Transition {
  at: number;
  ready: boolean;
  body: Record<string, unknown>;
}

/** Polls /health/ready of some processes and keeps each change of status, with the body that said it. */
class ReadinessLog {
  readonly transitions = new Map<string, Transition[]>();
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(targets: Array<{ name: string; url: string }>) {
    this.loops = targets.map(async ({ name, url }) => {
      const list: Transition[] = [];
      this.transitions.set(name, list);
      while (this.running) {
        const res = await fetch(url).catch(() => undefined);
        const ready = res?.status === 200;
        const body = res ? ((await res.json().catch(() => ({}))) as Record<string, unknown>) : {};
        if (list.length === 0 || list[list.length - 1]!.ready !== ready)
          list.push({ at: Date.now(), ready, body });
        await new Promise((r) => setTimeout(r, 50));
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** "name: 503 after X ms, 200 after Y ms" relative to `t0`. */
  describe(t0: number): string {
    return [...this.transitions]
      .map(
        ([name, list]) =>
          `${name}: ${list.map((t) => `${t.ready ? 200 : 503} at ${t.at - t0 >= 0 ? '+' : ''}${t.at - t0} ms`).join(', ')}`,
      )
      .join('; ');
  }

  /** Per process: ms from `t0` to its first 503, and from `back` to its last change back to 200. */
  figures(t0: number, back: number): { notReadyMs: number[]; readyAgainMs: number[] } {
    const lists = [...this.transitions.values()];
    return {
      notReadyMs: lists.map((l) => (l.find((t) => !t.ready && t.at >= t0)?.at ?? Number.NaN) - t0),
      readyAgainMs: lists.map((l) => l[l.length - 1]!.at - back),
    };
  }

  firstNotReady(name: string, after: number): Transition | undefined {
    return this.transitions.get(name)?.find((t) => !t.ready && t.at >= after);
  }
}

/** The longest wait between two updates of one symbol on one client, over [from, to]. */
function longestSilence(clients: FeedClient[], symbols: string[], from: number, to: number) {
  let worst = { ms: 0, symbol: '', server: '' };
  for (const c of clients) {
    for (const s of symbols) {
      let previous: number | undefined;
      for (const e of events(c, s)) {
        if (e.kind !== 'update') continue;
        if (e.at > to) break;
        if (previous !== undefined && e.at >= from && e.at - previous > worst.ms)
          worst = { ms: e.at - previous, symbol: s, server: c.server };
        previous = e.at;
      }
      if (previous !== undefined && to - previous > worst.ms)
        worst = { ms: to - previous, symbol: s, server: c.server };
    }
  }
  return worst;
}

/**
 * `n` counts the source ticks folded into an update, and the ingester numbers each symbol's ticks one
 * by one: between two updates of a symbol on one connection, `n` must equal the seq difference. An
 * update counted twice by two owners (or lost) breaks it. Counted from `from` on; a snapshot restarts it.
 */
function nMismatches(clients: FeedClient[], symbols: string[], from: number): string[] {
  const found: string[] = [];
  for (const c of clients) {
    const last = new Map<string, number>();
    for (const { at, msg } of c.messages) {
      if (msg.type === 'snapshot' && msg.symbol) last.delete(msg.symbol);
      if (msg.type !== 'ticks' || at < from) continue;
      for (const u of msg.updates ?? []) {
        if (!symbols.includes(u.symbol)) continue;
        const prev = last.get(u.symbol);
        if (prev !== undefined && u.n !== u.seq - prev)
          found.push(`${u.symbol} on ${c.server}: seq ${prev} → ${u.seq} with n ${u.n}`);
        last.set(u.symbol, u.seq);
      }
    }
  }
  return found;
}

/** Resolves with how long after `t` every client had an update of every symbol sent after `t`. */
async function freshAfter(
  clients: FeedClient[],
  symbols: string[],
  t: number,
  what: string,
): Promise<number> {
  await waitFor(
    () =>
      clients.every((c) => symbols.every((s) => events(c, s).some((e) => e.kind === 'update' && e.at > t))),
    RECOVERY_MS,
    what,
  );
  return Math.max(
    ...clients.flatMap((c) =>
      symbols.map((s) => events(c, s).find((e) => e.kind === 'update' && e.at > t)!.at - t),
    ),
  );
}

function logLines(logs: string[], from: number, match: (line: Record<string, unknown>) => boolean): number {
  let n = 0;
  for (const line of logs) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (Date.parse(String(entry.time)) >= from && match(entry)) n++;
    } catch {
      // a line cut by the pipe
    }
  }
  return n;
}

function firstLogAt(logs: string[], from: number, msg: string): number | undefined {
  for (const line of logs) {
    if (!line.includes(msg)) continue;
    try {
      const entry = JSON.parse(line) as { time: string; msg: string };
      const at = Date.parse(entry.time);
      if (entry.msg === msg && at >= from) return at;
    } catch {
      // a line cut by the pipe
    }
  }
  return undefined;
}

/** Figures of one run, by fault; `npm run chaos` collects them over several runs (TICKHUB_CHAOS_REPORT). */
const figures: Record<string, Record<string, number | number[]>> = {};

describe('faults: pods, Kafka, Redis and the ingester fail under load', () => {
  const run = Math.random().toString(36).slice(2, 8);
  let kafka: PrivateKafka;
  let redis: RedisServer;
  let ingester: Ingester;
  let ingesterEnv: Record<string, string>;
  const pods: GatewayPod[] = [];
  const gone: GatewayPod[] = [];
  const clients: FeedClient[] = [];
  let symbols: string[];

  const gatewayEnv = () => ({
    KAFKA_BROKERS: kafka.brokers,
    KAFKA_TOPIC: `faults-${run}`,
    KAFKA_GROUP_ID: `gateway-${run}`,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: `tickhub-faults-${run}:`,
    SIM_SYMBOLS: String(SYMBOLS),
    DRAIN_GRACE_MS: '4000',
    KAFKA_SESSION_TIMEOUT_MS: '3000',
  });

  async function openClients(pod: GatewayPod, count: number): Promise<FeedClient[]> {
    const opened: FeedClient[] = [];
    for (let i = 0; i < count; i++) {
      const c = await FeedClient.open(pod.ws);
      c.send({ type: 'subscribe', id: 'all', symbols, maxHz: 50 });
      await c.next((m) => m.id === 'all');
      opened.push(c);
    }
    clients.push(...opened);
    return opened;
  }

  function regressions(): string[] {
    return clients.flatMap((c) => seqRegressions(c, symbols));
  }

  function alive(): string[] {
    return [...pods.map((p) => ({ id: p.id, proc: p.proc })), { id: 'ingester', proc: ingester.proc }]
      .filter(({ proc }) => proc.exitCode !== null || proc.signalCode !== null)
      .map(({ id }) => id);
  }

  function readiness(): ReadinessLog {
    return new ReadinessLog([
      ...pods.map((p) => ({ name: p.id, url: `${p.http}/health/ready` })),
      { name: 'ingester', url: `http://127.0.0.1:${ingester.httpPort}/health/ready` },
    ]);
  }

  beforeAll(async () => {
    kafka = await PrivateKafka.start();
    redis = await RedisServer.start();
    ingesterEnv = {
      KAFKA_BROKERS: kafka.brokers,
      KAFKA_TOPIC: `faults-${run}`,
      KAFKA_PARTITIONS: '6',
      TICK_RATE: '600',
      SIM_SYMBOLS: String(SYMBOLS),
      LOG_LEVEL: 'info',
    };
    ingester = await startIngester(ingesterEnv);
    pods.push(...(await Promise.all([1, 2].map((i) => startPod(`gw${i}-${run}`, gatewayEnv())))));
    const universe = (await (await fetch(`${pods[0]!.http}/api/symbols`)).json()) as Array<{
      symbol: string;
    }>;
    symbols = universe.map((s) => s.symbol);
    for (const pod of pods) await openClients(pod, 2);
    await freshAfter(clients, symbols, Date.now(), 'every client to get every symbol');
  }, 180_000);

  afterAll(async () => {
    const report = process.env.TICKHUB_CHAOS_REPORT;
    if (report) appendFileSync(report, `${JSON.stringify(figures)}\n`);
    // TICKHUB_KEEP_LOGS=dir keeps every process's log lines for a look after the run.
    const keep = process.env.TICKHUB_KEEP_LOGS;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      for (const p of [...pods, ...gone]) writeFileSync(path.join(keep, `${p.id}.log`), p.logs.join('\n'));
      writeFileSync(path.join(keep, 'ingester.log'), ingester.logs.join('\n'));
    }
    for (const c of clients) c.close();
    for (const p of pods) await p.stop().catch(() => undefined);
    await ingester?.stop().catch(() => undefined);
    await redis?.stop().catch(() => undefined);
    await kafka?.stop().catch(() => undefined);
  }, 60_000);

  it('while every pod lives, the standby owners publish next to nothing and n is exact', async () => {
    const sum = async (name: string) =>
      (await Promise.all(pods.map((p) => metric(p.http, name)))).reduce((a, b) => a + b, 0);
    const from = Date.now();
    const [primary0, standby0] = [await sum(PRIMARY), await sum(STANDBY)];
    await new Promise((r) => setTimeout(r, 3000));
    const primary = (await sum(PRIMARY)) - primary0;
    const standby = (await sum(STANDBY)) - standby0;
    figures.steady = { primaryPublished: primary, standbyPublished: standby };
    console.log(
      `[faults] steady state, 3 s: ${primary} updates published by primaries, ${standby} by standbys`,
    );
    expect(primary).toBeGreaterThan(0);
    expect(standby).toBeLessThan(primary / 10);
    expect(nMismatches(clients, symbols, from)).toEqual([]);
  });

  it('Redis kill -9 and restart: every pod says so within seconds, and serves again once it is back', async () => {
    const watch = readiness();
    const killedAt = Date.now();
    await redis.kill();
    await waitFor(
      () => pods.every((p) => watch.firstNotReady(p.id, killedAt)),
      RECOVERY_MS,
      'every pod to report not ready',
    );
    for (const p of pods) expect(await metric(p.http, DEPENDENCY_UP, 'dependency="redis"')).toBe(0);
    // Redis stays away for 5 s, as in the issue's Done-when.
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + REDIS_OUTAGE_MS - Date.now())));
    await redis.startAgain();
    // Back when its port listens again, as for the broker.
    const backAt = redis.listeningAt;
    await waitFor(
      () => pods.every((p) => watch.transitions.get(p.id)!.some((t) => t.ready && t.at > backAt)),
      RECOVERY_MS,
      'every pod ready again',
    );
    const fresh = await freshAfter(clients, symbols, backAt, 'fresh ticks after Redis came back');
    await watch.stop();
    for (const p of pods) expect(await metric(p.http, DEPENDENCY_UP, 'dependency="redis"')).toBe(1);
    for (const p of pods) {
      const lost = watch.firstNotReady(p.id, killedAt)!;
      // The body says which dependency, since when and why.
      expect(lost.body).toMatchObject({
        dependencies: { redis: { up: false, since: expect.any(String), reason: expect.any(String) } },
      });
    }
    figures.redis = { ...watch.figures(killedAt, backAt), freshMs: fresh };
    console.log(
      `[faults] Redis kill -9 for ${backAt - killedAt} ms: readiness ${watch.describe(killedAt)}; every client fresh on every symbol ${fresh} ms after Redis was back`,
    );
    expect(regressions()).toEqual([]);
    expect(alive()).toEqual([]);
  });

  it('Kafka broker kill -9 for 10 s and restart on its data: readiness says so, then publishing and delivery resume, nothing logged as an error', async () => {
    const watch = readiness();
    const killedAt = Date.now();
    await kafka.kill();
    await waitFor(
      () => [...pods.map((p) => p.id), 'ingester'].every((n) => watch.firstNotReady(n, killedAt)),
      RECOVERY_MS,
      'every gateway and the ingester to report not ready',
    );
    // The broker stays away for 10 s, as in the issue's Done-when (longer than the 3 s sessions).
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + KAFKA_OUTAGE_MS - Date.now())));
    // What the alerts see: Kafka down on every pod, and no record consumed on any owned partition since
    // the kill.
    for (const p of pods) expect(await metric(p.http, DEPENDENCY_UP, 'dependency="kafka"')).toBe(0);
    const idleDuring = Math.min(...(await partitions(pods)).map((p) => p.idle));
    await kafka.restart();
    const backAt = kafka.listeningAt;
    const fresh = await freshAfter(clients, symbols, backAt, 'fresh ticks after the broker came back');
    await waitFor(
      () => [...watch.transitions.values()].every((list) => list[list.length - 1]!.ready),
      RECOVERY_MS,
      'every process ready again',
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${watch.describe(killedAt)}`);
    });
    // Time for a late second rebalance (a member the coordinator forgot) to show in the logs.
    await new Promise((r) => setTimeout(r, 3000));
    await watch.stop();
    for (const p of pods) expect(await metric(p.http, DEPENDENCY_UP, 'dependency="kafka"')).toBe(1);
    const after = await partitions(pods);
    // TickhubKafkaPartitionStalled's expression (idle > 30 s with records waiting) holds for none.
    const stalled = after.filter((p) => p.idle > 30 && p.lag > 0).length;
    const resumed = after.filter((p) => p.idle < 5).length;
    for (const p of pods) {
      const lost = watch.firstNotReady(p.id, killedAt)!;
      expect(lost.body).toMatchObject({
        dependencies: { kafka: { up: false, since: expect.any(String), reason: expect.any(String) } },
      });
    }
    expect(watch.firstNotReady('ingester', killedAt)!.body).toMatchObject({
      dependencies: { kafka: { up: false, since: expect.any(String), reason: expect.any(String) } },
    });
    const publishing = firstLogAt(ingester.logs, killedAt, 'Kafka connection restored, publishing resumes');
    expect(publishing).toBeDefined();
    // Joins per group (primary, standby) on each pod. The restarted coordinator has forgotten the
    // members; the broker's group.initial.rebalance.delay.ms (1 s in the shipped configs) lets both
    // pods rejoin in one rebalance per group. A pod that reconnects later than that makes a second
    // one: allowed here (timing on a loaded machine), counted by `npm run chaos`.
    const joinsByGroup = pods.map((p) =>
      ['main', 'standby'].map((component) =>
        logLines(p.logs, backAt, (l) => l.msg === 'kafka partitions assigned' && l.component === component),
      ),
    );
    const errors = pods.map((p) => logLines(p.logs, killedAt, (l) => l.level === 'error'));
    const reconnected = pods.map((p) =>
      logLines(p.logs, killedAt, (l) => l.msg === 'dependency reconnected' && l.dependency === 'kafka'),
    );
    const lostLines = pods.map((p) =>
      logLines(
        p.logs,
        killedAt,
        (l) => l.msg === 'dependency lost' && l.dependency === 'kafka' && l.level === 'warn',
      ),
    );
    figures.kafka = {
      ...watch.figures(killedAt, backAt),
      ingesterPublishingMs: publishing! - backAt,
      freshMs: fresh,
      joinsPerGroupAfter: joinsByGroup.flat(),
      errorLines: errors,
    };
    console.log(
      `[faults] Kafka kill -9, back ${backAt - killedAt} ms later: readiness ${watch.describe(killedAt)}; ingester publishing ${publishing! - backAt} ms after the broker answered; every client fresh on every symbol ${fresh} ms after; group joins per pod after (primary+standby): ${joinsByGroup.map((j) => j.join('+')).join('/')}; error lines per pod: ${errors.join('/')}; partition_idle_seconds, least before the broker's return: ${idleDuring.toFixed(1)}; 3 s after recovery, partitions idle < 5 s: ${resumed} of ${after.length}, stalled: ${stalled}`,
    );
    // Generous bounds: down 10 s, every partition idle for most of it; consuming again, none stalled.
    expect(idleDuring).toBeGreaterThan(5);
    expect(resumed).toBeGreaterThan(0);
    expect(stalled).toBe(0);
    // Lost once (warn), reconnected once (info), partitions assigned (info), no error line.
    expect(lostLines).toEqual(pods.map(() => 1));
    expect(reconnected).toEqual(pods.map(() => 1));
    expect(joinsByGroup.flat().every((n) => n <= 2)).toBe(true);
    expect(errors).toEqual(pods.map(() => 0));
    expect(regressions()).toEqual([]);
    expect(alive()).toEqual([]);
  });

  it('ingester restart: every client has new ticks soon after, seq never goes back', async () => {
    const stoppedAt = Date.now();
    await ingester.stop();
    ingester = await startIngester(ingesterEnv);
    const backAt = Date.now();
    const fresh = await freshAfter(clients, symbols, backAt, 'ticks of the restarted ingester');
    figures.ingesterRestart = { freshMs: fresh };
    console.log(
      `[faults] ingester restart (down ${backAt - stoppedAt} ms): every client fresh on every symbol ${fresh} ms after it was back`,
    );
    expect(regressions()).toEqual([]);
    expect(alive()).toEqual([]);
  });

  /** Stops or kills the second pod; its clients reconnect to the first; a new second pod joins after. */
  async function losePod(how: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const [survivor, victim] = [pods[0]!, pods[1]!];
    const survivors = clients.filter((c) => c.server === survivor.id);
    const orphans = clients.filter((c) => c.server === victim.id);
    const watch = new ReadinessLog([{ name: survivor.id, url: `${survivor.http}/health/ready` }]);
    const at = Date.now();
    victim.proc.kill(how);
    // They reconnect as soon as they are closed, as a client does; the pod may still be draining.
    await Promise.all(orphans.map((c) => c.closed));
    const closedAfter = Date.now() - at;
    const moved = await openClients(survivor, orphans.length);
    const servedAgain = await freshAfter(moved, symbols, at, 'the moved clients to be served');
    const partitionsMoved = await freshAfter(survivors, symbols, at + 500, 'every symbol to flow again');
    // The window covers both groups' rebalances: the standby group's session is twice the primary's
    // (3 s here), and a draining pod leaves it last.
    await victim.exited;
    const until = Math.max(at + 2 * 3000 + 1500, Date.now() + 1500);
    await new Promise((r) => setTimeout(r, until - Date.now()));
    const silence = longestSilence(survivors, symbols, at, Date.now());
    await watch.stop();
    figures[how] = {
      clientsClosedMs: closedAfter,
      movedServedMs: servedAgain,
      survivorsLongestSilenceMs: silence.ms,
      everySymbolFreshMs: partitionsMoved + 500,
    };
    console.log(
      `[faults] ${how} of ${victim.id}: its clients closed after ${closedAfter} ms and were served by ${survivor.id} ${servedAgain} ms after; surviving pod's clients: longest silence ${silence.ms} ms (${silence.symbol}), every symbol fresh ${partitionsMoved} ms after +500 ms`,
    );
    gone.push(...pods.splice(1, 1));
    for (const c of orphans) clients.splice(clients.indexOf(c), 1);
    // The rebalances that follow a pod's death are no outage: the survivor stayed ready throughout,
    // and logged them at info (no error line).
    expect(watch.firstNotReady(survivor.id, at)).toBeUndefined();
    expect(logLines(survivor.logs, at, (l) => l.level === 'error')).toBe(0);
    expect(logLines(survivor.logs, at, (l) => l.msg === 'kafka partitions assigned')).toBeGreaterThan(0);
    expect(regressions()).toEqual([]);
    // Both owners of a partition published around the death; no tick was counted twice or lost.
    expect(nMismatches(clients, symbols, at)).toEqual([]);
    expect(alive()).toEqual([]);
    pods.push(await startPod(`gw${how === 'SIGTERM' ? 3 : 4}-${run}`, gatewayEnv()));
    await openClients(pods[1]!, 2);
  }

  it('pod SIGTERM (a deploy): its clients move to the other pod, which keeps serving every symbol', async () => {
    await losePod('SIGTERM');
  });

  it('pod kill -9: its clients move to the other pod, which keeps serving every symbol', async () => {
    await losePod('SIGKILL');
  });
});
