import net from 'node:net';
import { freePort, type GatewayProcess, startGateway } from '../src';

// The launcher against the real built gateway: what every suite that starts one relies on.
const started: GatewayProcess[] = [];

async function gateway(...args: Parameters<typeof startGateway>): Promise<GatewayProcess> {
  const gw = await startGateway(...args);
  started.push(gw);
  return gw;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((gw) => gw.stop('SIGKILL')));
});

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

it('starts a ready gateway on a port of the OS choice, with its JSON log lines, and stops it with SIGTERM', async () => {
  const gw = await gateway({ GATEWAY_ID: 'testkit-a' });
  expect(gw.port).toBeGreaterThan(0);
  expect(gw.http).toBe(`http://127.0.0.1:${gw.port}`);
  expect(gw.ws).toBe(`ws://127.0.0.1:${gw.port}/ws`);
  expect((await fetch(`${gw.http}/health/ready`)).status).toBe(200);
  const listening = gw.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === 'listening');
  expect(listening).toMatchObject({ port: gw.port, gateway: 'testkit-a' });

  expect(await gw.stop()).toEqual({ code: 0, signal: null });
  expect(gw.logs.some((l) => l.includes('"msg":"drained"'))).toBe(true);
  expect(await refuses(gw.port)).toBe(true);
});

it('restarts on the same port after a crash, with a fresh log', async () => {
  const port = await freePort();
  const gw = await gateway({}, { port });
  expect(gw.port).toBe(port);
  const first = gw.proc.pid;

  expect(await gw.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
  expect(await refuses(port)).toBe(true);
  await gw.restart();
  expect(gw.port).toBe(port);
  expect(gw.proc.pid).not.toBe(first);
  expect((await fetch(`${gw.http}/health/ready`)).status).toBe(200);
  expect(gw.logs.filter((l) => l.includes('"msg":"listening"'))).toHaveLength(1);
});

it('fails with the gateway’s own words when it exits at start', async () => {
  await expect(gateway({ MAX_HZ: 'fast' })).rejects.toThrow(/exited \(1\) before listening:[\s\S]*MAX_HZ/);
});

it('keeps the test run’s services away unless the test passes them', async () => {
  const exported = process.env.KAFKA_BROKERS;
  process.env.KAFKA_BROKERS = '127.0.0.1:1';
  try {
    const gw = await gateway();
    const health = (await (await fetch(`${gw.http}/health/ready`)).json()) as {
      tickSource: { kind: string };
    };
    expect(health.tickSource.kind).not.toBe('kafka');
  } finally {
    if (exported === undefined) delete process.env.KAFKA_BROKERS;
    else process.env.KAFKA_BROKERS = exported;
  }
});

it('returns once the gateway listens when told not to wait for readiness', async () => {
  // Nothing listens on port 1: the Kafka consumer cannot connect, so the gateway never becomes ready.
  const gw = await gateway({ KAFKA_BROKERS: '127.0.0.1:1' }, { waitReady: false });
  expect((await fetch(`${gw.http}/health/ready`)).status).toBe(503);
});
