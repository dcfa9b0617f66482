/**
 * A single-node KRaft broker this test suite owns, which can be stopped and started again on the same
 * ports with the same data directory (so topics and their records survive the outage). Built from the
 * same jar cache and settings as test/services/kafka.mjs.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from './ingester-process';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const WATCHDOG = path.join(REPO_ROOT, 'test', 'services', 'watchdog.mjs');

function libsDir(): string {
  const pom = readFileSync(path.join(REPO_ROOT, 'test', 'services', 'kafka', 'pom.xml'), 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1]?.trim();
  if (version === undefined) throw new Error('no <kafka.version> in test/services/kafka/pom.xml');
  const cache = process.env.TICKHUB_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'tickhub');
  const libs = path.join(cache, `kafka-${version}`, 'libs');
  if (!existsSync(libs)) {
    throw new Error(
      `Kafka jars missing in ${libs}: run \`node test/services/kafka.mjs start\` once to resolve them`,
    );
  }
  return libs;
}

async function answers(brokers: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'ingester-test-probe',
    brokers: [brokers],
    connectionTimeout: 2000,
    requestTimeout: 3000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export class RestartableKafka {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly brokers: string,
    private readonly dir: string,
    private readonly args: string[],
  ) {}

  static async create(): Promise<RestartableKafka> {
    const libs = libsDir();
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tickhub-ingester-kafka-'));
    const props = path.join(dir, 'server.properties');
    writeFileSync(
      props,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        'inter.broker.listener.name=PLAINTEXT',
        `log.dirs=${path.join(dir, 'data')}`,
        'num.partitions=1',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=4',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'transaction.state.log.num.partitions=4',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        'group.initial.rebalance.delay.ms=0',
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(dir, 'log4j2.xml'),
      `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders><File name="server" fileName="${path.join(dir, 'server.log')}" append="true">
    <PatternLayout pattern="[%d{ISO8601}] %p %m (%c{1.})%n"/></File></Appenders>
  <Loggers><Root level="warn"><AppenderRef ref="server"/></Root></Loggers>
</Configuration>
`,
    );
    const jvm = [
      '-Xms128m',
      '-Xmx384m',
      '-XX:+UseG1GC',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      '-Djava.net.preferIPv4Stack=true',
      `-Dlog4j2.configurationFile=${path.join(dir, 'log4j2.xml')}`,
      `-Dkafka.logs.dir=${dir}`,
      '-cp',
      `${libs}${path.sep}*`,
    ];
    const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');
    const format = spawnSync(
      'java',
      [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props],
      {
        cwd: dir,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    if (format.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`kafka storage format failed: ${format.stderr || format.stdout}`);
    }
    return new RestartableKafka(`127.0.0.1:${port}`, dir, [...jvm, 'kafka.Kafka', props]);
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the broker and resolves once it answers a metadata request. */
  async start(timeoutMs = 120_000): Promise<void> {
    if (this.child !== undefined) return;
    const out = openSync(path.join(this.dir, 'stdout.log'), 'a');
    // Its own process group, watched by the launchers' watchdog: if this test process dies without
    // stopping the broker, the watchdog stops it and removes its directory.
    const child = spawn('java', this.args, { cwd: this.dir, stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    this.child = child;
    if (child.pid !== undefined) {
      spawn(process.execPath, [WATCHDOG, String(process.pid), String(child.pid), this.dir], {
        detached: true,
        stdio: 'ignore',
      }).unref();
    }
    let gone = false;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        gone = true;
        resolve();
      });
    });
    const deadline = Date.now() + timeoutMs;
    while (!(await answers(this.brokers))) {
      if (gone) throw new Error(`kafka exited during start-up; see ${this.dir}/server.log`);
      if (Date.now() > deadline)
        throw new Error(`kafka did not answer at ${this.brokers} in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  /** Controlled shutdown (SIGTERM), SIGKILL after `graceMs`. The data directory is kept. */
  async stop(graceMs = 30_000): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop(10_000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
