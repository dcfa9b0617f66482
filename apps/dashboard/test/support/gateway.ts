import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const REPO_ROOT = path.resolve(__dirname, '../../../..');
export const DASHBOARD_DIR = path.resolve(__dirname, '../..');
export const DASHBOARD_DIST = path.join(DASHBOARD_DIR, 'dist');
export const GATEWAY_MAIN = path.join(REPO_ROOT, 'apps/gateway/dist/main.js');

/** A gateway process started by a test, in embedded mode, serving the built dashboard. */
export interface GatewayProcess {
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** Recent log lines, for failure messages. */
  readonly logs: string[];
  /** Stops the process (SIGKILL simulates a crash, SIGTERM a graceful shutdown) and waits for its exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `node apps/gateway/dist/main.js` on 127.0.0.1:`port` and resolves once it logs the port
 * it listens on and `/health/ready` answers 200.
 */
export async function startGateway(port: number, env: Record<string, string> = {}): Promise<GatewayProcess> {
  if (!existsSync(GATEWAY_MAIN)) {
    throw new Error(
      `${GATEWAY_MAIN} is missing: build the gateway first (npx turbo run build --filter=@tickhub/gateway)`,
    );
  }
  const child = spawn(process.execPath, [GATEWAY_MAIN], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      DASHBOARD_DIR: DASHBOARD_DIST,
      DRAIN_GRACE_MS: '1000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const remember = (line: string) => {
    logs.push(line);
    if (logs.length > 200) logs.shift();
  };
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${logs.join('\n')}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      remember(line);
      const logged = parseLogLine(line);
      if (typeof logged?.port === 'number') {
        clearTimeout(timer);
        resolve(logged.port);
      }
    });
    createInterface({ input: child.stderr! }).on('line', remember);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code ?? signal}) before listening:\n${logs.join('\n')}`));
    });
  });
  const actualPort = await listening;
  const url = `http://127.0.0.1:${actualPort}`;
  await waitFor(
    async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.status === 200,
    60_000,
    () => `gateway on ${url} never became ready:\n${logs.join('\n')}`,
  );
  return {
    port: actualPort,
    url,
    child,
    logs,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

function parseLogLine(line: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  message: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(message());
}
