import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';

export const APP_DIR = path.resolve(__dirname, '..', '..');
export const MAIN = path.join(APP_DIR, 'dist', 'main.js');

export function requireBuild(): void {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: build first (npx turbo run build --filter=@tickhub/ingester...)`);
  }
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** The built ingester in a child process, with its JSON log lines parsed as they arrive. */
export class IngesterProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  stderr = '';
  private readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private partial = '';
  private waiters: (() => void)[] = [];

  constructor(env: Record<string, string>) {
    requireBuild();
    this.child = spawn(process.execPath, [MAIN], {
      cwd: APP_DIR,
      env: { PATH: process.env.PATH ?? '', KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (this.partial + chunk).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ msg: line, level: 'raw' });
        }
      }
      this.poke();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        // stdio may still hold data after 'exit'; 'close' follows once it is drained.
        this.child.once('close', () => {
          this.exit = { code, signal, stderr: this.stderr };
          this.poke();
          resolve(this.exit);
        });
      });
    });
  }

  private poke(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves with the first log line matching `predicate`; rejects if the process exits first. */
  async waitForLog(
    predicate: (line: LogLine) => boolean,
    timeoutMs = 60_000,
    what = 'log line',
  ): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(predicate);
      if (found !== undefined) return found;
      if (this.exit !== undefined) {
        throw new Error(
          `ingester exited (code ${this.exit.code}) before ${what}; stderr: ${this.stderr.trim()}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async httpPort(): Promise<number> {
    const line = await this.waitForLog((l) => l.msg === 'ops http listening', 60_000, 'ops http port');
    return line.port as number;
  }

  waitForExit(timeoutMs = 60_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('ingester did not exit in time')), timeoutMs);
    });
    return Promise.race([this.exited, timeout]).finally(() => clearTimeout(timer));
  }

  /** Graceful stop: SIGTERM, then the exit. */
  async stop(timeoutMs = 60_000): Promise<Exit> {
    if (this.exit !== undefined) return this.exit;
    this.child.kill('SIGTERM');
    return this.waitForExit(timeoutMs);
  }

  kill(): void {
    if (this.exit === undefined) this.child.kill('SIGKILL');
  }
}

export function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, method: 'GET', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Unlabelled sample values of a Prometheus text exposition, by metric name. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const { status, body } = await httpGet(port, '/metrics');
  if (status !== 200) throw new Error(`/metrics answered ${status}`);
  const values = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const name = m[2] === undefined ? m[1]! : `${m[1]}${m[2]}`;
    values.set(name, Number(m[3]));
  }
  return values;
}

export function metric(values: Map<string, number>, name: string): number {
  const v = values.get(`tickhub_ingester_${name}`);
  if (v === undefined) throw new Error(`metric tickhub_ingester_${name} is missing`);
  return v;
}

/** Polls `probe` until it returns true. */
export async function until(
  probe: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}
