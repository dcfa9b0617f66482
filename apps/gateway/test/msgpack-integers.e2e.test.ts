import type { SymbolInfo } from '@tickhub/protocol';
import { writeBinaryFrame } from '@tickhub/signalr';
import { waitFor } from '@tickhub/signalr/testing';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';
import type { Gateway } from '../src/main';
import { startGatewayWithHubs } from './signalr/gateway-harness';

// The bytes a client receives, checked from the outside: `ts` (ms since the epoch, beyond 2^32) must be
// a MessagePack int64 (0xd3), never a float64 (0xcb), or .NET clients binding `long` never see it.
jest.setTimeout(30_000);

const packr = new Packr({ useRecords: false });
const TS_KEY = Buffer.from([0xa2, 0x74, 0x73]);

/** The type byte of the value after the first `ts` key of a frame, or undefined. */
function tsTypeByte(frame: Buffer): number | undefined {
  const at = frame.indexOf(TS_KEY);
  return at < 0 ? undefined : frame[at + TS_KEY.length];
}

describe('MessagePack integers on the wire', () => {
  let gateway: Gateway;
  let baseUrl: string;
  let symbol: string;

  beforeAll(async () => {
    ({ gateway, baseUrl } = await startGatewayWithHubs());
    await waitFor(() => gateway.runtime.isReady(), 20_000, 'the gateway to be ready');
    symbol = (gateway.runtime.symbols[0] as SymbolInfo).symbol;
  }, 30_000);

  afterAll(async () => {
    await gateway.drain('test over');
  }, 30_000);

  async function collect(ws: WebSocket, until: (frames: Buffer[]) => boolean): Promise<Buffer[]> {
    const frames: Buffer[] = [];
    ws.on('message', (data: Buffer) => frames.push(data));
    await waitFor(() => until(frames), 15_000, 'frames');
    ws.close();
    return frames;
  }

  it('native tickhub.v1.msgpack: snapshot and ticks carry ts as int64', async () => {
    const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/ws`, 'tickhub.v1.msgpack');
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(packr.pack({ type: 'subscribe', id: '1', symbols: [symbol] }));
    const frames = await collect(ws, (f) => f.filter((x) => tsTypeByte(x) !== undefined).length >= 3);
    const types = frames.map(tsTypeByte).filter((t) => t !== undefined);
    expect(types.length).toBeGreaterThanOrEqual(3);
    expect(new Set(types)).toEqual(new Set([0xd3]));
  });

  it('MessagePack hub protocol on /hubs/market: snapshot and ticks carry ts as int64', async () => {
    const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/hubs/market`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send('{"protocol":"messagepack","version":1}\u001e');
    ws.send(writeBinaryFrame(packr.pack([1, {}, '1', 'Subscribe', [[symbol]]])));
    const frames = await collect(ws, (f) => f.filter((x) => tsTypeByte(x) !== undefined).length >= 3);
    const types = frames.map(tsTypeByte).filter((t) => t !== undefined);
    expect(new Set(types)).toEqual(new Set([0xd3]));
  });
});
