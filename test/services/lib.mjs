// Small process and network helpers shared by the service launchers. Plain Node ESM with no
// dependencies so that it runs before `npm ci` has finished or anything is built.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SERVICES_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(SERVICES_DIR, '..', '..');

/** Thrown for problems the user must fix (missing program, unreachable service): printed without a stack. */
export class ServiceError extends Error {
  constructor(message, details) {
    super(message);
    this.name = 'ServiceError';
    this.details = details;
  }
}

const installed = new Map();
/**
 * The default export of a package the launchers need (kafkajs, ioredis), imported on first use so
 * that `--help` and the checks for java, mvn and redis-server work before `npm ci`.
 */
export async function importInstalled(name) {
  if (!installed.has(name)) {
    try {
      installed.set(name, (await import(name)).default);
    } catch {
      throw new ServiceError(`${name} is not installed: run \`npm ci\` at the repository root first`);
    }
  }
  return installed.get(name);
}

/**
 * Resolves at the first SIGINT or SIGTERM. The handlers stay installed (`on`, not `once`), so a
 * second signal while the caller stops the server it started does not kill the process first.
 */
export function untilStopSignal() {
  return new Promise((resolve) => {
    process.on('SIGINT', resolve);
    process.on('SIGTERM', resolve);
  });
}

export function log(message) {
  process.stderr.write(`[services] ${message}\n`);
}

export function seconds(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortError(signal) {
  const reason = signal?.reason;
  return reason instanceof Error ? reason : new ServiceError('aborted');
}

/** Rejects when `promise` has not settled after `ms`. The promise itself is not cancelled. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new ServiceError(`${what} timed out after ${seconds(ms)}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Full path of an executable found on PATH, or undefined. */
export function which(command, envPath = process.env.PATH ?? '') {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      const st = statSync(candidate);
      if (st.isFile() && st.mode & 0o111) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * A loopback port that was free a moment ago. Another process may take it before the caller binds,
 * so launchers retry with a new port when their server fails to bind.
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on 127.0.0.1:`port` (a bind succeeds). */
export function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.on('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function isAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function signalGroup(pid, signal) {
  try {
    // The launchers spawn servers as process-group leaders, so -pid reaches the server and
    // anything it forked.
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** SIGTERM the process group, SIGKILL after `graceMs`; resolves once the leader is gone. */
export async function stopProcessGroup(pid, graceMs = 15000) {
  if (!isAlive(pid)) return 'gone';
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid) || isZombie(pid)) return 'terminated';
    await sleep(100);
  }
  signalGroup(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && isAlive(pid) && !isZombie(pid)) await sleep(50);
  return 'killed';
}

// A child that exited but was not yet reaped by its parent still answers kill(pid, 0).
function isZombie(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/**
 * Starts a detached watchdog that stops `pid`'s process group and removes `dir` if this process
 * dies without cleaning up (SIGKILL, crash, a killed jest worker), so no server outlives its owner.
 */
export function startWatchdog(pid, dir) {
  const child = spawn(
    process.execPath,
    [path.join(SERVICES_DIR, 'watchdog.mjs'), String(process.pid), String(pid), dir ?? ''],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  return {
    cancel() {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

export async function removeDir(dir) {
  if (dir && existsSync(dir)) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Last `lines` lines of a text file, or '' when it does not exist. */
export function tail(file, lines = 40) {
  try {
    const text = readFileSync(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '';
  }
}

/** Runs a command to completion with a timeout; resolves with its exit code and captured output. */
export function run(command, args, { timeoutMs, cwd, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const collect = (chunk) => {
      output += chunk;
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = timeoutMs
      ? setTimeout(() => {
          signalGroup(child.pid, 'SIGKILL');
          reject(
            new ServiceError(`${command} ${args.join(' ')} timed out after ${seconds(timeoutMs)}`, output),
          );
        }, timeoutMs)
      : undefined;
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, signal, output });
    });
  });
}

/** Prefixes PATH with the repository's node_modules/.bin so `turbo`, `jest` etc. resolve. */
export function childEnv(extra) {
  const bin = path.join(REPO_ROOT, 'node_modules', '.bin');
  const env = { ...process.env, ...extra };
  env.PATH = env.PATH ? `${bin}${path.delimiter}${env.PATH}` : bin;
  return env;
}
