// Turns one benchmark run into its JSON file, the Markdown page and the SVG chart (no dependencies).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const fmt = (v, digits = 2) =>
  v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(digits);
const kib = (bytes) => (bytes === null || bytes === undefined || Number.isNaN(bytes) ? null : bytes / 1024);
const ratio = (a, b) =>
  a === null || b === null || a === undefined || b === undefined || !(b > 0) ? null : a / b;

/** The idle level all servers reached, largest first, for a like-for-like memory figure. */
function commonIdleLevel(results) {
  const ok = results.filter((r) => r.idle?.levels?.length);
  if (ok.length === 0) return null;
  const sets = ok.map((r) => new Set(r.idle.levels.map((l) => l.target)));
  const common = [...sets[0]].filter((t) => sets.every((s) => s.has(t)));
  return common.length ? Math.max(...common) : null;
}

const idleAt = (r, target) => r?.idle?.levels?.find((l) => l.target === target);

/** "held N of 20,000 (fd hard limit L)" for a level whose count the server's fd limit set. */
const fdNote = (l, detail = false) => {
  const b = l?.fdBound;
  if (!b) return null;
  const soft = b.fdLimitSoft !== b.fdLimitHard ? `, soft ${b.fdLimitSoft}` : '';
  const more = detail
    ? `; ${b.fdsAtStart} fds open before the first client, ${l.fdsOpen ?? '—'} with ${l.connections} connections, margin ${b.margin}`
    : '';
  return `held ${l.connections} of ${b.goal.toLocaleString('en-US')} (fd hard limit ${b.fdLimitHard}${soft}${more})`;
};

const extraText = (x) => (x === 'max' ? 'as many as its fd limit allows, up to 20,000' : String(x));

export function evaluateTargets(report) {
  const by = Object.fromEntries(report.results.map((r) => [r.name, r]));
  const th = by.tickhub;
  const sio = by.socketio;
  const floor = by.preframed;
  const level = commonIdleLevel(report.results);
  const cpm = (r) => r?.load?.steady?.cpuSecondsPerMillionUpdates ?? null;
  const p99 = (r) => r?.load?.steady?.latency?.p99Ms ?? null;
  const throttleMs = 1000 / report.workload.maxHz;
  const targets = [];
  const add = (name, value, met) => targets.push({ name, value, met: met === null ? null : Boolean(met) });

  const net = (r) => r?.load?.steady?.netCpuSecondsPerMillionUpdates ?? null;
  const cpuText = (a, b) =>
    `${fmt(ratio(cpm(a), cpm(b)))}× (net of no-client CPU: ${fmt(ratio(net(a), net(b)))}×)`;
  const cpuVsSio = ratio(cpm(th), cpm(sio));
  add(
    'CPU per delivered update ≤ 1/4 of Socket.IO',
    cpuVsSio === null ? '—' : cpuText(th, sio),
    cpuVsSio === null ? null : cpuVsSio <= 0.25,
  );
  const cpuVsFloor = ratio(cpm(th), cpm(floor));
  add(
    'CPU per delivered update ≤ 1.5× the pre-framed floor',
    cpuVsFloor === null ? '—' : cpuText(th, floor),
    cpuVsFloor === null ? null : cpuVsFloor <= 1.5,
  );
  add(
    'p99 ≤ Socket.IO p99 at the same load',
    `${fmt(p99(th))} ms vs ${fmt(p99(sio))} ms`,
    p99(th) === null || p99(sio) === null ? null : p99(th) <= p99(sio),
  );
  add(
    `p99 < 10 ms + throttle interval (${fmt(throttleMs, 0)} ms)`,
    `${fmt(p99(th))} ms`,
    p99(th) === null ? null : p99(th) < 10 + throttleMs,
  );
  const memTh = idleAt(th, level)?.rssPerConnBytes ?? null;
  const memSio = idleAt(sio, level)?.rssPerConnBytes ?? null;
  const memRatio = ratio(memTh, memSio);
  add(
    `memory (RSS) per idle connection ≤ ½ of Socket.IO (at ${level ?? '—'} connections)`,
    memRatio === null ? '—' : `${fmt(memRatio)}×`,
    memRatio === null ? null : memRatio <= 0.5,
  );
  const top = th?.idle?.levels?.reduce((m, l) => (!m || l.connections > m.connections ? l : m), null) ?? null;
  const maxConn = top?.connections ?? null;
  add(
    '20,000 concurrent connections on one gateway process',
    maxConn === null ? '—' : (fdNote(top, true) ?? `${maxConn} held`),
    maxConn === null ? null : maxConn >= 20000,
  );
  const before = p99(th);
  const after = th?.load?.withSlow?.latency?.p99Ms ?? null;
  const move = before && after !== null ? (after - before) / before : null;
  add(
    "10% slow clients move the others' p99 by ≤ 20%",
    move === null ? '—' : `${fmt(move * 100, 0)}%`,
    move === null ? null : move <= 0.2,
  );
  return targets;
}

