// What the benchmark scripts share (run.mjs, saturation.mjs): starting the servers under test and the
// load generators, reading a process's CPU and memory from /proc, opening clients and measuring one
// window of load. Each script builds its own process group and starters with its own sizes.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const hdr = require('hdr-histogram-js');

const here = dirname(fileURLToPath(import.meta.url));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A progress logger on stderr: `[tag 12.3s] message`, seconds since the logger was made. */
export function createLog(tag) {
  const t0 = Date.now();
  return (msg) => process.stderr.write(`[${tag} ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
}

export const newRunId = () => `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;

const CLK_TCK = 100; // USER_HZ of /proc/<pid>/stat on Linux
export const LOCAL_ADDRESSES = [
  '127.0.0.2',
  '127.0.0.3',
  '127.0.0.4',
  '127.0.0.5',
  '127.0.0.6',
  '127.0.0.7',
  '127.0.0.8',
  '127.0.0.9',
];
const FD_LIMIT = 'ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)"';

// ---- processes -------------------------------------------------------------------------------------

const GC_PRELOAD = join(here, 'gc-on-signal.cjs');

/**
 * The child processes of one benchmark run: servers (`startNode`) and load generators (`startWorker`),
 * all killed when the run's process exits or is interrupted. `logDir()` is where server logs go.
 */
export function createProcesses({ logDir }) {
  const children = new Set();
  function killAll() {
    for (const c of children) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }

  /**
   * Starts `node <script>` through a shell that raises the fd limit; `exec` keeps the pid the node's.
   * Every server gets the same GC preload (`gcNow`), and its stdout and stderr go to
   * bench-results/<run>/<logName>.log as well.
   */
  function startNode(script, env, readyPattern, timeoutMs = 60_000, logName = undefined) {
    const node = `"${process.execPath}" --expose-gc --require "${GC_PRELOAD}" "${script}"`;
    const child = spawn('bash', ['-c', `${FD_LIMIT}; exec ${node}`], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    let logFile;
    if (logName) {
      mkdirSync(logDir(), { recursive: true });
      logFile = createWriteStream(join(logDir(), `${logName}.log`));
      child.on('close', () => logFile.end());
    }
    let out = '';
    let err = '';
    let gcAcks = 0;
    const gcWaiters = [];
    child.stderr.on('data', (d) => {
      logFile?.write(d);
      err = (err + d).slice(-4000);
      const acks = String(d).match(/^bench-gc \d/gm)?.length ?? 0;
      for (let i = 0; i < acks; i++) {
        gcAcks++;
        gcWaiters.shift()?.();
      }
    });
    const ready = new Promise((resolveReady, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${script} not ready in ${timeoutMs} ms: ${err}`)),
        timeoutMs,
      );
      // Keep draining stdout so a chatty process never blocks on a full pipe.
      child.stdout.on('data', (d) => {
        logFile?.write(d);
        out = (out + d).slice(-20000);
        const m = readyPattern.exec(out);
        if (m) {
          clearTimeout(timer);
          resolveReady(m);
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited with ${code}: ${err.slice(-1500)}`));
      });
    });
    /** Full GC in the server (SIGUSR2 → global.gc()); resolves true once the server acknowledged it. */
    const gcNow = (timeoutMs = 10_000) =>
      new Promise((resolveGc) => {
        const done = (ok) => {
          clearTimeout(timer);
          resolveGc(ok);
        };
        const timer = setTimeout(() => {
          const at = gcWaiters.indexOf(onAck);
          if (at >= 0) gcWaiters.splice(at, 1);
          done(false);
        }, timeoutMs);
        const onAck = () => done(true);
        gcWaiters.push(onAck);
        child.kill('SIGUSR2');
      });
    return { child, ready, stderr: () => err, stdout: () => out, gcNow, gcAcks: () => gcAcks };
  }

  let nextId = 1;
  /** A load generator: node over IPC, through the same fd-limit-raising shell as the servers. */
  function startWorker() {
    const child = spawn(
      'bash',
      ['-c', `${FD_LIMIT}; exec "${process.execPath}" "${join(here, 'loadgen.mjs')}"`],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    children.add(child);
    const waiting = new Map();
    child.on('message', (m) => {
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.error) w.reject(new Error(m.error));
      else w.resolve(m);
    });
    child.on('exit', () => {
      children.delete(child);
      for (const w of waiting.values()) w.reject(new Error('load generator exited'));
      waiting.clear();
    });
    const call = (cmd) =>
      new Promise((res, rej) => {
        const id = nextId++;
        waiting.set(id, { resolve: res, reject: rej });
        child.send({ id, ...cmd });
      });
    return { child, call };
  }

  return { startNode, startWorker };
}

