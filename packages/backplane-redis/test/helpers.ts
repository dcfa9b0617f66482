import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export function requireRedisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) {
    throw new Error(
      'REDIS_URL is not set: these tests need a real Redis (e.g. REDIS_URL=redis://127.0.0.1:6379)',
    );
  }
  return url;
}

export const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** A redis-server of its own on a loopback port, for tests that kill and restart it. */
export class RedisProcess {
  private child: ChildProcess | undefined;
  constructor(
    readonly port: number,
    private readonly extraArgs: string[] = [],
    private readonly cwd?: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'];
    const child = spawn('redis-server', [...args, ...this.extraArgs], {
      stdio: 'ignore',
      ...(this.cwd ? { cwd: this.cwd } : {}),
    });
    this.child = child;
    const failed = once(child, 'exit').then(
      ([code]) => {
        throw new Error(`redis-server on port ${this.port} exited with ${String(code)}`);
      },
      (error: Error) => {
        throw new Error(`cannot start redis-server (${error.message}): it must be on PATH`);
      },
    );
    const probe = new Redis(this.url, {
      lazyConnect: true,
      retryStrategy: () => 50,
      maxRetriesPerRequest: 0,
    });
    probe.on('error', () => {});
    try {
      await Promise.race([
        waitFor(`redis-server on port ${this.port}`, async () => {
          try {
            if (probe.status === 'wait') await probe.connect();
            return (await probe.ping()) === 'PONG';
          } catch {
            return false;
          }
        }),
        failed,
      ]);
    } finally {
      failed.catch(() => {});
      probe.disconnect();
    }
  }

  /** SIGKILL: a crash, not a shutdown. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  try {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    server.close();
    await once(server, 'close');
    return true;
  } catch {
    return false;
  }
}

/** A port P such that P and its cluster-bus port P + 10000 are both free. */
export async function freeClusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await canListen(port)) && (await canListen(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

/** Three masters on loopback, slots spread by `redis-cli --cluster create`. Data lives in a temp dir. */
export class RedisClusterProcesses {
  readonly nodes: RedisProcess[] = [];
  private dir = '';

  get url(): string {
    return this.nodes.map((node) => `127.0.0.1:${node.port}`).join(',');
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'tickhub-cluster-'));
    for (let i = 0; i < 3; i++) {
      const port = await freeClusterPort();
      const node = new RedisProcess(
        port,
        ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
        this.dir,
      );
      await node.start();
      this.nodes.push(node);
    }
    const create = spawn(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { stdio: 'ignore' },
    );
    const [code] = await once(create, 'exit');
    if (code !== 0) throw new Error(`redis-cli --cluster create exited with ${String(code)}`);
    const probe = new Redis(this.nodes[0]!.url, { maxRetriesPerRequest: 1 });
    try {
      await waitFor(
        'cluster_state:ok on every node',
        async () => {
          const infos = await Promise.all(
            this.nodes.map(async (n) => {
              const c = new Redis(n.url, { maxRetriesPerRequest: 1 });
              try {
                return String(await c.call('CLUSTER', 'INFO'));
              } finally {
                c.disconnect();
              }
            }),
          );
          return infos.every((info) => info.includes('cluster_state:ok'));
        },
        30_000,
      );
    } finally {
      probe.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