// ---- headline: one small table per named workload --------------------------------------------------

const cpmOf = (r) => r?.load?.steady?.cpuSecondsPerMillionUpdates ?? null;
const p99Of = (r) => r?.load?.steady?.latency?.p99Ms ?? null;
const perFrameOf = (r) => {
  const s = r?.load?.steady;
  return s && s.frames > 0 ? s.updates / s.frames : null;
};

/**
 * Targets per named workload (reported, never asserted): each is checked for every tickhub row of the
 * run (the default subscribe, `leading: false`), against the peers of the same run.
 */
export const WORKLOAD_TARGETS = {
  small: [
    {
      name: 'CPU per delivered update ≤ 0.9× Socket.IO',
      value: (r, by) => ratio(cpmOf(r), cpmOf(by.socketio)),
      max: 0.9,
      unit: '×',
    },
  ],
  dashboard: [
    {
      name: 'CPU per delivered update ≤ 0.25× Socket.IO',
      value: (r, by) => ratio(cpmOf(r), cpmOf(by.socketio)),
      max: 0.25,
      unit: '×',
    },
    {
      name: 'CPU per delivered update ≤ 0.5× the pre-framed floor',
      value: (r, by) => ratio(cpmOf(r), cpmOf(by.preframed)),
      max: 0.5,
      unit: '×',
    },
    { name: 'p99 ≤ 270 ms', value: (r) => p99Of(r), max: 270, unit: ' ms' },
    { name: 'updates per frame ≥ 20', value: (r) => perFrameOf(r), min: 20, unit: '' },
  ],
};

const TICKHUB_ROWS = ['tickhub', 'tickhub-aligned'];

/** The headline of one run: five columns per server, then its workload's targets. */
export function headline(report) {
  const { results, workload: w } = report;
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  const sio = cpmOf(by.socketio);
  const lines = [];
  lines.push(
    `**${report.workloadName}**: ${w.clients} clients × ${w.symbolsPerClient} of ${w.symbols} symbols at ${w.maxHz} Hz, ${w.ticksPerSec} ticks/s; run \`${report.runId}\`, \`${report.command}\`.`,
    '',
    '| server | delivered updates/s | CPU-s per 1M updates (× Socket.IO) | p99 ms | updates per frame |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  for (const r of results) {
    if (r.error) continue;
    const s = r.load?.steady;
    const x = ratio(cpmOf(r), sio);
    lines.push(
      `| ${r.label} | ${s?.updatesPerSec ?? '—'} | ${fmt(cpmOf(r))}${x === null ? '' : ` (${fmt(x)}×)`} | ${fmt(p99Of(r), 0)} | ${fmt(perFrameOf(r), 1)} |`,
    );
  }
  const targets = WORKLOAD_TARGETS[report.workloadName] ?? [];
  const rows = TICKHUB_ROWS.filter((name) => by[name] && !by[name].error);
  if (targets.length && rows.length) {
    lines.push(
      '',
      `| target (${report.workloadName}) | ${rows.map((n) => by[n].label).join(' | ')} |`,
      `| --- |${rows.map(() => ' --- |').join('')}`,
    );
    for (const t of targets) {
      const cells = rows.map((n) => {
        const v = t.value(by[n], by);
        if (v === null) return '—';
        const met = t.max !== undefined ? v <= t.max : v >= t.min;
        return `${fmt(v)}${t.unit}: ${met ? 'met' : 'not met'}`;
      });
      lines.push(`| ${t.name} | ${cells.join(' | ')} |`);
    }
  }
  return lines;
}

