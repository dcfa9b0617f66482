// Shared by with-services.mjs and dev.mjs: find or start Kafka and Redis, run one command with
// KAFKA_BROKERS / REDIS_URL set, and stop whatever was started when the command ends or this
// process is interrupted.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { kafkaAnswers, kafkaLibsCached, kafkaPrerequisites, startKafka } from './kafka.mjs';
import { childEnv, log, ServiceError, seconds, startWatchdog } from './lib.mjs';
import { ensureRedis } from './redis.mjs';

/** Kafka from KAFKA_BROKERS when it answers, else a broker started by the launcher. */
export async function provideKafka({ signal, port, controllerPort } = {}) {
  const started = Date.now();
  const configured = process.env.KAFKA_BROKERS?.trim();
  let note = 'KAFKA_BROKERS not set';
  if (configured) {
    if (await kafkaAnswers(configured, 5000)) {
      const ms = Date.now() - started;
      return {
        brokers: configured,
        line: `kafka: using KAFKA_BROKERS=${configured} (answered in ${seconds(ms)})`,
        stop: async () => 'not started here',
      };
    }
    note = `KAFKA_BROKERS=${configured} did not answer`;
  }
  const missing = kafkaPrerequisites();
  if (missing.length) {
    throw new ServiceError(
      `kafka: ${note}, and a broker cannot be started: missing ${missing.join(' and ')}`,
    );
  }
  const cached = kafkaLibsCached();
  const kafka = await startKafka({ signal, port, controllerPort });
  return {
    brokers: kafka.brokers,
    line:
      `kafka: started Kafka ${kafka.version} at ${kafka.brokers} (pid ${kafka.pid}, ` +
      `${cached ? 'jars cached' : 'jars resolved with Maven'}) in ${seconds(kafka.startMs)} (${note}); logs ${kafka.logDir}`,
    stop: kafka.stop,
    started: true,
  };
}

/** Redis from REDIS_URL, the default local port, or a private redis-server. */
export async function provideRedis({ signal, port } = {}) {
  // A pinned port: the Redis answering there, or one started on it.
  const redis =
    port === undefined
      ? await ensureRedis({ signal })
      : await ensureRedis({ signal, url: `redis://127.0.0.1:${port}`, tryDefault: false, port });
  const notes = redis.notes?.length ? `; ${redis.notes.join('; ')}` : '';
  let line;
  if (redis.source === 'REDIS_URL')
    line = `redis: using REDIS_URL=${redis.url} (answered PING in ${seconds(redis.startMs)})`;
  else if (redis.source === 'default port') {
    line = `redis: using ${redis.url} (${process.env.REDIS_URL ? '' : 'REDIS_URL not set; '}answered PING in ${seconds(redis.startMs)}${notes})`;
  } else
    line = `redis: started redis-server at ${redis.url} (pid ${redis.pid}) in ${seconds(redis.startMs)}${notes}`;
  return { url: redis.url, line, stop: redis.stop, started: redis.source === 'started' };
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/**
 * Owns the life of the services and the child command. Signals that arrive while services start
 * abort the start; signals while the command runs are forwarded to it; either way the services
 * this process started are stopped before it exits.
 */
export class Supervisor {
  constructor() {
    this.abort = new AbortController();
    this.services = [];
    this.child = undefined;
    this.signalled = undefined;
    this.onSignal = (sig) => this.handleSignal(sig);
    for (const sig of Object.keys(SIGNAL_EXIT)) process.on(sig, this.onSignal);
  }

  handleSignal(sig) {
    if (this.signalled) {
      // A second Ctrl-C: the user wants out now.
      if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
      return;
    }
    this.signalled = sig;
    log(`received ${sig}, stopping`);
    this.abort.abort(new ServiceError(`interrupted by ${sig}`));
    if (this.child && this.child.exitCode === null) {
      // Ctrl-C in a terminal already reached the command (same process group); forward SIGINT only
      // when it did not, i.e. when the command is still running a moment later.
      if (sig === 'SIGINT')
        setTimeout(() => this.child?.exitCode === null && this.child.kill(sig), 1000).unref();
      else this.child.kill(sig);
      // Commands that ignore the signal are killed so that the services can be stopped.
      setTimeout(() => this.child?.exitCode === null && this.child.kill('SIGKILL'), 30_000).unref();
    }
  }

  /** Starts the requested providers concurrently; on any failure stops the others and throws. */
  async provide(providers) {
    const results = await Promise.allSettled(providers.map((p) => p({ signal: this.abort.signal })));
    for (const r of results) {
      if (r.status === 'fulfilled') {
        this.services.push(r.value);
        log(r.value.line);
      }
    }
    const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
    if (failures.length) {
      await this.stopServices();
      throw failures.length === 1
        ? failures[0]
        : new ServiceError(
            failures.map((f) => f.message).join('\n'),
            failures
              .map((f) => f.details)
              .filter(Boolean)
              .join('\n'),
          );
    }
    return this.services;
  }

  async stopServices() {
    const started = this.services.filter((s) => s.started);
    this.services = [];
    await Promise.all(
      started.map(async (s) => {
        const t = Date.now();
        const name = s.line.split(':')[0];
        try {
          const how = await s.stop();
          log(`${name}: stopped (${how}) in ${seconds(Date.now() - t)}`);
        } catch (err) {
          log(`${name}: stop failed: ${err.message}`);
        }
      }),
    );
  }

  /** Runs the command with inherited stdio; resolves with the exit code to use. */
  run(command, args, env) {
    if (this.signalled) return Promise.resolve(SIGNAL_EXIT[this.signalled]);
    const started = Date.now();
    return new Promise((resolve) => {
      this.child = spawn(command, args, { stdio: 'inherit', env: childEnv(env) });
      // If this process is killed outright, the command must not keep running against stopped services.
      const watchdog = this.child.pid ? startWatchdog(this.child.pid, undefined) : undefined;
      this.child.on('exit', () => watchdog?.cancel());
      this.child.on('error', (err) => {
        log(`cannot run ${command}: ${err.message}`);
        resolve(127);
      });
      this.child.on('exit', (code, sig) => {
        const exitCode = code ?? (sig ? 128 + (os.constants.signals[sig] ?? 1) : 1);
        log(
          `${[command, ...args].join(' ')} exited with ${code ?? sig} after ${seconds(Date.now() - started)}`,
        );
        resolve(exitCode);
      });
    });
  }

  /** Exit code for a failure before the command ran: 128+signal when interrupted, else 1. */
  failureCode() {
    return this.signalled ? SIGNAL_EXIT[this.signalled] : 1;
  }

  /** Stops services, removes the signal handlers and exits. */
  async exit(code) {
    await this.stopServices();
    for (const sig of Object.keys(SIGNAL_EXIT)) process.off(sig, this.onSignal);
    process.exit(code);
  }
}

export function reportFailure(err) {
  log(err.message);
  if (err.details) process.stderr.write(`${err.details}\n`);
  if (!(err instanceof ServiceError) && err.stack) process.stderr.write(`${err.stack}\n`);
}
