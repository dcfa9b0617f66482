import { spawn } from 'node:child_process';
import * as signalR from '@microsoft/signalr';
import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import WebSocket from 'ws';
import { metricValue } from '../support/auth';

// Hostile hub clients against a gateway with default limits: a flood of invocations is refused and
// then cut, and a chat sender cannot multiply its bandwidth onto every other client.
jest.setTimeout(60_000);

const RS = '\u001e';

/**
 * A chat client flooding 20,000 × 4 KB SendMessage as fast as its socket takes them; prints how many
 * it sent, the Close error it got and when, as JSON.
 */
const FLOODER = `
const WebSocket = require('ws');
const RS = '\\u001e';
const ws = new WebSocket(process.argv[1]);
const frame = '{"type":1,"target":"SendMessage","arguments":["flooder","' + 'x'.repeat(4096) + '"]}' + RS;
let sent = 0, closeError = null, startedAt = 0;
ws.on('message', (data) => {
  for (const record of data.toString().split(RS)) {
    if (record.includes('"type":7')) closeError = JSON.parse(record).error;
  }
});
ws.on('open', () => {
  ws.send('{"protocol":"json","version":1}' + RS);
  startedAt = Date.now();
  const pump = () => {
    while (sent < 20000 && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 4 * 1024 * 1024) {
      ws.send(frame);
      sent++;
    }
    if (sent < 20000 && ws.readyState === WebSocket.OPEN) setImmediate(pump);
  };
  pump();
});
ws.on('close', () => {
  process.stdout.write(JSON.stringify({ sent, closeError, cutAfterMs: Date.now() - startedAt }));
  process.exit(0);
});
ws.on('error', () => {});
`;

let gw: GatewayProcess;

beforeAll(async () => {
  gw = await startGateway({});
});

afterAll(async () => {
  await gw?.stop();
});

