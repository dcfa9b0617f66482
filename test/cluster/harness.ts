// A small tickhub deployment on loopback for the cluster tests: a private redis-server, the ingester
// writing to a fresh topic of the real Kafka, several gateway processes sharing a consumer group and
// the Redis backplane, and nginx in front of them with the shipped configuration.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { QuoteUpdate } from '@tickhub/protocol';
import { freePort, type GatewayProcess, IngesterProcess, startGateway } from '@tickhub/testkit';
import { Kafka, logLevel } from 'kafkajs';
import WebSocket from 'ws';

const ROOT = path.resolve(__dirname, '..', '..');
export const NGINX_DIR = path.join(ROOT, 'docker', 'nginx');
const KAFKA_LAUNCHER = path.join(ROOT, 'test', 'services', 'kafka.mjs');
const REDIS_LAUNCHER = path.join(ROOT, 'test', 'services', 'redis.mjs');
const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The broker list of the real Kafka; the test fails (never skips) without it. */
export function kafkaBrokers(): string {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) {
    throw new Error('KAFKA_BROKERS is not set: the cluster tests need a real Kafka (npm test starts one)');
  }
  return brokers;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portAnswers(port))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

async function stopProcess(proc: ChildProcess, graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited(proc);
  clearTimeout(timer);
}

/**
 * One of the project's service launchers (`test/services/<service>.mjs run …`) as a child process:
 * `ready(marker)` resolves once it prints `marker` (its connection line) and rejects with its output
 * if it exits first; `serverPid()` is the server's pid from its "started … (pid N" line.
 */
function launch(launcher: string, args: string[]) {
  const proc = spawn(process.execPath, [launcher, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  proc.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  let gone = false;
  void exited(proc).then(() => {
    gone = true;
  });
  return {
    proc,
    serverPid: () => Number(/started .*?\(pid (\d+)/.exec(out)?.[1] ?? 0),
    async ready(marker: string, timeoutMs: number, what: string): Promise<void> {
      await waitFor(() => gone || out.includes(marker), timeoutMs, what);
      if (gone) throw new Error(`${path.basename(launcher)} ${args.join(' ')} exited:\n${out}`);
    },
  };
}

/** kill -9 of a server's process group (the launchers start each server in a group of its own). */
function killGroup(pid: number): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * A private redis-server without persistence that can be killed and started again on its port:
 * `redis.mjs run`, the project's one Redis launcher, so kill() is a crash (SIGKILL of redis-server).
 */
export class RedisServer {
  private launcher: ChildProcess | undefined;
  private serverPid = 0;
  /** When the port last began to accept connections: "back" for the clients. */
  listeningAt = 0;
  private constructor(
    readonly port: number,
    private readonly extraArgs: string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.startAgain();
    return server;
  }

  /** A node of a Redis Cluster: its cluster state (nodes-PORT.conf) lives in `dir` and survives a kill. */
  static async startClusterNode(dir: string): Promise<RedisServer> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = await freePort();
      // The cluster bus listens on port + 10000.
      if (port + 10_000 > 65_535 || (await portAnswers(port + 10_000))) continue;
      const args = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir];
      const server = new RedisServer(port, args);
      await server.startAgain();
      return server;
    }
    throw new Error('no free port pair for a Redis Cluster node');
  }

  /** Starts redis-server (again) on its port; resolves once it answers PING. */
  async startAgain(): Promise<void> {
    const run = launch(REDIS_LAUNCHER, ['run', '--port', String(this.port), '--', ...this.extraArgs]);
    this.launcher = run.proc;
    this.listeningAt = 0;
    const listening = waitPort(this.port, 20_000, `redis-server on port ${this.port}`).then(
      () => {
        this.listeningAt = Date.now();
      },
      () => undefined, // ready() below says why
    );
    await run.ready('REDIS_URL=', 20_000, `redis-server on port ${this.port}`);
    await listening;
    this.serverPid = run.serverPid();
  }

  /** kill -9 of redis-server, then its launcher is stopped; a cluster node's state dir stays. */
  async kill(): Promise<void> {
    killGroup(this.serverPid);
    this.serverPid = 0;
    await this.stop();
  }

  /** One command through redis-cli (e.g. PUBSUB NUMSUB); the reply lines. */
  cli(...args: string[]): string[] {
    return execFileSync('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8' })
      .trim()
      .split('\n');
  }

  async stop(): Promise<void> {
    if (this.launcher) await stopProcess(this.launcher, 10_000);
    this.launcher = undefined;
  }
}

/**
 * A broker of its own for tests that kill it: `kafka.mjs run` on fixed ports with a data dir that
 * outlives it, so kill() is a crash (SIGKILL of the JVM) and restart() brings the same broker back.
 */
