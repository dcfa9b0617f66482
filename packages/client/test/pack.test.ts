import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';

// What a user outside the monorepo does: `npm pack` the SDK, install the tarball and `ws` in an empty
// folder, and run the README's examples against a real gateway.
jest.setTimeout(180_000);

const run = promisify(execFile);
const PACKAGE = join(__dirname, '..');
const TSC = require.resolve('typescript/bin/tsc');

let dir: string;
let tarball: string;
let gateway: GatewayProcess;

/** The README's fenced code block that starts with `firstLine`. */
async function readmeExample(firstLine: string): Promise<string> {
  const readme = await readFile(join(PACKAGE, 'README.md'), 'utf8');
  for (const block of readme.matchAll(/```(?:js|ts)\n([\s\S]*?)```/g)) {
    if ((block[1] as string).startsWith(firstLine)) return block[1] as string;
  }
  throw new Error(`no README example starts with ${firstLine}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickhub-client-pack-'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: PACKAGE });
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(dir, (info as { filename: string }).filename);
  await writeFile(join(dir, 'package.json'), '{ "name": "sdk-user", "private": true }\n');
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, 'ws'], { cwd: dir });
  gateway = await startGateway();
});

afterAll(async () => {
  await gateway?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('packs only what a user needs, and depends on nothing unpublished', async () => {
  const listed = await run('tar', ['-tzf', tarball]);
  const files = listed.stdout.trim().split('\n');
  expect(files).toEqual(
    expect.arrayContaining([
      'package/package.json',
      'package/README.md',
      'package/CHANGELOG.md',
      'package/dist/esm/index.js',
      'package/dist/cjs/index.js',
      'package/dist/cjs/index.d.ts',
      'package/dist/cjs/protocol/index.d.ts',
      'package/dist/browser/tickhub-client.min.js',
    ]),
  );
  expect(files.some((f) => f.includes('/src/') || f.includes('/test/'))).toBe(false);
  const manifest = JSON.parse(await readFile(join(dir, 'node_modules/@tickhub/client/package.json'), 'utf8'));
  expect(manifest.private).toBeUndefined();
  expect(manifest.dependencies).toBeUndefined();
});

it("runs the README's Node ESM example: subscribes, prints quotes, closes", async () => {
  await writeFile(join(dir, 'quotes.mjs'), await readmeExample('// quotes.mjs'));
  const { stdout } = await run(process.execPath, ['quotes.mjs', gateway.ws], { cwd: dir, timeout: 60_000 });
  expect(stdout).toContain("subscribed to [ 'AAPL', 'EURUSD' ]");
  expect(stdout).toMatch(/^AAPL \d+ [\d.]+ [\d.]+ \(snapshot\)$/m);
  expect(stdout).toMatch(/^round trip \d+(\.\d+)? ms$/m);
  expect(stdout).toContain('book');
});

it("runs the README's CommonJS example, loading ws on demand", async () => {
  const example = (await readmeExample('// quotes.cjs')).replace('ws://localhost:8080/ws', gateway.ws);
  await writeFile(join(dir, 'quotes.cjs'), example);
  const { stdout } = await run(process.execPath, ['quotes.cjs'], { cwd: dir, timeout: 60_000 });
  expect(stdout).toContain("subscribed to [ 'MSFT' ]");
  expect(stdout).toMatch(/^MSFT [\d.]+$/m);
});

it('type-checks a TypeScript user of the package with only the tarball installed', async () => {
  await writeFile(
    join(dir, 'user.ts'),
    [
      "import { connect, type Quote, type Feed } from '@tickhub/client';",
      "const feed: Feed = connect({ url: 'ws://localhost:8080/ws' });",
      "feed.subscribe(['AAPL']).on('quote', (q: Quote) => console.log(q.symbol, q.bid.toFixed(2)));",
      '// @ts-expect-error: a quote has no such field',
      "feed.subscribe(['AAPL']).on('quote', (q: Quote) => q.nope);",
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        types: [],
      },
      files: ['user.ts'],
    }),
  );
  // tsc reports on stdout: show it when the check fails.
  const checked = await run(process.execPath, [TSC, '-p', '.'], { cwd: dir }).then(
    () => '',
    (error: { stdout?: string }) => error.stdout ?? 'tsc failed',
  );
  expect(checked).toBe('');
});
