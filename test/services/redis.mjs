// Finds or starts a Redis for tests and `npm run dev`.
//
//   import { ensureRedis } from './redis.mjs';
//   const redis = await ensureRedis();   // { url, source, stop() }
//
// Order: REDIS_URL if it answers PING, else redis://127.0.0.1:6379 if it answers, else a private
// redis-server on a free loopback port without persistence, stopped by stop().
//
//   node test/services/redis.mjs run     private redis-server in the foreground, prints REDIS_URL
//   node test/services/redis.mjs ping [url]
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  abortError,
  freePort,
  importInstalled,
  log,
  removeDir,
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

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function redisClient() {
  return importInstalled('ioredis');
}

/** Resolves true when the server at `url` answers PING within `timeoutMs`; never throws. */
export async function redisAnswers(url, timeoutMs = 2000) {
  return (await redisServerPid(url, timeoutMs)) !== undefined;
}

/** The process id the server at `url` reports (INFO server), or undefined when it does not answer. */
export async function redisServerPid(url, timeoutMs = 2000) {
  const Redis = await redisClient();
  let client;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
  } catch {
    return undefined;
  }
  client.on('error', () => {});
  let timer;
  try {
    const ping = (async () => {
      await client.connect();
      if ((await client.ping()) !== 'PONG') return undefined;
      // Servers that refuse INFO (ACLs) still answered PING: report them as reachable.
      const info = await client.info('server').catch(() => '');
      return Number(info.match(/process_id:(\d+)/)?.[1] ?? 0);
    })();
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    return await Promise.race([ping.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/**
 * Starts a private redis-server on a free loopback port (or `port`) with persistence off, in its
 * own temp dir, `args` appended to its command line. Resolves once it answers PING.
 */
export async function startRedis({ port, timeoutMs = 20_000, signal, persistent = false, args = [] } = {}) {
  const server = which('redis-server');
  if (!server) {
    throw new ServiceError(
      'cannot start Redis: missing redis-server on PATH (install Redis, or set REDIS_URL)',
    );
  }
  const started = Date.now();
  const attempts = port === undefined ? 3 : 1;
  let lastError;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (signal?.aborted) throw abortError(signal);
    const p = port ?? (await freePort());
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tickhub-redis-'));
    const logFile = path.join(dir, 'redis.log');
    const out = openSync(logFile, 'a');
    const child = spawn(
      server,
      [
        '--port',
        String(p),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
        // Given last, so that they win over the settings above (e.g. a `--dir` that outlives the server).
        ...args,
      ],
      { cwd: dir, detached: true, stdio: ['ignore', out, out] },
    );
    closeSync(out);
    let exited;
    child.on('exit', (code, sig) => {
      exited = { code, sig };
    });
    child.on('error', (err) => {
      exited = { code: 127, err };
    });
    const pid = child.pid;
    const watchdog = persistent || !pid ? undefined : startWatchdog(pid, dir);
    let stopped;
    const stop = () => {
      stopped ??= (async () => {
        watchdog?.cancel();
        const how = await stopProcessGroup(pid, 5000);
        await removeDir(dir);
        return how;
      })();
      return stopped;
    };
    const url = `redis://127.0.0.1:${p}`;
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        if (signal?.aborted) throw abortError(signal);
        if (exited) {
          const output = tail(logFile, 20);
          throw Object.assign(
            new ServiceError(
              `redis-server exited during start-up (${exited.err?.message ?? `code ${exited.code}`})`,
              output,
            ),
            { retry: /Address already in use/i.test(output) && port === undefined },
          );
        }
        const answered = await redisServerPid(url, 1000);
        if (answered === pid) break;
        if (answered !== undefined) {
          throw Object.assign(new ServiceError(`another Redis (pid ${answered}) answers at ${url}`), {
            retry: port === undefined,
          });
        }
        if (Date.now() > deadline) {
          throw new ServiceError(
            `redis-server did not answer at ${url} within ${seconds(timeoutMs)}`,
            tail(logFile, 20),
          );
        }
        await sleep(100, signal);
      }
    } catch (err) {
      await stop();
      if (err.retry && attempt < attempts) {
        lastError = err;
        continue;
      }
      throw err;
    }
    if (persistent) child.unref();
    return { url, port: p, pid, dir, source: 'started', startMs: Date.now() - started, stop };
  }
  throw lastError;
}

/**
 * A Redis that answers: REDIS_URL, then the default local port, then a private redis-server.
 * `stop()` stops only a server this call started.
 * @param {{ url?: string, tryDefault?: boolean, signal?: AbortSignal }} options
 */
export async function ensureRedis({ url = process.env.REDIS_URL, tryDefault = true, signal, port } = {}) {
  const started = Date.now();
  const notes = [];
  if (url) {
    if (await redisAnswers(url)) {
      return {
        url,
        source: 'REDIS_URL',
        startMs: Date.now() - started,
        stop: async () => 'not started here',
      };
    }
    notes.push(`REDIS_URL=${url} did not answer PING`);
  }
  if (tryDefault && url !== DEFAULT_REDIS_URL && (await redisAnswers(DEFAULT_REDIS_URL, 1000))) {
    return {
      url: DEFAULT_REDIS_URL,
      source: 'default port',
      notes,
      startMs: Date.now() - started,
      stop: async () => 'not started here',
    };
  }
  if (tryDefault) notes.push(`nothing answered at ${DEFAULT_REDIS_URL}`);
  try {
    const redis = await startRedis({ signal, port });
    return { ...redis, notes, startMs: Date.now() - started };
  } catch (err) {
    if (notes.length && err instanceof ServiceError) err.message = `${err.message} (${notes.join('; ')})`;
    throw err;
  }
}

async function cli([command, arg, ...rest]) {
  if (command === 'ping') {
    const url = arg ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
    const ok = await redisAnswers(url);
    log(`redis: ${url} ${ok ? 'answers PING' : 'does not answer'}`);
    return ok ? 0 : 1;
  }
  if (command === 'run') {
    // run [--port P] [-- redis-server arguments…]
    const argv = [arg, ...rest].filter((a) => a !== undefined);
    const cut = argv.indexOf('--');
    const own = cut < 0 ? argv : argv.slice(0, cut);
    const port = own[0] === '--port' ? Number(own[1]) : undefined;
    if (own.length > 0 && (own[0] !== '--port' || !Number.isInteger(port) || own.length !== 2)) {
      process.stderr.write('usage: node test/services/redis.mjs run [--port P] [-- redis-server args]\n');
      return 2;
    }
    const redis = await startRedis({ port, args: cut < 0 ? [] : argv.slice(cut + 1) });
    log(`redis: started redis-server at ${redis.url} (pid ${redis.pid}) in ${seconds(redis.startMs)}`);
    process.stdout.write(`REDIS_URL=${redis.url}\n`);
    await untilStopSignal();
    await redis.stop();
    log('redis: stopped');
    return 0;
  }
  process.stderr.write(
    'usage: node test/services/redis.mjs run [--port P] [-- redis-server args] | ping [url]\n',
  );
  return 2;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(SERVICES_DIR, 'redis.mjs')) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      log(`redis: ${err.message}`);
      if (err.details) process.stderr.write(`${err.details}\n`);
      process.exit(1);
    },
  );
}
