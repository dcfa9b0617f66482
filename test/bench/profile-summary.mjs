// Top self-time functions of a V8 .cpuprofile (`node --cpu-prof`), by function and file, plus totals per
// file group (gateway, protocol, backplane, market-sim, ws, node internals, GC, idle).
//   node test/bench/profile-summary.mjs <file.cpuprofile | dir> [--top N] [--skip SECONDS] [--until SECONDS]
// --skip leaves out the first seconds of the profile (module loading and start-up), so that a profile of
// a whole process run shows its steady state.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const topIdx = args.indexOf('--top');
const top = topIdx >= 0 ? Number(args.splice(topIdx, 2)[1]) : 30;
const skipIdx = args.indexOf('--skip');
const skipUs = skipIdx >= 0 ? Number(args.splice(skipIdx, 2)[1]) * 1e6 : 0;
// --until ends the window (seconds from the profile's start), e.g. to keep only a harness's steady phase.
const untilIdx = args.indexOf('--until');
const untilUs = untilIdx >= 0 ? Number(args.splice(untilIdx, 2)[1]) * 1e6 : Number.POSITIVE_INFINITY;
let file = args[0];
if (!file) {
  console.error(
    'usage: node test/bench/profile-summary.mjs <file.cpuprofile | dir> [--top N] [--skip SECONDS] [--until SECONDS]',
  );
  process.exit(2);
}
if (statSync(file).isDirectory()) {
  // The newest profile in the directory: one run writes one file per thread.
  const files = readdirSync(file)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(file, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files.length === 0) throw new Error(`no .cpuprofile in ${file}`);
  file = files[0];
}

const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const intervals = profile.timeDeltas;
let at = 0;
let firstAt;
let lastAt = 0;
for (let i = 0; i < profile.samples.length; i++) {
  at += intervals[i];
  if (at < skipUs || at > untilUs) continue;
  firstAt ??= at;
  lastAt = at;
  const id = profile.samples[i];
  // timeDeltas[i] is the time before sample i; the sample's own duration is the next delta.
  const dt = intervals[i + 1] ?? 0;
  self.set(id, (self.get(id) ?? 0) + dt);
}

function shortUrl(url) {
  if (!url) return '';
  return url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'node_modules/')
    .replace(/^.*\/(apps|packages)\//, '$1/');
}

function group(node) {
  const { functionName, url } = node.callFrame;
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(garbage collector)') return '(gc)';
  if (functionName === '(program)') return '(program)';
  const u = shortUrl(url);
  if (!u) return '(native)';
  if (u.startsWith('node:')) return 'node internals';
  if (u.startsWith('apps/gateway/')) return 'gateway';
  const m = /^packages\/([^/]+)\//.exec(u) ?? /^node_modules\/(@[^/]+\/[^/]+|[^/]+)\//.exec(u);
  return m ? m[1] : u;
}

const byFn = new Map();
const byGroup = new Map();
let total = 0;
let busy = 0;
for (const [id, us] of self) {
  const node = byId.get(id);
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'}  ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
  const g = group(node);
  byGroup.set(g, (byGroup.get(g) ?? 0) + us);
  total += us;
  if (g !== '(idle)') busy += us;
}

const ms = (us) => (us / 1000).toFixed(1).padStart(9);
const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
const wall = (lastAt - (firstAt ?? 0)) / 1e6;
console.log(`${file}`);
console.log(
  `${skipUs ? `after the first ${skipUs / 1e6} s: ` : ''}wall ${wall.toFixed(1)} s, sampled ${(total / 1e6).toFixed(1)} s, busy (not idle) ${(busy / 1e6).toFixed(2)} s = ${((100 * busy) / 1e6 / wall).toFixed(1)}% of one core`,
);
console.log('\nself time by group (% of busy):');
for (const [g, us] of [...byGroup].filter(([g]) => g !== '(idle)').sort((a, b) => b[1] - a[1])) {
  console.log(`${ms(us)} ms ${pct(us)}  ${g}`);
}
console.log(`\ntop ${top} functions by self time (% of busy):`);
for (const [k, us] of [...byFn]
  .filter(([k]) => !k.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)) {
  console.log(`${ms(us)} ms ${pct(us)}  ${k}`);
}
