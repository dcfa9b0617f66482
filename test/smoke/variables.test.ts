// The one list of the apps' variables (test/services/variables.mjs) against what their source reads,
// against turbo.json (whose strict env mode would otherwise hide a setting from `npm run dev`), and the
// warning `npm run dev` gives for a variable no app reads.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const variables = path.resolve(__dirname, '..', 'services', 'variables.mjs');

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
