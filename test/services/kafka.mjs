// Starts a real single-node Apache Kafka (KRaft, broker + controller in one JVM) on free loopback
// ports, from jars that Maven resolves once into a cache. No Kafka distribution or container needed.
//
//   import { startKafka } from './kafka.mjs';
//   const kafka = await startKafka();   // { brokers: '127.0.0.1:PORT', pid, stop() }
//
//   node test/services/kafka.mjs start [--port N] [--log-dir D]   background broker, prints KAFKA_BROKERS
//   node test/services/kafka.mjs run   [--port N] [--log-dir D]   foreground, Ctrl-C stops it
//     --controller-port N --data-dir D: a broker killed outright (kill -9 of its JVM) is started
//     again with the same options and continues from its data (topics, offsets, groups)
//   node test/services/kafka.mjs stop  [--port N | --all]
//   node test/services/kafka.mjs status
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  abortError,
  freePort,
  importInstalled,
  isAlive,
  log,
  portFree,
  removeDir,
  run as runCommand,
  SERVICES_DIR,
  ServiceError,
  seconds,
  sleep,
  startWatchdog,
  stopProcessGroup,
  tail,
  untilStopSignal,
  which,
} from './lib.mjs';

const POM = path.join(SERVICES_DIR, 'kafka', 'pom.xml');
const CACHE_ROOT = process.env.TICKHUB_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'tickhub');
const RUN_DIR = path.join(CACHE_ROOT, 'run');
const MARKER = '.tickhub-complete.json';
const MAVEN_TIMEOUT_MS = 10 * 60_000;
const LOCK_STALE_MS = 15 * 60_000;

export function kafkaVersion() {
  const match = readFileSync(POM, 'utf8').match(/<kafka\.version>([^<]+)<\/kafka\.version>/);
  if (!match) throw new ServiceError(`no <kafka.version> in ${POM}`);
  return match[1].trim();
}

export function kafkaLibsDir(version = kafkaVersion()) {
  return path.join(CACHE_ROOT, `kafka-${version}`, 'libs');
}

// Comments and layout do not change what Maven resolves, so they do not invalidate the cache.
function pomHash() {
  const pom = readFileSync(POM, 'utf8')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\s+/g, ' ');
  return createHash('sha256').update(pom).digest('hex');
}

/** True when the cache holds every jar the current pom.xml resolved to, so no Maven run is needed. */
export function kafkaLibsCached(libs = kafkaLibsDir()) {
  try {
    const marker = JSON.parse(readFileSync(path.join(libs, MARKER), 'utf8'));
    return (
      marker.pom === pomHash() &&
      marker.jars.length > 0 &&
      marker.jars.every((jar) => existsSync(path.join(libs, jar)))
    );
  } catch {
    return false;
  }
}

/** The java launcher: $JAVA_HOME/bin/java when JAVA_HOME is set, else java on PATH. */
function javaBinary() {
  const home = process.env.JAVA_HOME;
  if (home && existsSync(path.join(home, 'bin', 'java'))) return path.join(home, 'bin', 'java');
  return which('java');
}

/** Names the programs that are missing for starting a broker, or [] when it can start. */
export function kafkaPrerequisites() {
  const missing = [];
  if (!javaBinary()) missing.push('java (a JDK or JRE 17+ on PATH or in JAVA_HOME)');
  if (!kafkaLibsCached() && !which('mvn')) {
    missing.push(`mvn (Apache Maven on PATH, needed once to resolve the Kafka jars into ${kafkaLibsDir()})`);
  }
  return missing;
}

