import { type GatewayProcess, startGateway } from '@tickhub/testkit';
import { loggedLine } from './support/auth';

jest.setTimeout(60_000);

let gw: GatewayProcess;

beforeAll(async () => {
  gw = await startGateway({});
});

afterAll(async () => {
  await gw?.stop();
});

describe('start-up', () => {
  it('says where everything is, with the real port, once ready', async () => {
    const http = `http://127.0.0.1:${gw.port}`;
    const line = await loggedLine(gw.logs, [
      `"msg":"tickhub is running: dashboard ${http} · WebSocket ws://127.0.0.1:${gw.port}/ws · SignalR ${http}/hubs/market"`,
    ]);
    expect(line).toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({ level: 'info', dashboard: http });
  });

  it('names the variable when the port is taken, and exits 1', async () => {
    await expect(startGateway({ PORT: String(gw.port) })).rejects.toThrow(
      `PORT ${gw.port} is already in use on 127.0.0.1: set PORT (and HOST) to a free address`,
    );
  });
});