export class PrivateKafka {
  private launcher: ChildProcess | undefined;
  private jvmPid = 0;
  /** When the broker's port last began to accept connections: "back" for the clients. */
  listeningAt = 0;

  private constructor(
    readonly port: number,
    readonly controllerPort: number,
    readonly dataDir: string,
  ) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateKafka> {
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    const kafka = new PrivateKafka(
      port,
      controllerPort,
      mkdtempSync(path.join(os.tmpdir(), 'tickhub-faults-kafka-')),
    );
    await kafka.restart();
    return kafka;
  }

  /** Starts the broker (again) and resolves once it answers with its coordinators loaded. */
  async restart(timeoutMs = 90_000): Promise<void> {
    const ports = ['--port', String(this.port), '--controller-port', String(this.controllerPort)];
    const run = launch(KAFKA_LAUNCHER, ['run', ...ports, '--data-dir', this.dataDir]);
    this.launcher = run.proc;
    this.listeningAt = 0;
    void waitPort(this.port, timeoutMs, 'the broker port').then(
      () => {
        this.listeningAt = Date.now();
      },
      () => undefined,
    );
    await run.ready('KAFKA_BROKERS=', timeoutMs, `the broker at ${this.brokers}`);
    this.jvmPid = run.serverPid();
  }

  /** kill -9 of the broker's JVM; its launcher is then stopped, the data dir stays. */
  async kill(): Promise<void> {
    killGroup(this.jvmPid);
    this.jvmPid = 0;
    if (this.launcher) await stopProcess(this.launcher, 20_000);
    this.launcher = undefined;
  }

  async stop(): Promise<void> {
    if (this.launcher) await stopProcess(this.launcher, 20_000);
    this.launcher = undefined;
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Three masters without replicas, slots spread by `redis-cli --cluster create`. */
export class RedisCluster {
  private constructor(
    readonly nodes: RedisServer[],
    private readonly dir: string,
  ) {}

  /** REDIS_URL for the gateways (with REDIS_CLUSTER=true): the seed nodes. */
  get url(): string {
    return `redis://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  static async start(): Promise<RedisCluster> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tickhub-redis-cluster-'));
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < 3; i++) nodes.push(await RedisServer.startClusterNode(dir));
      execFileSync(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...nodes.map((n) => `127.0.0.1:${n.port}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ],
        { stdio: 'ignore' },
      );
      const cluster = new RedisCluster(nodes, dir);
      await cluster.untilOk(30_000);
      return cluster;
    } catch (error) {
      for (const n of nodes) await n.kill();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Waits until every running node reports cluster_state:ok. */
  async untilOk(timeoutMs: number): Promise<void> {
    await waitFor(
      () => this.nodes.every((n) => n.cli('CLUSTER', 'INFO').some((l) => l.startsWith('cluster_state:ok'))),
      timeoutMs,
      'cluster_state:ok on every node',
    );
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Ingester {
  proc: ChildProcess;
  logs: string[];
  /** The ops port (/health/ready, /metrics). */
  httpPort: number;
  stop(): Promise<void>;
}

/** The built ingester (`node apps/ingester/dist/main.js`), started once the topic exists. */
export async function startIngester(env: Record<string, string>): Promise<Ingester> {
  const ingester = new IngesterProcess({ INGESTER_HTTP_PORT: '0', INGESTER_HTTP_HOST: '127.0.0.1', ...env });
  try {
    await ingester.waitForLog((l) => l.msg === 'ingester started', 60_000, 'the ingester to start');
    const httpPort = await ingester.httpPort();
    return {
      proc: ingester.child,
      logs: ingester.lines,
      httpPort,
      stop: async () => void (await ingester.stop()),
    };
  } catch (error) {
    ingester.kill();
    throw error;
  }
}

/** A gateway of the deployment, named by its GATEWAY_ID. */
export type GatewayPod = GatewayProcess & { readonly id: string };

/** The built gateway with id `id` on a free loopback port, once ready; embedded unless `env` names the services. */
export async function startPod(id: string, env: Record<string, string>): Promise<GatewayPod> {
  const gateway = await startGateway({ GATEWAY_ID: id, ...env });
  return Object.assign(gateway, { id });
}

export async function isReady(http: string): Promise<boolean> {
  const res = await fetch(`${http}/health/ready`).catch(() => undefined);
  return res?.status === 200;
}

/** The series of a Prometheus metric of one pod whose labels contain `labels`: value by label text. */
export async function metricSeries(http: string, name: string, labels = ''): Promise<Map<string, number>> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    const end = line.lastIndexOf(' ');
    series.set(line.slice(name.length, end), Number(line.slice(end + 1)));
  }
  return series;
}

/** The sum of a Prometheus metric of one pod, over its series whose labels contain `labels`. */
export async function metric(http: string, name: string, labels = ''): Promise<number> {
  const series = await metricSeries(http, name, labels);
  if (series.size === 0) throw new Error(`metric ${name}${labels} not found`);
  return [...series.values()].reduce((a, b) => a + b, 0);
}

export interface FeedMessage {
  type: string;
  id?: string;
  server?: string;
  symbol?: string;
  symbols?: string[];
  seq?: number;
  updates?: QuoteUpdate[];
}

/** A native /ws client (JSON) that records every message with its arrival time. */
export class FeedClient {
  readonly messages: Array<{ at: number; msg: FeedMessage }> = [];
  readonly ws: WebSocket;
  readonly closed: Promise<number>;
  server = '';

