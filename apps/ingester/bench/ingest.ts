/**
 * Ingest benchmark: runs the real pipeline (market-sim → conflating buffer → batching kafkajs producer)
 * against KAFKA_BROKERS on a fresh topic, first paced at BENCH_RATE (does the ingester keep up without
 * folding?), then unpaced (how much can it publish?). Prints ticks/s, MB/s and latency percentiles and
 * writes a JSON result to bench-results/. The topic is deleted afterwards unless BENCH_KEEP_TOPIC=1.
 *
 *   KAFKA_BROKERS=127.0.0.1:19092 npm run bench:ingest
 *   BENCH_SECONDS (15 per phase) BENCH_RATE (100000; 0 skips the paced phase) BENCH_PHASES (paced,max)
 *   plus the ingester's own variables (KAFKA_ACKS, KAFKA_COMPRESSION, BATCH_MAX_MESSAGES, SIM_SYMBOLS, ...).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@tickhub/log';
import { Market } from '@tickhub/market-sim';
import { Kafka, logLevel } from 'kafkajs';
import { ConfigError, type IngesterConfig, loadConfig } from '../src/config';
import { errorText } from '../src/error-text';
import { IngesterMetrics } from '../src/metrics';
import { IngestPipeline } from '../src/pipeline';
import type { BatchAck } from '../src/publisher';
import { SimulatedMarketSource } from '../src/sim-source';
import type { TickSink, TickSource } from '../src/source';

/** Pushes ticks whenever the buffer has room: the producer, not a pacer, sets the rate. */
class UnpacedSource implements TickSource {
  private running = false;
  private done: Promise<void> | undefined;
  private readonly market: Market;
  produced = 0;

  constructor(seed: number, symbols: number, firstSeq: number) {
    this.market = new Market({ seed, symbols, firstSeq });
  }

  start(sink: TickSink): void {
    this.running = true;
    this.done = this.run(sink);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private async run(sink: TickSink): Promise<void> {
    while (this.running) {
      let pushed = 0;
      const now = Date.now();
      // One tick at a time so that nothing is ever folded: the buffer's room is the only limit.
      while (pushed < 20_000 && sink.hasRoom()) {
        sink.push(this.market.nextTick(now), now);
        pushed++;
      }
      this.produced += pushed;
      sink.flush();
      await new Promise<void>((resolve) => (pushed === 0 ? setTimeout(resolve, 1) : setImmediate(resolve)));
    }
  }
}

interface PhaseResult {
  phase: string;
  targetRate: number | null;
  seconds: number;
  generated: number;
  produced: number;
  folded: number;
  ticksPerSec: number;
  /** Ticks the source delivered per second (below the target when the pacer itself was starved of CPU). */
  offeredPerSec: number;
  mbPerSec: number;
  batches: number;
  avgBatch: number;
  sendLatencyMs: { p50: number; p90: number; p99: number; max: number };
  tickAgeAtAckMs: { p50: number; p99: number; max: number };
  bufferHighWater: number;
  rssMb: number;
  /** CPU time of this process (all threads) per second of wall time: 1 = one core busy. */
  cpuCores: number;
  /** Ticks published per CPU-second: the producer's efficiency, independent of other load. */
  ticksPerCpuSecond: number;
  loadAverage1m: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i]! * 100) / 100;
}

