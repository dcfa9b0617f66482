// The apps' environment variables, from their schemas (apps/gateway/src/variables.ts,
// apps/ingester/src/variables.ts, apps/dashboard/dev-server.variables.mjs), and what is made from them:
//
//   node test/services/config.mjs            every app's variables with default, doc and the value set
//                                            here, secrets hidden (`npm run config`, which builds first)
//   node test/services/config.mjs --write    writes apps/*/variables.json (the plain-data list that
//                                            test/services/variables.mjs and `npm run dev` read without a
//                                            build), the docs' tables between their markers and turbo.json
//                                            (`npm run docs:config`)
//   node test/services/config.mjs --check    names each of those files that is out of date, exit 1
//                                            (test/smoke/variables.test.ts)
//
// A table in a Markdown file sits between `<!-- variables:APP:GROUP -->` and `<!-- /variables -->`,
// and lists the variables of that app and group (`main` unless the schema says otherwise).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, turboJsonText } from './variables.mjs';

const require = createRequire(import.meta.url);
const { describeVariables, formatMarkdownTable } = require('@tickhub/config');

/** The documents whose variable tables are generated. */
export const DOCUMENTS = [
  'README.md',
  'apps/gateway/README.md',
  'apps/ingester/README.md',
  'apps/dashboard/README.md',
  'docs/operations.md',
  'docs/security.md',
];

/** Each app's schema and --help, from the built apps (the dashboard's is plain JavaScript). */
async function loadApps() {
  const built = (app) => {
    const file = join(ROOT, 'apps', app, 'dist', 'variables.js');
    try {
      return require(file);
    } catch (error) {
      throw new Error(
        `${file} cannot be loaded (build first: npx turbo run build --filter=@tickhub/${app}): ${error.message}`,
      );
    }
  };
  const gateway = built('gateway');
  const ingester = built('ingester');
  const dashboard = await import(join(ROOT, 'apps', 'dashboard', 'dev-server.variables.mjs'));
  return {
    gateway: { variables: describeVariables(gateway.GATEWAY_VARIABLES), help: gateway.gatewayHelp },
    ingester: { variables: describeVariables(ingester.INGESTER_VARIABLES), help: ingester.ingesterHelp },
    dashboard: { variables: describeVariables(dashboard.DASHBOARD_VARIABLES), help: dashboard.dashboardHelp },
  };
}

const MARKER = /(<!-- variables:([a-z]+):([a-z]+) -->)[\s\S]*?(<!-- \/variables -->)/g;

/** `text` with every table between markers made again from `apps`; throws on a marker naming nothing. */
export function fillTables(text, apps, file) {
  return text.replace(MARKER, (_all, open, app, group, close) => {
    const rows = apps[app]?.variables.filter((v) => v.group === group) ?? [];
    if (rows.length === 0) throw new Error(`${file}: no variables of ${app} in group ${group}`);
    return `${open}\n\n${formatMarkdownTable(rows)}\n\n${close}`;
  });
}

/** Every generated file: its path and the content it should have. */
function generatedFiles(apps) {
  const files = [];
  for (const [app, { variables }] of Object.entries(apps)) {
    files.push({ path: `apps/${app}/variables.json`, content: `${JSON.stringify(variables, null, 2)}\n` });
  }
  for (const path of DOCUMENTS) {
    files.push({ path, content: fillTables(readFileSync(join(ROOT, path), 'utf8'), apps, path) });
  }
  return files;
}

function turboJson(apps) {
  return turboJsonText(
    Object.fromEntries(Object.entries(apps).map(([app, a]) => [app, a.variables.map((v) => v.name)])),
  );
}

async function main() {
  const apps = await loadApps();
  const files = [...generatedFiles(apps), { path: 'turbo.json', content: turboJson(apps) }];
  if (process.argv.includes('--write')) {
    for (const { path, content } of files) {
      if (read(path) !== content) {
        writeFileSync(join(ROOT, path), content);
        console.log(`wrote ${path}`);
      }
    }
  } else if (process.argv.includes('--check')) {
    const stale = files.filter(({ path, content }) => read(path) !== content).map(({ path }) => path);
    for (const path of stale) console.error(`${path} is out of date: npm run docs:config`);
    process.exitCode = stale.length > 0 ? 1 : 0;
  } else {
    for (const [app, { help }] of Object.entries(apps))
      process.stdout.write(`== ${app}\n\n${help(process.env)}\n`);
  }
}

function read(path) {
  try {
    return readFileSync(join(ROOT, path), 'utf8');
  } catch {
    return undefined;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
}