  private constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
    this.ws.on('message', (data: Buffer) => {
      this.messages.push({ at: Date.now(), msg: JSON.parse(data.toString()) as FeedMessage });
    });
  }

  /** Connects and waits for the welcome, which names the pod that serves the connection. */
  static async open(url: string): Promise<FeedClient> {
    const c = new FeedClient(url);
    await new Promise<void>((resolve, reject) => {
      c.ws.once('open', () => resolve());
      c.ws.once('error', reject);
    });
    c.server = (await c.next((m) => m.type === 'welcome')).server ?? '';
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  async next(match: (m: FeedMessage) => boolean, timeoutMs = 10_000, from = 0): Promise<FeedMessage> {
    let found: FeedMessage | undefined;
    await waitFor(
      () => {
        for (let i = from; i < this.messages.length && !found; i++) {
          if (match(this.messages[i]!.msg)) found = this.messages[i]!.msg;
        }
        return found !== undefined;
      },
      timeoutMs,
      'a matching message',
    );
    return found!;
  }

  close(): void {
    this.ws.terminate();
  }
}

export interface SeqEvent {
  at: number;
  seq: number;
  kind: 'snapshot' | 'update';
}

/** Every snapshot and update of a symbol on one connection, in arrival order. */
export function events(client: FeedClient, symbol: string): SeqEvent[] {
  const out: SeqEvent[] = [];
  for (const { at, msg } of client.messages) {
    if (msg.type === 'snapshot' && msg.symbol === symbol) out.push({ at, seq: msg.seq!, kind: 'snapshot' });
    else if (msg.type === 'ticks') {
      for (const u of msg.updates ?? [])
        if (u.symbol === symbol) out.push({ at, seq: u.seq, kind: 'update' });
    }
  }
  return out;
}

/**
 * PROTOCOL.md rule 4 on one connection: updates strictly increase and a snapshot never goes back; the
 * places where it does not, as readable lines.
 */
export function seqRegressions(
  client: FeedClient,
  symbols: string[],
  floor = new Map<string, number>(),
): string[] {
  const found: string[] = [];
  for (const symbol of symbols) {
    let last = floor.get(symbol) ?? -1;
    for (const e of events(client, symbol)) {
      if (e.kind === 'update' ? e.seq <= last : e.seq < last)
        found.push(`${symbol}: seq went from ${last} to ${e.seq} (${e.kind}) on ${client.server}`);
      last = e.seq;
    }
  }
  return found;
}

export interface Nginx {
  port: number;
  dir: string;
  proc: ChildProcess;
  logs: string[];
  stop(): Promise<void>;
}

/** tickhub-pods.conf for these pods, written by the shipped render-pods.sh. */
export function renderPods(pods: Array<{ id: string; port: number }>): string {
  return execFileSync(
    'sh',
    [path.join(NGINX_DIR, 'render-pods.sh'), ...pods.map((p) => `${p.id}=127.0.0.1:${p.port}`)],
    { encoding: 'utf8' },
  );
}

/**
 * The shipped nginx.conf in a temp dir, listening on a free loopback port, with temp paths inside
 * that dir (as root, workers run as root so they can use them).
 */
export function nginxConfig(pods: Array<{ id: string; port: number }>, port: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tickhub-nginx-'));
  const shipped = readFileSync(path.join(NGINX_DIR, 'nginx.conf'), 'utf8');
  if (!shipped.includes('listen 8080;') || !shipped.includes('http {')) {
    throw new Error('docker/nginx/nginx.conf no longer has "listen 8080;" and "http {"');
  }
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `    ${t}_temp_path ${path.join(dir, t)};`)
    .join('\n');
  const conf = shipped
    .replace('listen 8080;', `listen 127.0.0.1:${port};`)
    .replace('http {', `http {\n${temp}`)
    .replace('worker_processes auto;', 'worker_processes 1;');
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  writeFileSync(path.join(dir, 'tickhub-pods.conf'), renderPods(pods));
  return dir;
}