async function phase(
  name: string,
  config: IngesterConfig,
  seconds: number,
  rate: number,
): Promise<PhaseResult> {
  const log = createLogger({ app: 'ingester', level: config.logLevel });
  const metrics = new IngesterMetrics({ defaultMetrics: false });
  const source: TickSource =
    rate > 0
      ? new SimulatedMarketSource(
          {
            seed: config.seed,
            symbols: config.symbols,
            ratePerSec: rate,
            bursts: [],
            firstSeq: config.firstSeq,
          },
          log,
        )
      : new UnpacedSource(config.seed, config.symbols, config.firstSeq);
  const pipeline = new IngestPipeline(config, source, metrics, log);
  const acks: BatchAck[] = [];
  pipeline.publisher.onBatchAck = (ack) => acks.push(ack);
  await pipeline.start();
  // The first second warms up the JIT and the connections; measure after it.
  await new Promise((r) => setTimeout(r, 1000));
  const startAcks = acks.length;
  const startProduced = pipeline.publisher.produced;
  const startGenerated = pipeline.buffer.accepted;
  const startFolded = pipeline.buffer.folded;
  const started = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let rss = 0;
  const sampler = setInterval(() => {
    rss = Math.max(rss, process.memoryUsage.rss());
  }, 250);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const produced = pipeline.publisher.produced - startProduced;
  const generated = pipeline.buffer.accepted - startGenerated;
  const folded = pipeline.buffer.folded - startFolded;
  const window = acks.slice(startAcks);
  clearInterval(sampler);
  const summary = await pipeline.stop();
  const bytes = window.reduce((s, a) => s + a.bytes, 0);
  const send = window.map((a) => a.sendMs).sort((a, b) => a - b);
  const age = window.map((a) => a.ackedAt - a.oldestProducedAt).sort((a, b) => a - b);
  return {
    phase: name,
    targetRate: rate > 0 ? rate : null,
    seconds: Math.round(elapsed * 10) / 10,
    generated,
    produced,
    folded,
    ticksPerSec: Math.round(produced / elapsed),
    offeredPerSec: Math.round(generated / elapsed),
    mbPerSec: Math.round((bytes / elapsed / 1e6) * 100) / 100,
    batches: window.length,
    avgBatch: window.length === 0 ? 0 : Math.round(produced / window.length),
    sendLatencyMs: {
      p50: percentile(send, 50),
      p90: percentile(send, 90),
      p99: percentile(send, 99),
      max: percentile(send, 100),
    },
    tickAgeAtAckMs: { p50: percentile(age, 50), p99: percentile(age, 99), max: percentile(age, 100) },
    bufferHighWater: summary.bufferHighWater,
    rssMb: Math.round(rss / 1e6),
    cpuCores: Math.round((cpuSeconds / elapsed) * 100) / 100,
    ticksPerCpuSecond: Math.round(produced / cpuSeconds),
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

function print(r: PhaseResult): void {
  const target =
    r.targetRate === null
      ? 'unpaced'
      : `target ${r.targetRate.toLocaleString('en-US')}/s, offered ${r.offeredPerSec.toLocaleString('en-US')}/s`;
  process.stdout.write(
    `${r.phase.padEnd(6)} ${target}: ${r.ticksPerSec.toLocaleString('en-US')} ticks/s, ${r.mbPerSec} MB/s, ` +
      `${r.batches} requests (avg ${r.avgBatch}), send latency p50 ${r.sendLatencyMs.p50} ms / p99 ${r.sendLatencyMs.p99} ms, ` +
      `tick age at ack p50 ${r.tickAgeAtAckMs.p50} ms / p99 ${r.tickAgeAtAckMs.p99} ms, folded ${r.folded}, rss ${r.rssMb} MB, ` +
      `cpu ${r.cpuCores} cores (${r.ticksPerCpuSecond.toLocaleString('en-US')} ticks per cpu-second), load ${r.loadAverage1m}\n`,
  );
}

function benchInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return fallback;
  if (!/^\d+$/.test(v.trim()))
    throw new ConfigError([
      { variable: name, message: `${name} must be a non-negative integer, got "${v}"` },
    ]);
  return Number(v);
}

async function main(): Promise<void> {
  const env = { ...process.env };
  env.KAFKA_TOPIC ??= `bench.ticks.${Date.now()}`;
  env.LOG_LEVEL ??= 'warn';
  const base = loadConfig(env);
  const seconds = benchInt('BENCH_SECONDS', 15);
  const rate = benchInt('BENCH_RATE', 100_000);
  const phases = (process.env.BENCH_PHASES ?? 'paced,max').split(',').map((p) => p.trim());
  process.stdout.write(
    `ingest bench: brokers ${base.brokers.join(',')}, topic ${base.topic} (${base.partitions} partitions), acks ${base.acks}, ` +
      `compression ${base.compression}, batch ≤${base.batchMaxMessages}/${base.batchLingerMs} ms, ${base.producers} producer lane(s), ` +
      `produced-at header ${base.producedAtHeader ? 'on' : 'off'}, ` +
      `${base.symbols} symbols, ` +
      `${seconds} s per phase, ${os.cpus().length} cpus\n`,
  );
  const results: PhaseResult[] = [];
  try {
    if (phases.includes('paced') && rate > 0) {
      const r = await phase('paced', base, seconds, rate);
      print(r);
      results.push(r);
    }
    if (phases.includes('max')) {
      // A few batches of room: enough to keep the producer busy, small enough that the tick age at
      // acknowledgement measures the pipeline rather than a deliberately full buffer.
      const bufferMaxTicks = process.env.BUFFER_MAX_TICKS ? base.bufferMaxTicks : 4 * base.batchMaxMessages;
      const r = await phase('max', { ...base, bufferMaxTicks }, seconds, 0);
      print(r);
      results.push(r);
    }
  } finally {
    if (process.env.BENCH_KEEP_TOPIC !== '1') {
      const admin = new Kafka({ brokers: base.brokers, logLevel: logLevel.NOTHING }).admin();
      await admin
        .connect()
        .then(() => admin.deleteTopics({ topics: [base.topic] }))
        .catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  }
  // Built to bench/dist/bench/: the results go to the ingester's folder.
  const dir = path.resolve(__dirname, '..', '..', '..', 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `ingest-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const record = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    brokers: base.brokers,
    partitions: base.partitions,
    acks: base.acks,
    compression: base.compression,
    batchMaxMessages: base.batchMaxMessages,
    batchLingerMs: base.batchLingerMs,
    producers: base.producers,
    producedAtHeader: base.producedAtHeader,
    symbols: base.symbols,
    results,
  };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  process.stdout.write(`result written to ${path.relative(process.cwd(), file)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench:ingest: ${errorText(err)}\n`);
    process.exit(1);
  },
);
