import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { GATEWAY_VARIABLES } from '../src/variables';
import { loggedLine } from './support/auth';

jest.setTimeout(60_000);

let gw: GatewayProcess;

beforeAll(async () => {
  gw = await startGateway({});
});

afterAll(async () => {
  await gw?.stop();
});

describe('start-up', () => {
  it('says where everything is, with the real port, once ready', async () => {
    const http = `http://127.0.0.1:${gw.port}`;
    const line = await loggedLine(gw.logs, [
      `"msg":"tickhub is running: dashboard ${http} · WebSocket ws://127.0.0.1:${gw.port}/ws · SignalR ${http}/hubs/market"`,
    ]);
    expect(line).toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({ level: 'info', dashboard: http });
  });

  it('names the variable when the port is taken, and exits 1', async () => {
    await expect(startGateway({ PORT: String(gw.port) })).rejects.toThrow(
      `PORT ${gw.port} is already in use on 127.0.0.1: set PORT (and HOST) to a free address`,
    );
  });

  it('names every bad variable on a line of its own, and exits 1', async () => {
    const failure = startGateway({ PORT: 'x', MAX_HZ: 'fast', REDIS_URL: 'http://x' });
    await expect(failure).rejects.toThrow('gateway exited (1) before listening');
    const message = String(await failure.catch((error: unknown) => error));
    const lines = message.split('\n').filter((line) => line.includes('invalid configuration'));
    expect(lines.map((line) => JSON.parse(line.replace(/^stderr: /, '')).msg)).toEqual([
      'invalid configuration: PORT must be an integer >= 0 and <= 65535, got "x"',
      'invalid configuration: REDIS_URL must start with redis:// or rediss://',
      'invalid configuration: MAX_HZ must be a number >= 0.001 and <= 1000, got "fast"',
    ]);
  });
});

describe('--help', () => {
  it('prints every variable with its default and doc, the values set, and never a secret', async () => {
    const main = join(__dirname, '..', 'dist', 'main.js');
    const { stdout } = await promisify(execFile)(process.execPath, [main, '--help'], {
      env: { ...process.env, PORT: '18123', PUBLISH_ACCESS_KEY: 'k'.repeat(40) },
    });
    for (const name of Object.keys(GATEWAY_VARIABLES)) expect(stdout).toContain(`  ${name}`);
    expect(stdout).toContain('PORT=18123   (default 8080; integer 0–65535)');
    expect(stdout).toContain('      HTTP and WebSocket port');
    expect(stdout).toContain('PUBLISH_ACCESS_KEY=<hidden>');
    expect(stdout).not.toContain('k'.repeat(40));
  });
});
