import { Inject, Injectable } from '@nestjs/common';
import type { RedisBackplaneStats } from '@tickhub/backplane-redis';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { AccessControl } from '../auth/access-control';
import type { GatewayConfig } from '../config';
import { KafkaTickSource } from '../core/kafka-tick-source';
import { GatewayRuntime } from '../runtime';
import { GATEWAY_CONFIG } from '../tokens';
import { UpgradeRouter } from '../ws/upgrade-router';
import { WsConnections } from '../ws/ws-connections';

const P = 'tickhub_gateway_';

/**
 * Prometheus metrics. The tick path keeps plain counters; they are read here at scrape time, so
 * counting costs an increment, never a metrics call per update.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  constructor(
    runtime: GatewayRuntime,
    connections: WsConnections,
    router: UpgradeRouter,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    access: AccessControl,
  ) {
    const r = this.registry;
    r.setDefaultLabels({ gateway: config.gatewayId });
    collectDefaultMetrics({ register: r, prefix: P });
    const edge = runtime.edge.counters;
    const source = runtime.source.counters;
    const ws = connections.counters;

    gauge(r, 'connections', 'Open native /ws connections', () => connections.size());
    gauge(r, 'sessions', 'Open feed sessions over every transport', () => runtime.edge.sessionCount());
    gauge(r, 'subscriptions', 'Subscriptions (connection, symbol) over every transport', () =>
      runtime.edge.subscriptionTotal(),
    );
    gauge(r, 'paused_connections', 'Connections paused above the high-water mark', () =>
      runtime.edge.pausedCount(),
    );
    gauge(r, 'ready', '1 when the gateway is ready to serve', () => (runtime.isReady() ? 1 : 0));
    gauge(r, 'kafka_lag', 'Messages behind the head of md.ticks over owned partitions', () =>
      runtime.tickSource.lag(),
    );
    labelledGauge(
      r,
      'dependency_up',
      'Per dependency (kafka or simulator, redis or memory): 1 while usable, 0 while lost or not yet connected',
      'dependency',
      () => runtime.dependencies.evaluate().map((d) => [d.name, d.up ? 1 : 0]),
    );
    labelledGauge(
      r,
      'dependency_state_seconds',
      'Per dependency: seconds since it last went up or down (with dependency_up, how long it has been lost)',
      'dependency',
      () => {
        const now = runtime.clock.now();
        return runtime.dependencies.evaluate().map((d) => [d.name, (now - d.since) / 1000]);
      },
    );
    labelledGauge(
      r,
      'partition_idle_seconds',
      'Per owned Kafka partition: seconds since its last record arrived (or since it was assigned)',
      'partition',
      () => {
        const now = runtime.clock.now();
        return runtime.tickSource.partitionStates().map((p) => [p.partition, (now - p.lastRecordAt) / 1000]);
      },
    );
    labelledGauge(
      r,
      'partition_lag',
      'Per owned Kafka partition: messages behind its head',
      'partition',
      () => runtime.tickSource.partitionStates().map((p) => [p.partition, p.lag]),
    );
    // Sampled: the first update written in each flush, ticks frames only (snapshots excluded), so the
    // tick path pays one observation per flush, never one per update.
    const latency = new Histogram({
      name: `${P}update_latency_seconds`,
      help: 'Age (now - tick ts) of updates written to clients, first update of each flush, in seconds',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [r],
    });
    runtime.edge.onLatencySample = (ms) => latency.observe(Math.max(0, ms) / 1000);
    gauge(
      r,
      'backplane_rtt_seconds',
      'Last round trip to the backplane (PING on the Redis writer every 5 s); 0 for the in-memory one',
      () => runtime.backplaneRttMs / 1000,
    );
    counter(r, 'frames_sent_total', 'ticks frames written to connections', () => edge.framesSent);
    counter(r, 'updates_sent_total', 'Symbol updates written to connections', () => edge.updatesSent);
    counter(r, 'snapshots_sent_total', 'Snapshots written to connections', () => edge.snapshotsSent);
    counter(
      r,
      'update_encodes_total',
      'Symbol updates encoded (once per flush per encoding)',
      () => edge.encodes,
    );
    counter(
      r,
      'conflated_updates_total',
      'Updates folded into a later one for a connection',
      () => edge.conflated,
    );
    counter(
      r,
      'slow_consumer_pauses_total',
      'Connections paused above the high-water mark',
      () => edge.pauses,
    );
    counter(r, 'slow_consumer_closes_total', 'Connections closed with 4009', () => edge.slowConsumerCloses);
    counter(
      r,
      'backplane_updates_in_total',
      'Symbol updates received from the backplane',
      () => edge.updatesIn,
    );
    counter(r, 'source_ticks_total', 'Source ticks received by the source stage', () => source.ticksIn);
    counter(r, 'source_ticks_stale_total', 'Source ticks dropped for an old seq', () => source.ticksStale);
    counter(
      r,
      'source_ticks_unknown_total',
      'Source ticks of symbols outside the universe, dropped',
      () => source.ticksUnknown,
    );
    counter(r, 'source_published_total', 'Updates published on the backplane', () => source.published);
    const candles = runtime.candles.stats;
    counter(r, 'candles_written_total', 'Candles written to the candle store', () => candles.candlesWritten);
    counter(r, 'candle_writes_total', 'Batched writes to the candle store', () => candles.writes);
    counter(
      r,
      'candle_write_failures_total',
      'Candle writes that failed (retried)',
      () => candles.writeFailures,
    );
    counter(r, 'candle_dropped_total', 'Candles or ticks dropped at a bound', () => candles.dropped);
    gauge(r, 'candles_pending', 'Candles changed and not yet written', () => runtime.candles.pending());
    counter(
      r,
      'standby_published_total',
      'Updates published by this pod as the standby owner (the primary left them unpublished for KAFKA_TAKEOVER_MS)',
      () => runtime.standby?.counters.published ?? 0,
    );
    counter(
      r,
      'standby_ticks_total',
      "Source ticks received by this pod as the standby owner of other pods' partitions",
      () => runtime.standby?.counters.ticksIn ?? 0,
    );
    counter(
      r,
      'standby_ticks_skipped_total',
      'Source ticks of partitions this pod reads as their primary owner too, fetched by its standby group just before it paused them',
      () => (runtime.standbySource instanceof KafkaTickSource ? runtime.standbySource.skipped : 0),
    );
    gauge(
      r,
      'standby_partitions_paused',
      "Partitions of the standby group left paused to this pod's primary owner, which reads them",
      () =>
        runtime.standbySource instanceof KafkaTickSource
          ? runtime.standbySource.pausedPartitions().length
          : 0,
    );
    gauge(r, 'backplane_ready', '1 while the backplane can carry traffic', () =>
      runtime.backplane.isReady() ? 1 : 0,
    );
    gauge(
      r,
      'backplane_shards_unreachable',
      'Redis Cluster masters holding slots that this pod cannot reach (their symbols are not carried)',
      () => runtime.unreachableShards().length,
    );
    gauge(
      r,
      'backplane_channels',
      'Backplane channels this pod subscribes to (symbols of interest, topics)',
      () => runtime.backplaneChannels(),
    );
    const bp = (read: (s: RedisBackplaneStats) => number) => () => {
      const stats = runtime.backplaneStats();
      return stats ? read(stats) : 0;
    };
    counter(
      r,
      'backplane_published_total',
      'Updates published to Redis',
      bp((s) => s.published),
    );
    counter(
      r,
      'backplane_dropped_publishes_total',
      'Updates dropped while Redis was unreachable or writes were backed up',
      bp((s) => s.droppedPublishes),
    );
    counter(
      r,
      'backplane_dropped_messages_total',
      'Hub messages (sends, published messages, group changes) dropped while Redis was unreachable or backed up',
      bp((s) => s.droppedMessages),
    );
    counter(
      r,
      'backplane_failed_writes_total',
      'Redis writes that failed',
      bp((s) => s.failedWrites),
    );
    counter(
      r,
      'backplane_updates_received_total',
      'Symbol updates received from Redis',
      bp((s) => s.updatesReceived),
    );
    counter(
      r,
      'snapshot_read_failures_total',
      'Last-value reads that failed; snapshots came from local state or were skipped',
      () => edge.snapshotReadFailures,
    );
    counter(
      r,
      'backplane_reconnects_total',
      'Reconnections to Redis',
      bp((s) => s.reconnects),
    );
    counter(r, 'frames_in_total', 'Frames received on /ws', () => ws.framesIn);
    counter(r, 'messages_sent_total', 'Control messages (non-ticks) written on /ws', () => ws.messagesSent);
    counter(
      r,
      'heartbeat_terminations_total',
      'Connections terminated for a missed pong',
      () => ws.heartbeatTerminations,
    );
    counter(
      r,
      'origin_rejections_total',
      'Upgrades closed with 1008 for their origin',
      () => router.rejectedOrigins,
    );

    labelledCounter(r, 'inbound_errors_total', 'Error frames sent to clients, by code', 'code', () =>
      Object.entries(ws.errors),
    );
    // /ws connections, the SignalR hubs' WebSockets, and upgrades of any path closed for their origin.
    labelledCounter(r, 'closes_total', 'Connections closed by the server, by close code', 'code', () =>
      sumEntries(ws.closes, router.closeCounts()),
    );
    labelledCounter(
      r,
      'access_refusals_total',
      'Upgrades and requests refused by authentication or connection limits, by reason',
      'reason',
      () => Object.entries(access.refusals),
    );
    labelledCounter(
      r,
      'upgrade_rejections_total',
      'WebSocket upgrades and SignalR negotiates refused, by HTTP status',
      'status',
      () => sumEntries(router.rejectionsByStatus, access.negotiateRejectionsByStatus),
    );
    counter(
      r,
      'token_expired_closes_total',
      'Connections closed at token expiry (/ws with 4001, SignalR with a Close message)',
      () => access.expiredCloses,
    );
    labelledCounter(
      r,
      'hub_inbound_limits_total',
      'Hub invocations refused by the inbound limit (refused) and hub connections closed for abusing it (closed)',
      'event',
      () => Object.entries(access.hubInboundLimits),
    );
    counter(
      r,
      'handshake_timeouts_total',
      'Connections closed for sending nothing within HANDSHAKE_TIMEOUT_MS',
      () => access.handshakeTimeouts,
    );
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

function gauge(r: Registry, name: string, help: string, read: () => number): void {
  const g: Gauge = new Gauge({
    name: `${P}${name}`,
    help,
    registers: [r],
    collect() {
      g.set(read());
    },
  });
}

function counter(r: Registry, name: string, help: string, read: () => number): void {
  let last = 0;
  const c: Counter = new Counter({
    name: `${P}${name}`,
    help,
    registers: [r],
    collect() {
      const value = read();
      if (value > last) c.inc(value - last);
      last = value;
    },
  });
}

/** A gauge with one label whose label values come and go (owned partitions): every scrape starts afresh. */
function labelledGauge(
  r: Registry,
  name: string,
  help: string,
  label: string,
  read: () => Iterable<readonly [string | number, number]>,
): void {
  const g: Gauge = new Gauge({
    name: `${P}${name}`,
    help,
    labelNames: [label],
    registers: [r],
    collect() {
      g.reset();
      for (const [key, value] of read()) g.set({ [label]: String(key) }, value);
    },
  });
}

/** A counter with one label, fed at scrape time from plain per-label totals kept by the hot path. */
function labelledCounter(
  r: Registry,
  name: string,
  help: string,
  label: string,
  read: () => Iterable<readonly [string | number, number]>,
): void {
  const last = new Map<string, number>();
  const c: Counter = new Counter({
    name: `${P}${name}`,
    help,
    labelNames: [label],
    registers: [r],
    collect() {
      for (const [key, value] of read()) {
        const k = String(key);
        c.inc({ [label]: k }, Math.max(0, value - (last.get(k) ?? 0)));
        last.set(k, value);
      }
    },
  });
}

/** Counts by key, summed over several sources (e.g. refused upgrades and refused negotiates by status). */
function sumEntries(...sources: Array<Record<string, number>>): Array<[string, number]> {
  const sum = new Map<string, number>();
  for (const source of sources)
    for (const [k, v] of Object.entries(source)) sum.set(k, (sum.get(k) ?? 0) + v);
  return [...sum];
}
