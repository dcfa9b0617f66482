/**
 * A single-node KRaft broker this test suite owns, which can be stopped and started again on the same
 * ports with the same data directory (so topics and their records survive the outage): the project's
 * one launcher, `test/services/kafka.mjs run --port --controller-port --data-dir`, in the foreground.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ingester-process';

const LAUNCHER = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'services', 'kafka.mjs');

export class RestartableKafka {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    private readonly controllerPort: number,
    private readonly dataDir: string,
  ) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async create(): Promise<RestartableKafka> {
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    return new RestartableKafka(
      port,
      controllerPort,
      mkdtempSync(path.join(os.tmpdir(), 'tickhub-ingester-kafka-')),
    );
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the broker and resolves once the launcher says it answers (coordinators loaded). */
  async start(timeoutMs = 120_000): Promise<void> {
    if (this.child !== undefined) return;
    const args = [
      LAUNCHER,
      'run',
      '--port',
      String(this.port),
      '--controller-port',
      String(this.controllerPort),
      '--data-dir',
      this.dataDir,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    let gone = false;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        gone = true;
        resolve();
      });
    });
    const deadline = Date.now() + timeoutMs;
    while (!out.includes('KAFKA_BROKERS=')) {
      if (gone) {
        this.child = undefined;
        throw new Error(`kafka.mjs run exited during start-up:\n${out}`);
      }
      if (Date.now() > deadline)
        throw new Error(`kafka did not start at ${this.brokers} in ${timeoutMs} ms:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the broker (the launcher's SIGTERM path, SIGKILL after `graceMs`). The data directory is kept. */
  async stop(graceMs = 30_000): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop(10_000);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