async function withResolveLock(lockDir, fn) {
  const deadline = Date.now() + MAVEN_TIMEOUT_MS + 60_000;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // Another launcher is resolving; take the lock over only if its owner is gone.
      const owner = Number(await readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => '0'));
      const age = Date.now() - (await stat(lockDir).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if ((owner && !isAlive(owner)) || age > LOCK_STALE_MS) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new ServiceError(`timed out waiting for ${lockDir} (held by pid ${owner})`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/**
 * Makes sure the jar cache matches pom.xml, running Maven only when it does not. Jars are moved
 * into place one by one under their stable names, so a broker already running from the cache
 * keeps working while it is refreshed.
 */
export async function ensureKafkaLibs({ quiet = false } = {}) {
  const libs = kafkaLibsDir();
  if (kafkaLibsCached(libs)) return { libs, resolved: false };
  const mvn = which('mvn');
  if (!mvn) throw new ServiceError(`cannot start Kafka: missing ${kafkaPrerequisites().join(', ')}`);
  const home = path.dirname(libs);
  await mkdir(home, { recursive: true });
  return withResolveLock(path.join(home, '.resolve.lock'), async () => {
    if (kafkaLibsCached(libs)) return { libs, resolved: false };
    const started = Date.now();
    if (!quiet) log(`kafka: resolving Kafka ${kafkaVersion()} jars with Maven into ${libs} (one time)`);
    const staging = await mkdtemp(path.join(home, 'libs.staging-'));
    try {
      const result = await runCommand(
        mvn,
        [
          '-q',
          '-B',
          '-f',
          POM,
          'dependency:copy-dependencies',
          `-DoutputDirectory=${staging}`,
          '-DincludeScope=runtime',
        ],
        { timeoutMs: MAVEN_TIMEOUT_MS },
      );
      const jars = (await readdir(staging)).filter((name) => name.endsWith('.jar')).sort();
      if (result.code !== 0 || jars.length === 0) {
        throw new ServiceError(
          `Maven could not resolve the Kafka jars (exit ${result.code}); is Maven Central reachable?`,
          result.output.split('\n').slice(-30).join('\n'),
        );
      }
      await mkdir(libs, { recursive: true });
      for (const jar of jars) await rename(path.join(staging, jar), path.join(libs, jar));
      for (const name of await readdir(libs)) {
        if (name.endsWith('.jar') && !jars.includes(name)) await unlink(path.join(libs, name));
      }
      await writeFile(path.join(libs, MARKER), `${JSON.stringify({ pom: pomHash(), jars }, null, 1)}\n`);
      if (!quiet) log(`kafka: resolved ${jars.length} jars in ${seconds(Date.now() - started)}`);
      return { libs, resolved: true };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  });
}

// A KRaft cluster id is a random 128-bit UUID in URL-safe base64 without padding; Kafka rejects ids
// starting with '-'. Generating it here saves a JVM start (StorageTool random-uuid).
function clusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties({ port, controllerPort, dataDir, partitions }) {
  return `${[
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${dataDir}`,
    `num.partitions=${partitions}`,
    'default.replication.factor=1',
    'auto.create.topics.enable=true',
    // Single node: every internal topic has one replica. Few partitions keep the first group join
    // and the first transaction fast on a small machine.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=4',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'share.coordinator.state.topic.num.partitions=4',
    // A group that has no member (a new one, or every member forgotten by a restarted broker) waits
    // 1 s for more joiners before its first assignment, so the pods coming back after a broker restart
    // rejoin in one rebalance (0 made one per pod); Kafka's default of 3 s would delay their return.
    'group.initial.rebalance.delay.ms=1000',
    // The gateways run 3 s sessions so that a dead pod's partitions move within seconds; Kafka's
    // default minimum (6 s) would refuse them.
    'group.min.session.timeout.ms=1000',
    'log.segment.bytes=67108864',
  ].join('\n')}\n`;
}

// Kafka 4.x logs through SLF4J 1.7 → log4j-slf4j-impl → Log4j 2. INFO from the broker's own
// lifecycle goes to server.log (shown when start-up fails); per-partition and request chatter is muted.
function log4jConfig(logDir) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <File name="server" fileName="${path.join(logDir, 'server.log')}" append="true">
      <PatternLayout pattern="[%d{ISO8601}] %p %m (%c{1.})%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="warn"/>
    <Logger name="state.change.logger" level="warn"/>
    <Logger name="kafka.log" level="warn"/>
    <Logger name="org.apache.kafka.storage" level="warn"/>
    <Logger name="kafka.cluster" level="warn"/>
    <Logger name="org.apache.kafka.clients" level="warn"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="warn"/>
    <Logger name="org.apache.kafka.common.config" level="warn"/>
    <Root level="info"><AppenderRef ref="server"/></Root>
  </Loggers>
</Configuration>
`;
}

function jvmArgs({ libs, logDir }) {
  return [
    '-Xms128m',
    `-Xmx${process.env.TICKHUB_KAFKA_HEAP ?? '512m'}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    '-Djava.net.preferIPv4Stack=true',
    `-Dlog4j2.configurationFile=${path.join(logDir, 'log4j2.xml')}`,
    `-Dkafka.logs.dir=${logDir}`,
    '-cp',
    `${libs}${path.sep}*`,
  ];
}

function kafkajs() {
  return importInstalled('kafkajs');
}

/** Resolves true when a broker answers a metadata request (DescribeCluster) within `timeoutMs`. */
export async function kafkaAnswers(brokers, timeoutMs = 5000) {
  return (await describeKafka(brokers, timeoutMs)) !== undefined;
}

/** The cluster id reported by the brokers, or undefined when they do not answer within `timeoutMs`. */
export async function describeKafka(brokers, timeoutMs = 5000) {
  const { Kafka, logLevel } = await kafkajs();
  const admin = new Kafka({
    clientId: 'tickhub-services-probe',
    brokers: brokers.split(',').map((b) => b.trim()),
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  let timer;
  try {
    const probe = (async () => {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 ? cluster.clusterId : undefined;
    })();
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    return await Promise.race([probe.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Creates the group-offset and transaction-state topics and waits until their coordinators have
 * loaded, so that the first consumer group join and the first idempotent producer of a test do
 * not meet "coordinator not available / loading" errors on a fresh broker.
 */
async function warmUp(brokers, timeoutMs) {
  const { Kafka, logLevel } = await kafkajs();
  const kafka = new Kafka({
    clientId: 'tickhub-services-warmup',
    brokers: [brokers],
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  let timer;
  try {
    const work = (async () => {
      await admin.connect();
      await admin.describeGroups(['tickhub-services-warmup']);
      await producer.connect();
    })();
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new ServiceError(`Kafka coordinators not ready within ${seconds(timeoutMs)}`)),
        timeoutMs,
      );
    });
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

function failureLog(logDir) {
  const server = tail(path.join(logDir, 'server.log'), 40);
  const stdout = tail(path.join(logDir, 'stdout.log'), 20);
  return [
    server && `--- ${path.join(logDir, 'server.log')} (tail) ---\n${server}`,
    stdout.trim() && `--- ${path.join(logDir, 'stdout.log')} (tail) ---\n${stdout}`,
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * Starts a broker and resolves once it answers clients.
 * @param {{ port?: number, controllerPort?: number, logDir?: string, dataDir?: string, partitions?: number,
 *   timeoutMs?: number, signal?: AbortSignal, persistent?: boolean, quiet?: boolean }} options
 *   persistent: the broker outlives this process (CLI `start`); otherwise a watchdog stops it
 *   when this process dies without calling stop(). dataDir: kept after stop(); a broker started again on
 *   it (same ports) continues with its topics, offsets and consumer groups.
 */
export async function startKafka(options = {}) {
  const { signal, persistent = false, quiet = false, partitions = 1 } = options;
  const timeoutMs = options.timeoutMs ?? 90_000;
  const missing = kafkaPrerequisites();
  if (missing.length) throw new ServiceError(`cannot start Kafka: missing ${missing.join(', ')}`);
  for (const p of [options.port, options.controllerPort]) {
    if (p !== undefined && !(await portFree(p))) {
      throw new ServiceError(`cannot start Kafka: 127.0.0.1:${p} is already in use`);
    }
  }
  const started = Date.now();
  const { libs, resolved } = await ensureKafkaLibs({ quiet });
  const java = javaBinary();
  const fixedPorts = options.port !== undefined;
  const attempts = fixedPorts ? 1 : 3;
  let lastError;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (signal?.aborted) throw abortError(signal);
    const port = options.port ?? (await freePort());
    let controllerPort = options.controllerPort ?? (await freePort());
    while (controllerPort === port) controllerPort = await freePort();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tickhub-kafka-'));
    const logDir = options.logDir ? path.resolve(options.logDir) : path.join(dir, 'logs');
    // A caller's data dir outlives the broker, so a broker killed outright can be started again on it.
    const dataDir = options.dataDir ? path.resolve(options.dataDir) : path.join(dir, 'data');
    await mkdir(logDir, { recursive: true });
    const propsFile = path.join(dir, 'server.properties');
    await writeFile(propsFile, serverProperties({ port, controllerPort, dataDir, partitions }));
    await writeFile(path.join(logDir, 'log4j2.xml'), log4jConfig(logDir));
    const base = jvmArgs({ libs, logDir });
    const formatted = formattedClusterId(dataDir);
    const cluster = formatted ?? clusterId();

    if (!formatted) {
      const format = await runCommand(
        java,
        [...base, 'kafka.tools.StorageTool', 'format', '-t', cluster, '-c', propsFile],
        { timeoutMs: 60_000, cwd: dir },
      ).catch((err) => ({ code: 1, output: String(err.details ?? err.message) }));
      if (format.code !== 0) {
        await removeDir(dir);
        throw new ServiceError(`Kafka storage format failed (exit ${format.code})`, format.output);
      }
    }

    const brokers = `127.0.0.1:${port}`;
    let broker;
    let stopped;
    const stop = () => {
      stopped ??= (async () => {
        const how = broker ? await broker.stop() : 'gone';
        await removeDir(dir);
        return how;
      })();
      return stopped;
    };

    try {
      broker = launchBroker({ java, base, propsFile, dir, logDir, persistent });
      await untilAnswering(broker, { brokers, cluster, logDir, timeoutMs, signal, fixedPorts, started });
    } catch (err) {
      const details = failureLog(logDir);
      await stop();
      if (err.retry && attempt < attempts) {
        lastError = err;
        if (!quiet) log(`kafka: port conflict on ${brokers}, retrying with other ports`);
        continue;
      }
      if (err instanceof ServiceError && !err.details) err.details = details;
      throw err;
    }
    if (persistent) broker.child.unref();
    const handle = {
      brokers,
      port,
      controllerPort,
      pid: broker.pid,
      dir,
      logDir,
      version: kafkaVersion(),
      resolvedJars: resolved,
      startMs: Date.now() - started,
      stop,
      /** SIGKILL of the broker's JVM (a crash): its data dir and ports stay for restart(). */
      async kill() {
        await broker.kill();
      },
      /**
       * Starts the broker again from its data dir on the same ports (after kill()), as a restarted
       * machine would; resolves once it answers clients with its coordinators loaded again.
       */
      async restart(restartTimeoutMs = timeoutMs) {
        if (broker.alive()) throw new ServiceError(`the broker at ${brokers} is still running`);
        broker = launchBroker({ java, base, propsFile, dir, logDir, persistent });
        handle.pid = broker.pid;
        await untilAnswering(broker, {
          brokers,
          cluster,
          logDir,
          timeoutMs: restartTimeoutMs,
          signal,
          fixedPorts: true,
          started: Date.now(),
        });
      },
    };
    return handle;
  }
  throw lastError;
}

/** The cluster id of a data dir that a broker already used, or undefined for a new one. */
function formattedClusterId(dataDir) {
  try {
    return readFileSync(path.join(dataDir, 'meta.properties'), 'utf8')
      .match(/^cluster\.id=(.+)$/m)?.[1]
      ?.trim();
  } catch {
    return undefined;
  }
}

/** Spawns the broker's JVM in its own process group, watched so that it never outlives its owner. */
function launchBroker({ java, base, propsFile, dir, logDir, persistent }) {
  const out = openSync(path.join(logDir, 'stdout.log'), 'a');
  const child = spawn(java, [...base, 'kafka.Kafka', propsFile], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  let exited;
  const gone = new Promise((resolve) => {
    child.on('exit', (code, sig) => {
      exited = { code, sig };
      resolve();
    });
    child.on('error', (err) => {
      exited = { code: 127, sig: null, err };
      resolve();
    });
  });
  const pid = child.pid;
  const watchdog = persistent || !pid ? undefined : startWatchdog(pid, dir);
  return {
    child,
    pid,
    exited: () => exited,
    alive: () => exited === undefined,
    async stop() {
      watchdog?.cancel();
      return stopProcessGroup(pid, 15_000);
    },
    async kill() {
      watchdog?.cancel();
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await gone;
    },
  };
}

/** Waits until the broker answers with its own cluster id and its coordinators are loaded. */
async function untilAnswering(broker, { brokers, cluster, logDir, timeoutMs, signal, fixedPorts, started }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    const exited = broker.exited();
    if (exited) {
      const log4 = failureLog(logDir);
      const bindConflict = /Address already in use|BindException/.test(log4);
      throw Object.assign(
        new ServiceError(
          `Kafka exited during start-up (${exited.err?.message ?? `code ${exited.code}${exited.sig ? `, ${exited.sig}` : ''}`})`,
          log4,
        ),
        { retry: bindConflict && !fixedPorts },
      );
    }
    // Comparing the cluster id makes sure the answer comes from this broker, not from another
    // one that took the port in the meantime.
    const answered = await describeKafka(brokers, 3000);
    if (answered !== undefined && answered !== cluster) {
      throw Object.assign(new ServiceError(`another Kafka cluster (${answered}) answers at ${brokers}`), {
        retry: !fixedPorts,
      });
    }
    if (answered === cluster) {
      const t = Date.now();
      await warmUp(brokers, Math.max(deadline - Date.now(), 10_000));
      if (process.env.TICKHUB_DEBUG)
        log(
          `kafka: answered after ${seconds(t - started)}, coordinators ready ${seconds(Date.now() - t)} later`,
        );
      return;
    }
    if (Date.now() > deadline) {
      throw new ServiceError(
        `Kafka did not answer at ${brokers} within ${seconds(timeoutMs)}`,
        failureLog(logDir),
      );
    }
    await sleep(500, signal);
  }
}

// ---------------------------------------------------------------------------------------------
// CLI

function isKafkaProcess(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka');
  } catch {
    return isAlive(pid);
  }
}

function stateFile(port) {
  return path.join(RUN_DIR, `kafka-${port}.json`);
}

async function readStates() {
  const names = await readdir(RUN_DIR).catch(() => []);
  const states = [];
  for (const name of names.filter((n) => /^kafka-\d+\.json$/.test(n))) {
    try {
      states.push(JSON.parse(await readFile(path.join(RUN_DIR, name), 'utf8')));
    } catch {
      // a half-written state file from a concurrent start; ignore
    }
  }
  return states;
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--port') opts.port = Number(value());
    else if (flag === '--log-dir') opts.logDir = value();
    else if (flag === '--data-dir') opts.dataDir = value();
    else if (flag === '--controller-port') opts.controllerPort = Number(value());
    else if (flag === '--partitions') opts.partitions = Number(value());
    else if (flag === '--all') opts.all = true;
    else throw new ServiceError(`unknown option ${arg}`);
  }
  for (const [flag, port] of [
    ['--port', opts.port],
    ['--controller-port', opts.controllerPort],
  ]) {
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
      throw new ServiceError(`${flag} must be an integer between 1 and 65535`);
    }
  }
  return opts;
}

async function cli(argv) {
  const [command, ...rest] = argv;
  const opts = parseArgs(rest);
  if (command === 'start' || command === 'run') {
    const persistent = command === 'start';
    const kafka = await startKafka({ ...opts, persistent });
    log(
      `kafka: started Kafka ${kafka.version} at ${kafka.brokers} (pid ${kafka.pid}) in ${seconds(kafka.startMs)}`,
    );
    log(`kafka: logs in ${kafka.logDir}`);
    if (persistent) {
      await mkdir(RUN_DIR, { recursive: true });
      const { stop: _stop, ...state } = kafka;
      writeFileSync(stateFile(kafka.port), `${JSON.stringify(state, null, 1)}\n`);
      process.stdout.write(`KAFKA_BROKERS=${kafka.brokers}\n`);
      log(`kafka: stop it with: node test/services/kafka.mjs stop --port ${kafka.port}`);
      return 0;
    }
    process.stdout.write(`KAFKA_BROKERS=${kafka.brokers}\n`);
    await untilStopSignal();
    await kafka.stop();
    log('kafka: stopped');
    return 0;
  }
  if (command === 'stop') {
    let states = await readStates();
    if (opts.port !== undefined) states = states.filter((s) => s.port === opts.port);
    if (states.length === 0) {
      log(`kafka: no broker started with \`kafka.mjs start\`${opts.port ? ` on port ${opts.port}` : ''}`);
      return opts.port ? 1 : 0;
    }
    if (states.length > 1 && !opts.all && opts.port === undefined) {
      log(
        `kafka: ${states.length} brokers are running (${states.map((s) => s.brokers).join(', ')}): pass --port N or --all`,
      );
      return 1;
    }
    for (const state of states) {
      // The pid may have been reused after a reboot or a crash: only stop a Kafka JVM.
      const how = isKafkaProcess(state.pid) ? await stopProcessGroup(state.pid, 15_000) : 'was not running';
      await removeDir(state.dir);
      await unlink(stateFile(state.port)).catch(() => {});
      log(`kafka: ${state.brokers} (pid ${state.pid}) ${how}`);
    }
    return 0;
  }
  if (command === 'status') {
    const states = await readStates();
    if (states.length === 0) log('kafka: no broker started with `kafka.mjs start`');
    for (const state of states) {
      const alive = isKafkaProcess(state.pid);
      const answers = alive && (await kafkaAnswers(state.brokers, 3000));
      log(
        `kafka: ${state.brokers} pid ${state.pid} ${alive ? 'running' : 'not running'}${alive ? (answers ? ', answers' : ', NOT answering') : ''}; logs ${state.logDir}`,
      );
    }
    log(`kafka: jar cache ${kafkaLibsDir()} ${kafkaLibsCached() ? 'complete' : 'not resolved yet'}`);
    return 0;
  }
  process.stderr.write(
    'usage: node test/services/kafka.mjs start|run [--port N] [--controller-port N] [--log-dir D] [--data-dir D] [--partitions N]\n' +
      '       node test/services/kafka.mjs stop [--port N | --all]\n' +
      '       node test/services/kafka.mjs status\n',
  );
  return 2;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(SERVICES_DIR, 'kafka.mjs')) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      log(`kafka: ${err.message}`);
      if (err.details) process.stderr.write(`${err.details}\n`);
      process.exit(1);
    },
  );
}