export async function stopChild(child) {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([gone, sleep(12_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export function procCpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

export function procRssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** The process's own RLIMIT_NOFILE, from /proc/<pid>/limits: { soft, hard } (Infinity if unlimited). */
export function procFdLimit(pid) {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line ?? '').replace('Max open files', '').trim().split(/\s+/);
  const n = (v) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: n(soft), hard: n(hard) };
}

export const procOpenFds = (pid) => readdirSync(`/proc/${pid}/fd`).length;

/**
 * A server's CPU with no client at all (the simulated market and its own timers, paid by every server),
 * in % of a core over `seconds`, measured once `settleSeconds` have passed so that the tail of its
 * start-up (JIT, the GC of start-up garbage) is not counted.
 */
export async function noClientCpuPercent(pid, settleSeconds, seconds) {
  await sleep(settleSeconds * 1000);
  const c0 = procCpuSeconds(pid);
  await sleep(seconds * 1000);
  return Math.round(((procCpuSeconds(pid) - c0) / seconds) * 1000) / 10;
}

/** The machine's busy and total CPU time over all cores (`/proc/stat`), in clock ticks. */
export function machineCpuTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((s, v) => s + v, 0);
  // idle + iowait are the time no process wanted the CPU.
  return { busy: total - f[3] - (f[4] ?? 0), total };
}

export function machineInfo(loadGenerators) {
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    cpuModel: cpuList[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadGenerators,
    note: 'servers and load generators share the same cores',
  };
}

// ---- clients -----------------------------------------------------------------------------------------

/**
 * Opens `count` clients spread over the load generators of `pool`; `perClient` 0 makes idle
 * connections. Client i (from `firstIndex` on) subscribes to `perClient` symbols from its own offset
 * and binds its own source address, so that clients added later differ from the earlier ones.
 */
export async function connectClients(pool, server, count, perClient, { symbols, hz, firstIndex = 0 }) {
  const per = Math.ceil(count / pool.length);
  const answers = await Promise.all(
    pool.map((w, wi) => {
      const n = Math.max(0, Math.min(per, count - wi * per));
      return w.call({
        op: 'connect',
        kind: server.kind,
        subscribe: server.subscribe,
        url: server.url,
        count: n,
        firstIndex: firstIndex + wi * per,
        symbols,
        perClient,
        hz,
        localAddresses: LOCAL_ADDRESSES,
        concurrency: 100,
        sampleEvery: 4,
      });
    }),
  );
  const connected = answers.reduce((s, a) => s + a.connected, 0);
  const failed = answers.reduce((s, a) => s + a.failed, 0);
  return { connected, failed };
}

function mergeHistograms(encoded) {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const e of encoded) h.add(hdr.decodeFromCompressedBase64(e));
  return h;
}

const ms = (h, p) => (h.totalCount === 0 ? null : Math.round(h.getValueAtPercentile(p) / 10) / 100);
const latencyOf = (h) => ({
  samples: h.totalCount,
  p50Ms: ms(h, 50),
  p99Ms: ms(h, 99),
  p999Ms: ms(h, 99.9),
  maxMs: ms(h, 100),
});

/**
 * One measured window of `seconds` over every load generator of `pool`: delivered updates, the server
 * process's CPU (also net of its no-client CPU), latency percentiles of normal and slow clients.
 */
