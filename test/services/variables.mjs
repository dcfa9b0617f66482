// The environment variables the apps read, as their schemas list them (apps/<app>/variables.json, which
// `npm run docs:config` writes from apps/<app>/src/variables.ts), and what is made from them:
// - turbo.json's globalPassThroughEnv (`node test/services/variables.mjs --write-turbo`), so that
//   `turbo run dev` (strict env mode) hands every setting to the apps;
// - `npm run dev`'s warning about variables it does not know (a typo, or a setting of another tool).
// test/smoke/variables.test.ts checks that every variable an app's source reads is in its schema and
// that turbo.json is up to date.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The apps whose schemas list their variables (apps/<app>/variables.json, written from the schema). */
export const APPS = ['gateway', 'ingester', 'dashboard'];

/** The ingest benchmark's own settings (apps/ingester/src/bench.ts), beside the ingester's. */
const INGEST_BENCH_VARIABLES = ['BENCH_PHASES', 'BENCH_KEEP_TOPIC', 'BENCH_SECONDS', 'BENCH_RATE'];

/** `npm run dev` and the service launchers. */
const DEV_VARIABLES = [
  'TICKHUB_EMBEDDED',
  'TICKHUB_CACHE_DIR',
  'TICKHUB_KAFKA_PORT',
  'TICKHUB_KAFKA_CONTROLLER_PORT',
  'TICKHUB_REDIS_PORT',
  'TICKHUB_KAFKA_HEAP',
  'TICKHUB_DEBUG',
  'KAFKAJS_NO_PARTITIONER_WARNING',
];

/** The names of each app's variables, as its schema lists them. */
export function schemaVariables() {
  return Object.fromEntries(
    APPS.map((app) => {
      const file = join(ROOT, 'apps', app, 'variables.json');
      return [app, JSON.parse(readFileSync(file, 'utf8')).map((v) => v.name)];
    }),
  );
}

/** Every variable each app (and its tools) reads, and those of `npm run dev`. */
export function appVariables(schemas = schemaVariables()) {
  return {
    ...schemas,
    ingester: [...schemas.ingester, ...INGEST_BENCH_VARIABLES],
    dev: DEV_VARIABLES,
  };
}

/** What the tools around the apps need (turbo's strict mode hides everything else). */
const TOOL_VARIABLES = ['CI', 'HOME', 'PATH', 'JAVA_HOME'];

export function knownVariables() {
  return new Set([...Object.values(appVariables()).flat(), ...TOOL_VARIABLES]);
}

/** Prefixes of the apps' variables: an unknown variable with one of them is likely a typo. */
const OUR_PREFIXES =
  /^(TICKHUB_|PUBLISH_|CANDLE_|KAFKA_|REDIS_|AUTH_|SIM_|REPLAY_|INGESTER_|GATEWAY_|DASHBOARD_|MAX_|MIN_)/;

/** Variables of the environment that look like settings of ours but that no app reads. */
export function unknownVariables(env = process.env) {
  const known = knownVariables();
  return Object.keys(env)
    .filter((name) => OUR_PREFIXES.test(name) && !known.has(name))
    .sort();
}

/** turbo.json's globalPassThroughEnv, made from the apps' schemas (`schemas`: app → names). */
export function turboPassThrough(schemas = schemaVariables()) {
  const names = Object.values(appVariables(schemas)).flat();
  // TICKHUB_* stays a wildcard: test runs and tools may add their own without a change here.
  return [...new Set([...names, ...TOOL_VARIABLES, 'TICKHUB_*'])].sort();
}

/** turbo.json's text with its globalPassThroughEnv made from the schemas, the rest (and its format) kept. */
export function turboJsonText(schemas = schemaVariables()) {
  const text = readFileSync(join(ROOT, 'turbo.json'), 'utf8');
  const list = turboPassThrough(schemas)
    .map((name) => `    ${JSON.stringify(name)}`)
    .join(',\n');
  return text.replace(/"globalPassThroughEnv": \[[^\]]*\]/, `"globalPassThroughEnv": [\n${list}\n  ]`);
}

/** The variables each app's source reads: `(env, 'NAME'`, `env.NAME`, `process.env.NAME`. */
export function variablesReadBySource() {
  const found = {};
  for (const app of readdirSync(join(ROOT, 'apps'))) {
    const names = new Set();
    const files = [];
    const walk = (dir) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ts|mts|mjs)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) files.push(path);
      }
    };
    for (const dir of ['src']) {
      try {
        walk(join(ROOT, 'apps', app, dir));
      } catch {
        // An app without that folder.
      }
    }
    for (const extra of ['vite.config.ts', 'vite.config.mts']) {
      try {
        readFileSync(join(ROOT, 'apps', app, extra));
        files.push(join(ROOT, 'apps', app, extra));
      } catch {
        // No such config.
      }
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\(\s*env,\s*'([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]);
      for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]);
    }
    found[app] = [...names].sort();
  }
  return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = join(ROOT, 'turbo.json');
  const turbo = JSON.parse(readFileSync(path, 'utf8'));
  if (process.argv.includes('--write-turbo')) {
    writeFileSync(path, turboJsonText());
    console.log(`turbo.json: globalPassThroughEnv has ${turboPassThrough().length} variables`);
  } else if (process.argv.includes('--check')) {
    const problems = [];
    for (const [app, names] of Object.entries(variablesReadBySource())) {
      const listed = new Set(appVariables()[app] ?? []);
      for (const name of names) {
        if (!listed.has(name))
          problems.push(
            `apps/${app} reads ${name}, which its schema (apps/${app}/src/variables.ts) does not list`,
          );
      }
    }
    const expected = turboPassThrough();
    const actual = turbo.globalPassThroughEnv ?? [];
    if (JSON.stringify([...actual].sort()) !== JSON.stringify(expected)) {
      problems.push(
        'turbo.json globalPassThroughEnv is out of date: node test/services/variables.mjs --write-turbo',
      );
    }
    for (const problem of problems) console.error(problem);
    process.exitCode = problems.length ? 1 : 0;
  } else {
    for (const [app, names] of Object.entries(appVariables())) console.log(`${app}: ${names.join(' ')}`);
  }
}
