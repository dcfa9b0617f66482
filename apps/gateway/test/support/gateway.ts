// Talking to a gateway under test (started by @tickhub/testkit): a recording WebSocket client and
// its metrics.
import { type Limits, msgpackCodec, type QuoteUpdate, type SymbolInfo } from '@tickhub/protocol';
import WebSocket from 'ws';
import { waitFor } from './tick-source-contract';

export { waitFor };

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
