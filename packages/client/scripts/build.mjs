// Builds the ESM entry (dist/esm) and the minified browser bundle (dist/browser) with esbuild; `tsc` builds
// the CommonJS entry and the declarations (dist/cjs). With --size it only measures the browser bundle.
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src/index.ts');
// msgpackr is loaded lazily only for protocol "msgpack"; ws only in Node without a global WebSocket.
const external = ['msgpackr', 'ws'];

async function browserBundle(write) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    external,
    write,
    outfile: join(root, 'dist/browser/tickhub-client.min.js'),
    legalComments: 'none',
  });
  return result.outputFiles?.[0]?.contents;
}

if (process.argv.includes('--size')) {
  const code = await browserBundle(false);
  const gzipped = gzipSync(code, { level: 9 });
  console.log(`@tickhub/client browser bundle (ESM, minified, without msgpackr): ${code.length} bytes`);
  console.log(`gzipped: ${gzipped.length} bytes (${(gzipped.length / 1024).toFixed(2)} KiB)`);
} else {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2020',
    external,
    sourcemap: true,
    outfile: join(root, 'dist/esm/index.js'),
  });
  await browserBundle(true);
  // The ESM folder is an ES module scope; its declarations are those of the CommonJS build.
  await mkdir(join(root, 'dist/esm'), { recursive: true });
  await writeFile(join(root, 'dist/esm/package.json'), '{ "type": "module" }\n');
  await writeFile(join(root, 'dist/esm/index.d.ts'), "export * from '../cjs/index.js';\n");
  await writeFile(join(root, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n');
  await inlineProtocolTypes();
}

/**
 * The declarations name the wire types of `@tickhub/protocol`, a workspace package that is not
 * published: they get a copy of its types file and of the files that one imports (relative imports
 * only), so that the packed SDK installs and type-checks with nothing but `ws`.
 */
async function inlineProtocolTypes() {
  const require = createRequire(import.meta.url);
  const from = dirname(require.resolve('@tickhub/protocol'));
  const to = join(root, 'dist/cjs/protocol');
  await mkdir(to, { recursive: true });
  const pending = ['types.d.ts'];
  const copied = new Set();
  while (pending.length > 0) {
    const file = pending.pop();
    if (copied.has(file)) continue;
    copied.add(file);
    const text = await readFile(join(from, file), 'utf8');
    for (const m of text.matchAll(/from '([^']+)'/g)) {
      if (!m[1].startsWith('./'))
        throw new Error(`${file} imports ${m[1]}: only relative imports can be inlined`);
      pending.push(`${m[1].slice(2)}.d.ts`);
    }
    await copyFile(join(from, file), join(to, file));
  }
  // What the package's index exports of those files, in one place for the SDK's declarations.
  const modules = [...copied].map((file) => `export * from './${file.slice(0, -'.d.ts'.length)}';`);
  await writeFile(join(to, 'index.d.ts'), `${modules.sort().join('\n')}\n`);
  const cjs = join(root, 'dist/cjs');
  for (const file of await readdir(cjs)) {
    if (!file.endsWith('.d.ts')) continue;
    const path = join(cjs, file);
    const text = await readFile(path, 'utf8');
    const rewritten = text.replaceAll("from '@tickhub/protocol'", "from './protocol/index'");
    if (rewritten !== text) await writeFile(path, rewritten);
  }
}
