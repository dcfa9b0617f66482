import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './wait';

const MAIN = join(__dirname, '../../../../apps/gateway/dist/main.js');

/** A free loopback port: the gateway restarts on the same one, so port 0 cannot be passed to it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface LogLine {
  msg?: string;
  level?: string;
  [key: string]: unknown;
}

/** The real gateway process (`node apps/gateway/dist/main.js`, embedded mode) on a loopback port. */
export class GatewayProcess {
  readonly logs: LogLine[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;

  constructor(
    readonly port: number,
    private readonly env: Record<string, string> = {},
  ) {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  async start(): Promise<void> {
    if (!existsSync(MAIN)) {
      throw new Error(
        `${MAIN} is missing: build the gateway first (npx turbo run build --filter=@tickhub/gateway)`,
      );
    }
    const env: Record<string, string | undefined> = {
      ...process.env,
      PORT: String(this.port),
      HOST: '127.0.0.1',
    };
    // Embedded mode: the gateway must not pick up the services of the surrounding test run.
    delete env.KAFKA_BROKERS;
    delete env.REDIS_URL;
    Object.assign(env, { LOG_LEVEL: 'info', DRAIN_GRACE_MS: '2000', ...this.env });
    const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ msg: line });
        }
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    let exitCode: number | null | undefined;
    void this.exited.then((code) => {
      exitCode = code;
    });
    await waitFor(
      `gateway on port ${this.port} to log "listening" and "tick source connected"`,
      () => {
        if (exitCode !== undefined) throw new Error(`gateway exited with ${exitCode}: ${stderr}`);
        return this.logged('listening') && this.logged('tick source connected');
      },
      30000,
    );
  }

  logged(msg: string): boolean {
    return this.logs.some((line) => line.msg === msg);
  }

  /** SIGTERM: the gateway drains (closes its clients with 1001) and exits. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    await this.exited;
    clearTimeout(timer);
    this.logs.length = 0;
  }
}