/** A raw JSON-protocol WebSocket hub client: every text record it receives, and how it ended. */
async function rawHub(path: string) {
  const ws = new WebSocket(`${gw.ws.replace(/\/ws$/, '')}${path}`);
  const records: Array<Record<string, unknown>> = [];
  let pending = '';
  ws.on('message', (data: Buffer) => {
    pending += data.toString();
    const parts = pending.split(RS);
    pending = parts.pop() as string;
    for (const part of parts) records.push(JSON.parse(part) as Record<string, unknown>);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(`{"protocol":"json","version":1}${RS}`);
  await waitUntil(() => records.length > 0);
  return { ws, records, closed };
}

async function waitUntil(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function officialClient(path: string): signalR.HubConnection {
  return new signalR.HubConnectionBuilder()
    .withUrl(`${gw.http}${path}`, { transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.None)
    .build();
}

describe('hub inbound limit', () => {
  it('a burst of 3,000 Subscribe/Unsubscribe calls gets RATE_LIMITED completions, then a Close', async () => {
    const refusedBefore = await metricValue(gw.http, 'hub_inbound_limits_total', { event: 'refused' });
    const closedBefore = await metricValue(gw.http, 'hub_inbound_limits_total', { event: 'closed' });
    const client = await rawHub('/hubs/market');
    let batch = '';
    for (let i = 0; i < 3000; i++) {
      const target = i % 2 === 0 ? 'Subscribe' : 'Unsubscribe';
      batch += `{"type":1,"invocationId":"${i}","target":"${target}","arguments":[["AAPL"]]}${RS}`;
      if (i % 100 === 99) {
        client.ws.send(batch);
        batch = '';
      }
    }
    await client.closed;
    const completions = client.records.filter((r) => r.type === 3);
    const limited = completions.filter((r) => String(r.error).startsWith('RATE_LIMITED'));
    const ran = completions.filter((r) => r.error === undefined);
    expect(limited.length).toBeGreaterThan(0);
    // Cut after ABUSE_MAX_REJECTIONS (100) refusals: far from all 3,000 were answered, let alone run
    // (those admitted within the burst allowance may still have been queued when the Close came).
    expect(completions.length).toBeLessThan(200);
    const close = client.records.find((r) => r.type === 7);
    expect(close).toEqual({
      type: 7,
      error: 'Connection closed with an error. RATE_LIMITED: rate limit abuse.',
    });
    console.log(
      `hub burst: 3,000 invocations → ${ran.length} ran, ${limited.length} RATE_LIMITED, then Close (${completions.length} completions)`,
    );
    expect(await metricValue(gw.http, 'hub_inbound_limits_total', { event: 'refused' })).toBeGreaterThan(
      refusedBefore,
    );
    expect(await metricValue(gw.http, 'hub_inbound_limits_total', { event: 'closed' })).toBe(
      closedBefore + 1,
    );
  });

  it('a client over its rate once is refused, not closed, and goes on', async () => {
    const client = await rawHub('/hubs/market');
    let batch = '';
    for (let i = 0; i < 40; i++) {
      batch += `{"type":1,"invocationId":"${i}","target":"ListSymbols","arguments":[]}${RS}`;
    }
    client.ws.send(batch);
    await waitUntil(() => client.records.filter((r) => r.type === 3).length === 40);
    const limited = client.records.filter((r) => r.type === 3 && String(r.error).startsWith('RATE_LIMITED'));
    expect(limited.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1100));
    client.ws.send(`{"type":1,"invocationId":"after","target":"ListSymbols","arguments":[]}${RS}`);
    await waitUntil(() => client.records.some((r) => r.invocationId === 'after'));
    expect(client.records.find((r) => r.invocationId === 'after')?.error).toBeUndefined();
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    client.ws.close();
  });
});

describe('chat flood', () => {
  it('20,000 × 4 KB SendMessage from one client: it is cut, others receive a bounded share and keep chatting', async () => {
    const listener = officialClient('/chathub');
    let fromFlooder = 0;
    let fromListener = 0;
    listener.on('ReceiveMessage', (user: string) => {
      if (user === 'flooder') fromFlooder++;
      else fromListener++;
    });
    await listener.start();
    const rtt = async () => {
      const start = performance.now();
      await listener.invoke('SendMessage', 'listener', 'ping');
      return performance.now() - start;
    };
    const before: number[] = [];
    for (let i = 0; i < 8; i++) {
      before.push(await rtt());
      await new Promise((r) => setTimeout(r, 125));
    }

    // The flooder is its own process, as it would be: its sending must not stall this one's clock.
    const started = Date.now();
    const flooder = spawn(process.execPath, ['-e', FLOODER, `${gw.ws.replace(/\/ws$/, '')}/chathub`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let flooderOutput = '';
    flooder.stdout.on('data', (chunk: Buffer) => {
      flooderOutput += chunk.toString();
    });
    let flooderAlive = true;
    const flooderDone = new Promise<void>((resolve) =>
      flooder.once('exit', () => {
        flooderAlive = false;
        resolve();
      }),
    );
    // Round trips for two seconds from the start of the flood, below the listener's own chat budget;
    // `whileFlooding` are those that started before the flooder was gone.
    const during: number[] = [];
    const whileFlooding: number[] = [];
    while (Date.now() - started < 2000) {
      const alive = flooderAlive;
      const sample = await rtt();
      during.push(sample);
      if (alive) whileFlooding.push(sample);
      await new Promise((r) => setTimeout(r, 125));
    }
    await flooderDone;
    const report = JSON.parse(flooderOutput) as {
      sent: number;
      closeError: string | null;
      cutAfterMs: number;
    };
    // Non-blocking sends get no completions; the flooder ends with the abuse Close.
    expect(report.closeError).toBe('Connection closed with an error. RATE_LIMITED: rate limit abuse.');
    // (How many it wrote says little: its kernel may take all 80 MB before the Close reaches it.)
    // What reached the others is bounded by the sender's chat budget over the flood's life, not 20,000.
    const budget = 10 + Math.ceil((report.cutAfterMs / 1000) * 10);
    expect(fromFlooder).toBeLessThanOrEqual(budget);
    await waitUntil(() => fromListener >= before.length + during.length);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    console.log(
      `chat flood: ${report.sent} of 20,000 × 4 KB sent before the gateway closed the flooder, ${report.cutAfterMs} ms after its first message; ${fromFlooder} reached the listener; listener round trip median ${median(before).toFixed(1)} ms before (${before.length} samples), ${median(whileFlooding).toFixed(1)} ms while the flooder was connected (${whileFlooding.length} samples, max ${Math.max(...whileFlooding).toFixed(1)}), ${median(during).toFixed(1)} ms over the 2 s from the flood's start (${during.length} samples, max ${Math.max(...during).toFixed(1)})`,
    );
    await listener.stop();
  });

  it('a sender over its chat budget gets RATE_LIMITED, and may send again a second later', async () => {
    const sender = officialClient('/chathub');
    await sender.start();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 15 }, (_, i) => sender.invoke('SendMessage', 'eager', `message ${i}`)),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    expect(String((refused[0] as PromiseRejectedResult).reason)).toContain('RATE_LIMITED');
    await new Promise((r) => setTimeout(r, 1100));
    // Throws if refused.
    await sender.invoke('SendMessage', 'eager', 'later');
    await sender.stop();
  });
});