export async function measureWindow(pool, server, seconds, noClientCpuPercent, log) {
  const all = (cmd) => Promise.all(pool.map((w) => w.call(cmd)));
  await all({ op: 'reset' });
  // The server's own count is read before its CPU, as after it below: a metrics scrape is work that the
  // peers, which have no /metrics, are never asked for.
  const s0 = server.sent ? await server.sent() : null;
  const c0 = procCpuSeconds(server.child.pid);
  const w0 = Date.now();
  const tick = setInterval(() => log(`  … ${((Date.now() - w0) / 1000).toFixed(0)} s`), 5000);
  await sleep(seconds * 1000);
  clearInterval(tick);
  const answers = await all({ op: 'collect' });
  const elapsed = (Date.now() - w0) / 1000;
  const cpu = procCpuSeconds(server.child.pid) - c0;
  const s1 = server.sent ? await server.sent() : null;
  const updates = answers.reduce((s, a) => s + a.updates, 0);
  const slowUpdates = answers.reduce((s, a) => s + a.slowUpdates, 0);
  const frames = answers.reduce((s, a) => s + a.frames, 0);
  return {
    seconds: Math.round(elapsed * 100) / 100,
    updates,
    slowUpdates,
    frames,
    updatesPerSec: Math.round((updates + slowUpdates) / elapsed),
    serverReportedUpdatesPerSec: s0 === null ? null : Math.round((s1 - s0) / elapsed),
    serverCpuSeconds: Math.round(cpu * 100) / 100,
    serverCpuPercent: Math.round((cpu / elapsed) * 100),
    netCpuSecondsPerMillionUpdates:
      updates + slowUpdates > 0
        ? Math.round(
            (Math.max(0, cpu - (noClientCpuPercent / 100) * elapsed) / (updates + slowUpdates)) * 1e6 * 1000,
          ) / 1000
        : null,
    cpuSecondsPerMillionUpdates:
      updates + slowUpdates > 0 ? Math.round((cpu / (updates + slowUpdates)) * 1e6 * 1000) / 1000 : null,
    latency: latencyOf(mergeHistograms(answers.map((a) => a.histogram))),
    slowLatency: latencyOf(mergeHistograms(answers.map((a) => a.slowHistogram))),
  };
}

// ---- servers under test ------------------------------------------------------------------------------

export async function metricsValues(port, names) {
  const lines = (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).split('\n');
  // Lines look like `name{gateway="gw-…"} 123` or `name 123`.
  return names.map((name) => {
    const line = lines.find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return line ? Number(line.split(' ').pop()) : Number.NaN;
  });
}

export const metricsValue = async (port, name) => (await metricsValues(port, [name]))[0];

/** Source ticks the gateway received, and those it kept (not dropped as stale: seq not above the last known). */
export async function sourceTickCounts(port) {
  const [received, stale] = await metricsValues(port, [
    'tickhub_gateway_source_ticks_total',
    'tickhub_gateway_source_ticks_stale_total',
  ]);
  return { received, accepted: received - (stale || 0) };
}

export const EMBEDDED_NOTES = 'tick source: in-process simulator; backplane: in-memory';

/**
 * How one run starts its servers: every one fed by the same simulated market (`rate` ticks/s over
 * `symbols` symbols, seed 42) and throttled to `hz` (a run's options; other fields are not read).
 */
export function createStarters({ startNode, hz, rate, symbols, runId }) {
  const simEnv = {
    SIM_RATE: String(rate),
    SIM_SEED: '42',
    SIM_SYMBOLS: String(symbols),
    LOG_LEVEL: 'warn',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
  };

  function gatewayEnv(extra) {
    const env = {
      ...simEnv,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      MAX_HZ: String(Math.max(50, hz)),
      MAX_INBOUND_PER_SEC: '1000',
      ...extra,
    };
    return env;
  }

  /** The embedded gateway of `main` (a build's apps/gateway/dist/main.js). */
  async function startEmbeddedGateway(main, logName, notes) {
    const env = gatewayEnv({});
    const p = startNode(
      main,
      { ...env, KAFKA_BROKERS: '', REDIS_URL: '' },
      /"msg":"listening"[^\n]*"port":(\d+)/,
      60_000,
      logName,
    );
    const port = Number((await p.ready)[1]);
    return {
      child: p.child,
      gcNow: p.gcNow,
      url: `ws://127.0.0.1:${port}/ws`,
      heap: () => metricsValue(port, 'tickhub_gateway_nodejs_heap_size_used_bytes'),
      sent: () => metricsValue(port, 'tickhub_gateway_updates_sent_total'),
      sourceTicks: () => sourceTickCounts(port),
      notes,
    };
  }

  async function startPeer(peer) {
    const p = startNode(
      join(here, 'peer-server.mjs'),
      { ...simEnv, PEER: peer, PORT: '0', MAX_HZ: String(hz), REDIS_KEY: `bench-sio-${runId}` },
      /"msg":"listening"[^\n]*"port":(\d+)/,
      60_000,
      peer,
    );
    const port = Number((await p.ready)[1]);
    const path = peer === 'socketio' ? '' : '/';
    return {
      child: p.child,
      gcNow: p.gcNow,
      url: `${peer === 'socketio' ? 'http' : 'ws'}://127.0.0.1:${port}${path}`,
      heap: async () => (await (await fetch(`http://127.0.0.1:${port}/debug/memory`)).json()).heapUsed,
      notes:
        peer === 'socketio'
          ? process.env.REDIS_URL
            ? 'rooms per symbol; @socket.io/redis-adapter on REDIS_URL'
            : 'rooms per symbol; in-memory adapter (REDIS_URL unset)'
          : '',
    };
  }

  return { simEnv, gatewayEnv, startEmbeddedGateway, startPeer };
}

