import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

// From packages/testkit/src (jest) and packages/testkit/dist (a build) alike, three levels up is the repository.
const GATEWAY_DIR = path.resolve(__dirname, '..', '..', '..', 'apps', 'gateway');
const GATEWAY_MAIN = path.join(GATEWAY_DIR, 'dist', 'main.js');

/** Generous: two loaded cores start a Nest app (and warm up its market) slowly. */
const START_TIMEOUT_MS = 60_000;
/** After this, a stop that the gateway has not finished becomes SIGKILL. */
const STOP_TIMEOUT_MS = 15_000;
/** Log lines kept per run; the oldest go first, so a chatty run cannot grow a test's memory without bound. */
const MAX_LOG_LINES = 10_000;

export interface GatewayExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GatewayStartOptions {
  /** The port to listen on; 0 (the default) lets the OS choose. A restart keeps the port either way. */
  port?: number;
  /** Whether start waits for /health/ready to answer 200 (the default) or only for the gateway to listen. */
  waitReady?: boolean;
}

/**
 * Starts the built gateway (`node apps/gateway/dist/main.js`) on 127.0.0.1 with `env` on top of the
 * test defaults, and resolves once it has logged its `listening` line and (unless told otherwise)
 * is ready. It fails with the gateway's log when the process exits first or does not get there.
 */
export async function startGateway(
  env: Record<string, string> = {},
  options: GatewayStartOptions = {},
): Promise<GatewayProcess> {
  const gateway = new GatewayProcess(env, options.port ?? 0, options.waitReady ?? true);
  await gateway.restart();
  return gateway;
}

/** One gateway under test: its current process, the port it listens on, and that process's log. */
export class GatewayProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<GatewayExit> = Promise.resolve({ code: null, signal: null });
  private lines: string[] = [];

  constructor(
    private readonly env: Record<string, string>,
    private listeningPort: number,
    private readonly waitReady: boolean,
  ) {}

  get port(): number {
    return this.listeningPort;
  }

  /** Base URL of HTTP: `/health/*`, `/metrics`, `/api/*`, `/hubs/*` and the dashboard. */
  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The native WebSocket endpoint. */
  get ws(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get proc(): ChildProcess {
    if (this.child === undefined) throw new Error('the gateway has not been started');
    return this.child;
  }

  /** Resolves when the current process has exited and its output is read. */
  get exited(): Promise<GatewayExit> {
    return this.exit;
  }

  /** The current process's stdout lines (one JSON object each) and stderr lines, prefixed `stderr: `. */
  get logs(): string[] {
    return this.lines;
  }

  /** Signals the process (SIGTERM: the gateway drains; SIGKILL: a crash) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<GatewayExit> {
    const child = this.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      try {
        await this.exit;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.exit;
  }

  /** Starts a new process on the same port with the same environment, stopping the current one first. */
  async restart(): Promise<void> {
    await this.stop();
    if (!existsSync(GATEWAY_MAIN)) {
      throw new Error(
        `${GATEWAY_MAIN} is missing: build the gateway first (npx turbo run build --filter=@tickhub/gateway...)`,
      );
    }
    const child = spawn(process.execPath, [GATEWAY_MAIN], {
      cwd: GATEWAY_DIR,
      env: {
        // Nothing else of the test run's environment: the services it exports (KAFKA_BROKERS,
        // REDIS_URL) or a developer's shell (AUTH_MODE, LOG_FORMAT, …) must not change the gateway
        // under test. Embedded mode unless the test passes the services.
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: String(this.listeningPort),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    this.child = child;
    this.lines = lines;
    let exit: GatewayExit | undefined;
    // 'close', not 'exit': a gateway that fails at start writes its reason just before it exits.
    this.exit = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        exit = { code, signal };
        resolve(exit);
      }),
    );
    const keep = (line: string): void => {
      if (lines.length >= MAX_LOG_LINES) lines.splice(0, MAX_LOG_LINES / 10);
      lines.push(line);
    };
    let port = 0;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      if (port === 0) port = listeningPort(line);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => keep(`stderr: ${line}`));

    const failure = (what: string) => new Error(`gateway ${what}:\n${lines.join('\n')}`);
    try {
      await until(
        () => port > 0 || exit !== undefined,
        () => failure('did not log "listening"'),
      );
      if (port === 0) throw failure(`exited (${exit?.code ?? exit?.signal}) before listening`);
      this.listeningPort = port;
      if (this.waitReady) {
        await until(
          async () => exit !== undefined || (await isReady(this.http)),
          () => failure(`on ${this.http} did not become ready`),
        );
        if (exit !== undefined) throw failure(`exited (${exit.code ?? exit.signal}) before it was ready`);
      }
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  }
}

/** The port of the gateway's `{"msg":"listening","port":…}` line; 0 for any other line. */
function listeningPort(line: string): number {
  try {
    const entry = JSON.parse(line) as { msg?: unknown; port?: unknown };
    return entry.msg === 'listening' && typeof entry.port === 'number' ? entry.port : 0;
  } catch {
    return 0;
  }
}

async function isReady(http: string): Promise<boolean> {
  const res = await fetch(`${http}/health/ready`).catch(() => undefined);
  await res?.body?.cancel();
  return res?.status === 200;
}

async function until(condition: () => boolean | Promise<boolean>, failure: () => Error): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw failure();
    await new Promise((r) => setTimeout(r, 50));
  }
}
