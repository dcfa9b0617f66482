// Runs the service launchers as real processes: a private redis-server comes up on a free port and
// is gone after SIGTERM; the test wrapper passes the services and the exit code through, and fails
// fast with a clear message when a service is unreachable and cannot be started.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@tickhub/testkit';
import Redis from 'ioredis';

const servicesDir = path.resolve(__dirname, '..', 'services');

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function finished(child: ChildProcess, timeoutMs: number): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function node(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(process.execPath, [path.join(servicesDir, script), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('redis.mjs run', () => {
  it('starts a private redis-server on a free port and stops it on SIGTERM', async () => {
    const child = node('redis.mjs', ['run']);
    const done = finished(child, 60_000);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk;
        const match = out.match(/REDIS_URL=(redis:\/\/127\.0\.0\.1:\d+)/);
        if (match?.[1]) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`redis.mjs exited early with ${code}`)));
    });
    expect(url).not.toBe('redis://127.0.0.1:6379');

    const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    expect(await client.set('launcher', 'up')).toBe('OK');
    expect(await client.get('launcher')).toBe('up');
    client.disconnect();

    child.kill('SIGTERM');
    const { code, stderr } = await done;
    expect(code).toBe(0);
    const pid = Number(stderr.match(/\(pid (\d+)\)/)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);

    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await expect(probe.connect()).rejects.toThrow();
    probe.disconnect();
  });
});

describe('kafka.mjs start', () => {
  it('refuses a port that is already taken instead of reporting another listener as its broker', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const result = await finished(node('kafka.mjs', ['start', '--port', String(port)]), 60_000);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`127.0.0.1:${port} is already in use`);
      expect(result.stdout).not.toContain('KAFKA_BROKERS=');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('with-services.mjs', () => {
  it('passes REDIS_URL to the command and exits with its exit code', async () => {
    const result = await finished(
      node('with-services.mjs', [
        '--no-kafka',
        '--',
        process.execPath,
        '-e',
        'console.log("child saw", process.env.REDIS_URL); process.exit(7)',
      ]),
      60_000,
    );
    expect(result.code).toBe(7);
    expect(result.stdout).toMatch(/child saw redis:\/\/\S+/);
    expect(result.stderr).toMatch(/\[services\] redis: (using|started)/);
  });

  it('fails fast naming what is missing when Kafka is unreachable and cannot be started', async () => {
    // A PATH holding only node: no java, no mvn; an empty jar cache so Maven would be needed.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tickhub-nojava-'));
    try {
      symlinkSync(process.execPath, path.join(dir, 'node'));
      const { JAVA_HOME: _javaHome, ...inherited } = process.env;
      const env = {
        ...inherited,
        PATH: dir,
        KAFKA_BROKERS: `127.0.0.1:${await freePort()}`,
        TICKHUB_CACHE_DIR: path.join(dir, 'cache'),
      };
      const result = await finished(
        node(
          'with-services.mjs',
          ['--no-redis', '--', process.execPath, '-e', 'console.log("command ran")'],
          env,
        ),
        60_000,
      );
      expect(result.code).toBe(1);
      expect(result.stdout).not.toContain('command ran');
      expect(result.stderr).toContain(`KAFKA_BROKERS=${env.KAFKA_BROKERS} did not answer`);
      expect(result.stderr).toMatch(/missing java .* and mvn/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