/** The embedded gateway of `gatewayMain`, with its clients' default subscribe and with `leading: false`. */
export function embeddedServers({ startEmbeddedGateway }, gatewayMain) {
  return [
    {
      name: 'tickhub',
      label: 'tickhub gateway (embedded)',
      kind: 'tickhub',
      start: () => startEmbeddedGateway(gatewayMain, 'tickhub', EMBEDDED_NOTES),
    },
    {
      // The same gateway; its clients subscribe with `"leading": false` (one frame per interval).
      name: 'tickhub-aligned',
      label: 'tickhub gateway (embedded), leading: false',
      kind: 'tickhub',
      subscribe: { leading: false },
      start: () =>
        startEmbeddedGateway(
          gatewayMain,
          'tickhub-aligned',
          `${EMBEDDED_NOTES}; clients subscribe with "leading": false`,
        ),
    },
  ];
}

/** The peers of peer-server.mjs: Socket.IO, naive ws and pre-framed ws. */
export function peerServers({ startPeer }) {
  return [
    {
      name: 'socketio',
      label: process.env.REDIS_URL
        ? 'Socket.IO + redis-adapter'
        : 'Socket.IO (in-memory adapter: no REDIS_URL)',
      kind: 'socketio',
      async start() {
        return startPeer('socketio');
      },
    },
    {
      name: 'naive',
      label: 'ws, frame per update (naive)',
      kind: 'ws',
      async start() {
        return startPeer('naive');
      },
    },
    {
      name: 'preframed',
      label: 'ws, pre-framed once (floor)',
      kind: 'ws',
      async start() {
        return startPeer('preframed');
      },
    },
  ];
}

// ---- source flow -------------------------------------------------------------------------------------

const STALL_SECONDS = 3;

/**
 * Polls a server's count of accepted source ticks once a second for its whole run; a stretch of
 * STALL_SECONDS or more without a new one (a lost consumer-group session, a blocked event loop, ticks
 * dropped as stale) is logged and recorded with the phase it began in, so a stall is never mistaken
 * for a slow server.
 */
export function watchSourceFlow(def, server, log) {
  const stalls = [];
  if (!server.sourceTicks) return () => stalls;
  let last;
  let receivedAtLast = 0;
  let lastChange = Date.now();
  let open;
  let polling = false;
  // Ticks that arrive but are all dropped as stale point at seq state, none at all at the source.
  const close = (now, received, ended) => {
    open.seconds = Math.round((now - lastChange) / 100) / 10;
    open.endedAt = ended ? new Date(now).toISOString() : null;
    open.ticksReceivedMeanwhile = received - receivedAtLast;
    open.cause =
      open.ticksReceivedMeanwhile > 0
        ? 'ticks arrived but were dropped as stale (seq not above the last known)'
        : 'no ticks arrived from the source';
    stalls.push(open);
    open = undefined;
  };
  let lastReceived = 0;
  const timer = setInterval(async () => {
    if (polling) return;
    polling = true;
    try {
      const { received, accepted } = await server.sourceTicks();
      if (!Number.isFinite(accepted)) return;
      lastReceived = received;
      const now = Date.now();
      if (last === undefined || accepted > last) {
        if (open) {
          const phase = open.phase;
          close(now, received, true);
          const st = stalls.at(-1);
          log(
            `${def.name}: source ticks accepted again after ${st.seconds} s (stopped during ${phase}; ${st.cause})`,
          );
        }
        last = accepted;
        receivedAtLast = received;
        lastChange = now;
      } else if (!open && now - lastChange >= STALL_SECONDS * 1000) {
        open = { phase: server.phase, startedAt: new Date(lastChange).toISOString() };
        log(`${def.name}: no source tick accepted for ${STALL_SECONDS} s (during ${server.phase})`);
      }
    } catch {
      // A busy server may not answer a scrape in time; the next poll tells.
    } finally {
      polling = false;
    }
  }, 1000);
  return () => {
    clearInterval(timer);
    if (open) close(Date.now(), lastReceived, false);
    return stalls;
  };
}
