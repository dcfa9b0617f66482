// The apps' variables as their schemas list them (apps/*/variables.json) against what their source
// reads, against turbo.json (whose strict env mode would otherwise hide a setting from `npm run dev`),
// the docs' tables made from the schemas (test/services/config.mjs), and the warning `npm run dev`
// gives for a variable no app reads.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const variables = path.resolve(__dirname, '..', 'services', 'variables.mjs');
const config = path.resolve(__dirname, '..', 'services', 'config.mjs');

it('lists every variable the apps read, and turbo.json passes them all through', async () => {
  const { stderr } = await run(process.execPath, [variables, '--check']).catch((error) => error);
  expect(stderr).toBe('');
});

it('names the variables that look like ours but that no app reads', async () => {
  const script = `import(${JSON.stringify(variables)}).then((m) => console.log(JSON.stringify(m.unknownVariables({
    TICKHUB_FOO: '1', KAFKA_BROKRS: 'x', PORT: '1', AUTH_MODE: 'off', HOME: '/', TICKHUB_EMBEDDED: '1' }))))`;
  const { stdout } = await run(process.execPath, ['-e', script]);
  expect(JSON.parse(stdout)).toEqual(['KAFKA_BROKRS', 'TICKHUB_FOO']);
});

it("keeps apps/*/variables.json, the docs' variable tables and turbo.json as the schemas make them", async () => {
  const { stderr } = await run(process.execPath, [config, '--check']).catch((error) => error);
  expect(stderr).toBe('');
});

it('makes a stale table between the markers again, and refuses a marker that names no variables', async () => {
  const script = `import(${JSON.stringify(config)}).then((m) => {
    const apps = { gateway: { variables: [
      { name: 'PORT', accepts: 'integer', default: '8080', doc: 'port', secret: false, required: false, group: 'main' },
    ] } };
    console.log(JSON.stringify(m.fillTables('a\\n<!-- variables:gateway:main -->\\n| old |\\n<!-- /variables -->\\nb', apps, 'x.md')));
    try { m.fillTables('<!-- variables:gateway:nothing -->\\n<!-- /variables -->', apps, 'x.md'); } catch (e) { console.log(JSON.stringify(e.message)); }
  })`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  const [filled, refused] = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(filled).toBe(
    [
      'a',
      '<!-- variables:gateway:main -->',
      '',
      '| variable | default | accepts | meaning |',
      '| -------- | ------- | ------- | ------- |',
      '| `PORT`   | `8080`  | integer | port    |',
      '',
      '<!-- /variables -->',
      'b',
    ].join('\n'),
  );
  expect(refused).toBe('x.md: no variables of gateway in group nothing');
});

it("npm run config prints every app's variables, the values set here, and no secret", async () => {
  const secret = 's'.repeat(40);
  const { stdout } = await run(process.execPath, [config], {
    env: { ...process.env, PORT: '18123', AUTH_HS256_SECRET: secret, TICK_RATE: '77' },
  });
  expect(stdout).toContain('== gateway');
  expect(stdout).toContain('== ingester');
  expect(stdout).toContain('== dashboard');
  expect(stdout).toContain('  PORT=18123   (default 8080; integer 0–65535)');
  expect(stdout).toContain('  AUTH_HS256_SECRET=<hidden>');
  expect(stdout).toContain('  TICK_RATE=77   (default 2000;');
  expect(stdout).toContain('  DASHBOARD_DEV_PORT');
  expect(stdout).not.toContain(secret);
});