function nginxGlobals(dir: string): string {
  const user = process.getuid?.() === 0 ? 'user root; ' : '';
  return `daemon off; ${user}pid ${path.join(dir, 'nginx.pid')};`;
}

/** `nginx -t` of a config directory made by nginxConfig; the output. */
export function nginxTest(dir: string): string {
  return execFileSync(NGINX, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', nginxGlobals(dir)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function startNginx(pods: Array<{ id: string; port: number }>): Promise<Nginx> {
  const port = await freePort();
  const dir = nginxConfig(pods, port);
  const proc = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', nginxGlobals(dir)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const collect = (chunk: Buffer) => {
    if (logs.length < 2000) logs.push(chunk.toString());
  };
  proc.stdout!.on('data', collect);
  proc.stderr!.on('data', collect);
  proc.once('error', (error) => logs.push(String(error)));
  await waitPort(port, 15_000, `nginx on port ${port}: ${logs.join('')}`);
  return {
    port,
    dir,
    proc,
    logs,
    async stop() {
      await stopProcess(proc, 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Deployment {
  run: string;
  topic: string;
  redis: RedisServer;
  keyPrefix: string;
  ingester: Ingester;
  pods: GatewayPod[];
  nginx: Nginx;
  /** Stops the ingester (SIGTERM), waits `downMs`, starts it again with the same settings. */
  restartIngester(downMs: number): Promise<Ingester>;
  /** Stops pod `index` (SIGTERM, a drain) and starts it again with its id and settings, on a new port nginx is not told of. */
  restartPod(index: number): Promise<GatewayPod>;
  stop(): Promise<void>;
}

export const SYMBOLS = 12;

/** KAFKA_SESSION_TIMEOUT_MS of a deployment's pods: the stock broker's lowest (the shared test broker allows less). */
export const DEPLOYMENT_SESSION_TIMEOUT_MS = 6000;

/** Starts Redis, the ingester on a new 6-partition topic, `podCount` gateways (`podSettings` on top) and nginx. */
export async function startDeployment(
  podCount = 3,
  tickRate = 600,
  podSettings: Record<string, string> = {},
): Promise<Deployment> {
  const brokers = kafkaBrokers();
  const run = randomBytes(3).toString('hex');
  const topic = `cluster-${run}`;
  const keyPrefix = `tickhub-cluster-${run}:`;
  const started: Array<{ stop(): Promise<unknown> }> = [];
  try {
    const redis = await RedisServer.start();
    started.push(redis);
    const ingesterEnv = {
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC: topic,
      KAFKA_PARTITIONS: '6',
      TICK_RATE: String(tickRate),
      SIM_SYMBOLS: String(SYMBOLS),
      LOG_LEVEL: 'info',
    };
    const ingester = await startIngester(ingesterEnv);
    started.push(ingester);
    const podEnv = {
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: `gateway-${run}`,
      KAFKA_SESSION_TIMEOUT_MS: String(DEPLOYMENT_SESSION_TIMEOUT_MS),
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: keyPrefix,
      SIM_SYMBOLS: String(SYMBOLS),
      DRAIN_GRACE_MS: '4000',
      ...podSettings,
    };
    const pods = await Promise.all(
      Array.from({ length: podCount }, async (_, i) => {
        const gw = await startPod(`gw${i + 1}-${run}`, podEnv);
        started.push(gw);
        return gw;
      }),
    );
    const nginx = await startNginx(pods.map((p) => ({ id: p.id, port: p.port })));
    started.push(nginx);
    const deployment: Deployment = {
      run,
      topic,
      redis,
      keyPrefix,
      ingester,
      pods,
      nginx,
      async restartIngester(downMs) {
        const old = deployment.ingester;
        await old.stop();
        await new Promise((r) => setTimeout(r, downMs));
        const fresh = await startIngester(ingesterEnv);
        started[started.indexOf(old)] = fresh;
        deployment.ingester = fresh;
        return fresh;
      },
      async restartPod(index) {
        const old = deployment.pods[index]!;
        await old.stop();
        const fresh = await startPod(old.id, podEnv);
        started[started.indexOf(old)] = fresh;
        deployment.pods[index] = fresh;
        return fresh;
      },
      async stop() {
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
        await deleteTopic(brokers, topic);
      },
    };
    return deployment;
  } catch (error) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    await deleteTopic(brokers, topic);
    throw error;
  }
}

/** Removes the run's topic from the shared broker (best effort). */
async function deleteTopic(brokers: string, topic: string): Promise<void> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: [topic], timeout: 5000 });
  } catch {
    // A topic that was never created, or a broker that is gone: nothing to clean.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
