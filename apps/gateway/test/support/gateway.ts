import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Limits, msgpackCodec, type QuoteUpdate, type SymbolInfo } from '@tickhub/protocol';
import WebSocket from 'ws';
import { waitFor } from './tick-source-contract';

export { waitFor };

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface GatewayProcess {
  port: number;
  http: string;
  ws: string;
  proc: ChildProcess;
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** Spawns the built gateway (`node dist/main.js`) on a free loopback port and waits until it is ready. */
export async function spawnGateway(
  env: Record<string, string> = {},
  options: { waitReady?: boolean } = {},
): Promise<GatewayProcess> {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: build first (npx turbo run build --filter=@tickhub/gateway...)`);
  }
  const base: Record<string, string | undefined> = { ...process.env };
  // Embedded mode unless the test asks for Kafka: the runner exports service variables to every test.
  delete base.KAFKA_BROKERS;
  delete base.REDIS_URL;
  const proc = spawn(process.execPath, [MAIN], {
    env: {
      ...base,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let port = 0;
  let buffered = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (logs.length < 5000) logs.push(line);
      if (port === 0 && line.includes('"msg":"listening"'))
        port = (JSON.parse(line) as { port: number }).port;
      nl = buffered.indexOf('\n');
    }
  });
  proc.stderr!.on('data', (chunk: Buffer) => logs.push(`stderr: ${chunk.toString()}`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  try {
    await waitFor(() => port > 0 || gone, 30_000, 'the gateway to listen');
  } catch (error) {
    proc.kill('SIGKILL');
    throw error;
  }
  if (gone) throw new Error(`gateway exited before listening:\n${logs.join('\n')}`);
  const gw: GatewayProcess = {
    port,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws`,
    proc,
    logs,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  if (options.waitReady !== false) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`${gw.http}/health/ready`).catch(() => undefined);
      if (res?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`gateway not ready:\n${logs.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return gw;
}

/** Any server message, flattened so tests can read fields without narrowing. */
export interface Msg {
  type: string;
  id?: string;
  code?: string;
  message?: string;
  symbols?: Array<string & SymbolInfo>;
  updates?: QuoteUpdate[];
  symbol?: string;
  seq?: number;
  maxHz?: number;
  limits?: Limits;
  connectionId?: string;
  server?: string;
  heartbeatMs?: number;
  serverTime?: number;
  v?: number;
  [field: string]: unknown;
}

/** A real WebSocket client that records every message it gets. */
export class Client {
  readonly messages: Array<{ at: number; msg: Msg }> = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  closeInfo: { code: number; reason: string } | undefined;

  constructor(url: string, protocols?: string | string[], options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, protocols, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
      }),
    );
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      const msg = (isBinary ? msgpackCodec.decode(data) : JSON.parse(data.toString())) as Msg;
      this.messages.push({ at: Date.now(), msg });
    });
  }

  static async open(
    url: string,
    protocols?: string | string[],
    options?: WebSocket.ClientOptions,
  ): Promise<Client> {
    const c = new Client(url, protocols, options);
    await c.opened;
    await c.next((m) => m.type === 'welcome');
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(this.ws.protocol === 'tickhub.v1.msgpack' ? msgpackCodec.encode(msg) : JSON.stringify(msg));
  }

  sendRaw(data: string | Buffer, binary: boolean): void {
    this.ws.send(data, { binary });
  }

  /** The first recorded message (from `from` on) that matches; waits for it. */
  async next(match: (m: Msg) => boolean, timeoutMs = 10_000, from = 0): Promise<Msg> {
    let found: Msg | undefined;
    await waitFor(
      () => {
        for (let i = from; i < this.messages.length; i++) {
          if (match(this.messages[i]!.msg)) {
            found = this.messages[i]!.msg;
            return true;
          }
        }
        return false;
      },
      timeoutMs,
      'a matching message',
    );
    return found!;
  }

  all(match: (m: Msg) => boolean): Msg[] {
    return this.messages.filter((e) => match(e.msg)).map((e) => e.msg);
  }

  /** Every ticks entry received, with the time of its frame. */
  updates(): Array<{ at: number; u: QuoteUpdate }> {
    const out: Array<{ at: number; u: QuoteUpdate }> = [];
    for (const e of this.messages) {
      if (e.msg.type === 'ticks') for (const u of e.msg.updates ?? []) out.push({ at: e.at, u });
    }
    return out;
  }

  close(): void {
    this.ws.terminate();
  }
}

export async function metric(http: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      if (labels && !line.includes(labels)) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      found = true;
    }
  }
  if (!found) throw new Error(`metric ${name}${labels} not found`);
  return sum;
}
