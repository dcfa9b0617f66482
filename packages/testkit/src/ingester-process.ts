import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

// From packages/testkit/src (jest) and packages/testkit/dist (a build) alike, three levels up is the repository.
const INGESTER_DIR = path.resolve(__dirname, '..', '..', '..', 'apps', 'ingester');
const INGESTER_MAIN = path.join(INGESTER_DIR, 'dist', 'main.js');

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export interface IngesterExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * The built ingester (`node apps/ingester/dist/main.js`) in a child process with only PATH and `env`
 * from the environment, its JSON log lines parsed as they arrive.
 */
export class IngesterProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  /** The same lines as written (stdout), for tests that read them as text. */
  readonly lines: string[] = [];
  stderr = '';
  private readonly exited: Promise<IngesterExit>;
  private exit: IngesterExit | undefined;
  private partial = '';
  private waiters: (() => void)[] = [];

  constructor(env: Record<string, string>) {
    if (!existsSync(INGESTER_MAIN)) {
      throw new Error(
        `${INGESTER_MAIN} is missing: build first (npx turbo run build --filter=@tickhub/ingester...)`,
      );
    }
    this.child = spawn(process.execPath, [INGESTER_MAIN], {
      cwd: INGESTER_DIR,
      env: { PATH: process.env.PATH ?? '', KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (this.partial + chunk).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        this.lines.push(line);
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

  waitForExit(timeoutMs = 60_000): Promise<IngesterExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('ingester did not exit in time')), timeoutMs);
    });
    return Promise.race([this.exited, timeout]).finally(() => clearTimeout(timer));
  }

  /** Graceful stop: SIGTERM, then the exit. */
  async stop(timeoutMs = 60_000): Promise<IngesterExit> {
    if (this.exit !== undefined) return this.exit;
    this.child.kill('SIGTERM');
    return this.waitForExit(timeoutMs);
  }

  kill(): void {
    if (this.exit === undefined) this.child.kill('SIGKILL');
  }
}