function markdown(report, targets, jsonPath, svgName, workloadRuns = []) {
  const { results, workload: w, machine: m } = report;
  const th = results.find((r) => r.name === 'tickhub');
  const level = commonIdleLevel(results);
  const thCpm = th?.load?.steady?.cpuSecondsPerMillionUpdates ?? null;
  const thNet = th?.load?.steady?.netCpuSecondsPerMillionUpdates ?? null;
  const thP99 = th?.load?.steady?.latency?.p99Ms ?? null;
  const thMem = idleAt(th, level)?.rssPerConnBytes ?? null;
  const lines = [];
  lines.push('# Benchmarks: tickhub, Socket.IO and plain ws side by side', '');
  lines.push(
    'The same workload goes through each server, one after another in one run: the same simulated market',
    '(`@tickhub/market-sim`, same seed, tick rate and universe), the same clients subscribed to the same',
    'symbols, the same update rate per symbol. Load comes from separate processes; the server CPU figure is',
    "the server process's own `utime + stime` from `/proc/<pid>/stat` over the measured window.",
    '',
  );
  if (workloadRuns.length) {
    lines.push(
      '## Headline',
      '',
      'The latest run of each named workload (`--workload`), with the targets of this round (reported,',
      'never asserted). Each table comes from one run of the harness, every server of it measured one',
      'after another on the same machine; "updates per frame" is what the clients counted. The wide',
      'table of the latest run (whichever workload it was) follows under Results.',
      '',
    );
    for (const run of workloadRuns) lines.push(...headline(run), '');
  }
  lines.push('## Results', '');
  lines.push(`Run \`${report.runId}\` (${report.date}), **${report.mode}** mode: \`${report.command}\`.`, '');
  lines.push(
    `Machine: ${m.cores} cores (${m.cpuModel}), Node ${m.node}, ${m.platform}; ${m.loadGenerators} load-generator processes; ${m.note}.`,
    '',
  );
  lines.push(
    `Workload: ${w.clients} clients, each subscribed to ${w.symbolsPerClient} of ${w.symbols} symbols at ${w.maxHz} Hz; ${w.ticksPerSec} source ticks/s (Zipf activity over the symbols); ${w.windowSeconds} s measured after ${w.warmupSeconds} s warm-up; idle connections at ${w.idleLevels.length ? [...w.idleLevels].join(', ') : 'none (no idle step)'}${w.idleTickhubExtra?.length ? ` (tickhub also ${w.idleTickhubExtra.map(extraText).join(', ')})` : ''}; slow clients: ${w.slowClients}.`,
    '',
  );

  lines.push(
    `| server | updates/s | server CPU (no clients) | CPU-s per 1M updates | × tickhub | net of no-client CPU | × tickhub | p50 ms | p99 ms | p99.9 ms | × tickhub p99 | RSS KiB / idle conn @${level ?? '—'} | × tickhub | heap KiB / idle conn | p99 with 10% slow | Δ p99 |`,
  );
  lines.push(
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of results) {
    if (r.error) {
      lines.push(`| ${r.label} | failed: ${r.error.replace(/\|/g, '/').slice(0, 160)} |||||||||||||||`);
      continue;
    }
    const s = r.load?.steady;
    const idle = idleAt(r, level);
    const slowP99 = r.load?.withSlow?.latency?.p99Ms ?? null;
    const delta =
      s?.latency?.p99Ms && slowP99 !== null ? ((slowP99 - s.latency.p99Ms) / s.latency.p99Ms) * 100 : null;
    lines.push(
      `| ${r.label} | ${s?.updatesPerSec ?? '—'} | ${s?.serverCpuPercent ?? '—'}% (${r.idle?.baseline?.noClientCpuPercent ?? '—'}%) | ${fmt(s?.cpuSecondsPerMillionUpdates)} | ${fmt(ratio(s?.cpuSecondsPerMillionUpdates, thCpm))} | ${fmt(s?.netCpuSecondsPerMillionUpdates)} | ${fmt(ratio(s?.netCpuSecondsPerMillionUpdates, thNet))} | ${fmt(s?.latency?.p50Ms)} | ${fmt(s?.latency?.p99Ms)} | ${fmt(s?.latency?.p999Ms)} | ${fmt(ratio(s?.latency?.p99Ms, thP99))} | ${fmt(kib(idle?.rssPerConnBytes), 1)} | ${fmt(ratio(idle?.rssPerConnBytes, thMem))} | ${fmt(kib(idle?.heapPerConnBytes), 1)} | ${fmt(slowP99)} | ${delta === null ? '—' : `${delta >= 0 ? '+' : ''}${fmt(delta, 0)}%`} |`,
    );
  }
  lines.push('');
  const idleRows = results.flatMap((r) => (r.idle?.levels ?? []).map((l) => ({ r, l })));
  if (idleRows.length) {
    lines.push('### Idle connections', '');
    lines.push('| server | target | held | failed | RSS MiB | RSS KiB / conn | heap KiB / conn |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const { r, l } of idleRows) {
      lines.push(
        `| ${r.label} | ${l.target} | ${fdNote(l) ?? l.connections} | ${l.failed} | ${fmt(l.rssBytes / 1048576, 1)} | ${fmt(kib(l.rssPerConnBytes), 1)} | ${fmt(kib(l.heapPerConnBytes), 1)} |`,
      );
    }
    lines.push('');
  }
  lines.push(`![CPU per million updates, p99 latency and memory per idle connection](${svgName})`, '');
  lines.push('## Targets for tickhub (reported, never asserted)', '');
  lines.push('| target | measured | met |', '| --- | --- | --- |');
  for (const t of targets)
    lines.push(`| ${t.name} | ${t.value} | ${t.met === null ? 'n/a' : t.met ? 'yes' : 'no'} |`);
  lines.push('');
  const stallText = (r) =>
    (r.sourceStalls ?? [])
      .map(
        (st) =>
          `no source tick accepted for ${st.seconds} s${st.endedAt ? '' : ' (until the end)'}, from the ${st.phase} phase: ${st.cause ?? 'unknown cause'}`,
      )
      .join('; ');
  const notes = results.filter((r) => r.notes || r.sourceStalls?.length);
  if (notes.length) {
    lines.push('## Server notes', '');
    for (const r of notes)
      lines.push(`- **${r.label}**: ${[r.notes, stallText(r)].filter(Boolean).join('; ')}`);
    lines.push('');
  }
  lines.push(
    '## How it is measured',
    '',
    '- **Servers.** Each runs as its own process, started fresh: tickhub\'s gateway (`apps/gateway/dist/main.js`, embedded mode; with Kafka and Redis too when `KAFKA_BROKERS` is set, the ingester then being the tick source), and `test/bench/peer-server.mjs` as Socket.IO (rooms per symbol, `@socket.io/redis-adapter` on `REDIS_URL`), as a naive ws server (each update to each subscriber as its own frame, serialized per send) and as a pre-framed ws server (each update serialized and framed once, the same bytes written to every subscriber). The peers throttle the simple way: the latest quote per symbol, flushed every 1/maxHz; tickhub throttles per (connection, symbol) with leading and trailing edge and batches per connection. The row "leading: false" is the same gateway, its clients subscribing with `"leading": false` (one clock per connection and rate, docs/protocol.md); the row "baseline build" is another build of the gateway (`--baseline-main`), measured in the same run for a before/after comparison.',
    '- **Clients.** WebSocket (or Socket.IO, websocket transport) clients from separate load-generator processes, spread over source addresses 127.0.0.2–127.0.0.9. They count updates without parsing and parse one frame in four to record latency.',
    "- **Delivered updates/s**: symbol updates received by all clients over the window. **CPU**: the server process's `utime + stime` over the window, per million delivered updates. It includes the simulated market, which every server runs the same way (in the Kafka variant the ingester is a separate process and not counted).",
    `- **Net CPU** subtracts the CPU the same server process used with no client connected (the simulated market, timers, metrics), measured over ${w.idleCpuSeconds ?? 1.5} s starting ${w.settleSeconds ?? 0} s after the server listens (so that the tail of start-up, JIT and the GC of start-up garbage, is left out); it isolates the cost of fan-out at small loads, where that fixed cost dominates.`,
    "- **Latency**: tick creation (`ts`, the simulator's `Date.now()`) to client receipt (`performance.timeOrigin + performance.now()`), in an HDR histogram (µs, 3 significant digits), merged over all clients. `ts` is whole milliseconds, so figures carry up to 1 ms of truncation. It includes the throttle: an update may wait up to one interval (1/maxHz) for its turn.",
    '- **Memory per idle connection**: (RSS, or V8 heap used, with N idle connections − before any) / N, after forced full GCs. Every server process starts the same way, `node --expose-gc --require test/bench/gc-on-signal.cjs …`: the preload runs `global.gc()` on SIGUSR2 and acknowledges it on stderr. For each memory figure (the baseline with no client, and each idle level after 1.5 s of settling) the harness three times sends SIGUSR2, waits for the acknowledgement and 250 ms more for freed pages to leave RSS, and reads RSS (`/proc/<pid>/status`) and heap used (the gateway on `/metrics`, the peers on `/debug/memory`); the minimum of the three is kept. The no-client CPU is measured before these GCs.',
    '- **Idle connections up to the fd limit.** Servers and load generators run with the soft fd limit raised to the hard limit (`ulimit -n`). For the gateway\'s largest level (`--idle-tickhub-extra max`, the full-mode default) the harness reads the gateway\'s own `RLIMIT_NOFILE` from `/proc/<pid>/limits` and counts its open descriptors in `/proc/<pid>/fd` once it is up and idle, and asks for limit − open − 16 connections, at most 20,000. The table then says "held N of 20,000 (fd hard limit L)": where the hard limit is 20,000 and cannot be raised, one process cannot hold 20,000 sockets plus its own descriptors, a limit of the machine, not of the gateway. Idle sockets are spread over as many load-generator processes as keep each under half its own fd limit (and at most 10,000).',
    "- **Logs.** Each server's stdout and stderr (and the ingester's, in the Kafka variant) are kept in `bench-results/<run>/<server>.log`.",
    "- **Source flow.** For the gateways the harness reads `source_ticks_total` and `source_ticks_stale_total` on `/metrics` once a second; a stretch of 3 s or more without an accepted tick is listed under Server notes with its cause (nothing arrived, or all was dropped as stale). The Kafka variant's gateway gets a Redis key prefix of its own (`REDIS_KEY_PREFIX=bench-<run>:`, deleted after the run), so that runs never share last values. (Before the ingester counted `seq` from its start time, a freshly started ingester counted from 1 again and, under a prefix an earlier run had used, every tick was dropped as stale until seq caught up: updates stopped for tens of seconds after the idle step.)",
    '- **Slow clients**: one client in ten reads its socket for 100 ms of every second; p99 of the other clients is compared with the window before.',
    "- Servers and load generators share the machine's cores: on a small machine the clients' cost limits the delivered rate of every server alike, so read the CPU per update and the latency rather than the absolute rate.",
    '',
    '## How to run',
    '',
    '```sh',
    'npm run bench            # builds what it measures (turbo, cached), then quick mode (seconds)',
    'npm run bench -- --full  # 2,000 clients, 1k/10k idle connections (the gateway also up to its fd limit, at most 20k)',
    'REDIS_URL=redis://127.0.0.1:6379 KAFKA_BROKERS=127.0.0.1:19092 npm run bench   # Socket.IO on Redis, tickhub with Kafka',
    '# run.mjs alone measures the builds in apps/*/dist as they are: `npm run build` first',
    'node test/bench/run.mjs --quick --clients 200 --symbols 50 --per-client 10 --hz 10 --seconds 10 --idle 1000',
    'node test/bench/run.mjs --quick --idle 1000 --idle-tickhub-extra max --only tickhub   # the fd-limit step alone',
    '# a named workload (small: 200 clients × 10 of 100 symbols at 10 Hz; dashboard: 500 × 40 of 200 at 4 Hz),',
    '# with another build measured in the same run; --only also sets the order of the servers',
    'node test/bench/run.mjs --quick --workload dashboard --baseline-main /tmp/before/apps/gateway/dist/main.js \\',
    '  --only tickhub-base,tickhub,tickhub-aligned,socketio,naive,preframed',
    '```',
    '',
    `Each run writes \`bench-results/bench-<timestamp>.json\` (all figures, this run: \`${jsonPath}\`), the servers' logs in \`bench-results/<timestamp>/\`, this page, \`${svgName}\` and \`benchmarks.json\` (the same figures as the JSON file, next to this page); a run of a named workload also writes \`benchmarks-<workload>.json\`, from which the headline tables are made.`,
    '',
  );
  return lines.join('\n');
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Three bar panels (CPU per 1M updates, p99, RSS per idle connection), one bar per server. */
function svg(report) {
  const level = commonIdleLevel(report.results);
  const ok = report.results.filter((r) => !r.error);
  const panels = [
    { title: 'server CPU-s per 1M updates', value: (r) => r.load?.steady?.cpuSecondsPerMillionUpdates },
    { title: 'p99 latency, ms', value: (r) => r.load?.steady?.latency?.p99Ms },
    {
      title: `RSS KiB per idle connection (@${level ?? '—'})`,
      value: (r) => kib(idleAt(r, level)?.rssPerConnBytes),
    },
  ];
  const colors = ['#1f77b4', '#9467bd', '#d62728', '#ff7f0e', '#2ca02c', '#8c564b'];
  const pw = 300;
  const ph = 220;
  const barArea = 150;
  const width = pw * panels.length + 20;
  const legendH = 20 * ok.length + 10;
  const height = ph + legendH + 40;
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(`tickhub benchmark, ${report.mode} mode, ${report.workload.clients} clients, ${report.machine.cores} cores, Node ${report.machine.node}`)}</text>`,
  );
  panels.forEach((p, pi) => {
    const x0 = 10 + pi * pw;
    const y0 = 40;
    const vals = ok.map((r) => p.value(r));
    const max = Math.max(...vals.filter((v) => typeof v === 'number' && Number.isFinite(v)), 0) || 1;
    parts.push(`<text x="${x0 + 5}" y="${y0 + 12}" font-weight="bold">${esc(p.title)}</text>`);
    const bw = Math.min(40, (pw - 40) / Math.max(1, ok.length) - 8);
    const baseY = y0 + 30 + barArea;
    parts.push(`<line x1="${x0 + 5}" y1="${baseY}" x2="${x0 + pw - 15}" y2="${baseY}" stroke="#333"/>`);
    vals.forEach((v, i) => {
      const bx = x0 + 15 + i * (bw + 8);
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        parts.push(`<text x="${bx}" y="${baseY - 4}" fill="#999">n/a</text>`);
        return;
      }
      const h = Math.max(1, (v / max) * barArea);
      parts.push(
        `<rect x="${bx}" y="${(baseY - h).toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[i % colors.length]}"/>`,
        `<text x="${bx + bw / 2}" y="${(baseY - h - 3).toFixed(1)}" text-anchor="middle" font-size="10">${esc(v >= 100 ? v.toFixed(0) : v.toFixed(2))}</text>`,
      );
    });
  });
  ok.forEach((r, i) => {
    const y = ph + 40 + i * 20;
    parts.push(
      `<rect x="15" y="${y - 10}" width="12" height="12" fill="${colors[i % colors.length]}"/>`,
      `<text x="33" y="${y}">${esc(r.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/**
 * `## ` sections of an existing page that this generator does not write (notes added by hand, such as
 * profiling work), so that a new run keeps them at the end of the page.
 */
function handWrittenSections(existing, generated) {
  const titles = new Set([...generated.matchAll(/^## (.+)$/gm)].map((m) => m[1].trim()));
  return existing
    .split(/^(?=## )/m)
    .slice(1)
    .filter((section) => !titles.has(section.slice(3, section.indexOf('\n')).trim()))
    .map((section) => section.trimEnd());
}

/** Writes the JSON, Markdown and SVG of a run; returns their paths. */
export function writeReports(report, { outDir, docsDir }) {
  mkdirSync(outDir, { recursive: true });
  mkdirSync(docsDir, { recursive: true });
  const targets = evaluateTargets(report);
  const full = { ...report, targets };
  const jsonPath = join(outDir, `bench-${report.runId}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(full, null, 2)}\n`);
  const mdPath = join(docsDir, 'benchmarks.md');
  const svgPath = join(docsDir, 'benchmarks.svg');
  // The published table's figures in full, next to it (bench-results/ is not kept in the repository).
  writeFileSync(join(docsDir, 'benchmarks.json'), `${JSON.stringify(full, null, 2)}\n`);
  // A named workload's latest run is kept too, so that the page heads with every workload's.
  if (report.workloadName) {
    writeFileSync(
      join(docsDir, `benchmarks-${report.workloadName}.json`),
      `${JSON.stringify(full, null, 2)}\n`,
    );
  }
  const workloadRuns = Object.keys(WORKLOAD_TARGETS)
    .map((name) => join(docsDir, `benchmarks-${name}.json`))
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')));
  writeFileSync(svgPath, svg(full));
  let page = markdown(full, targets, relative(process.cwd(), jsonPath), 'benchmarks.svg', workloadRuns);
  if (existsSync(mdPath)) {
    const kept = handWrittenSections(readFileSync(mdPath, 'utf8'), page);
    if (kept.length) page = `${page.trimEnd()}\n\n${kept.join('\n\n')}\n`;
  }
  writeFileSync(mdPath, page);
  return [jsonPath, mdPath, svgPath];
}
