import { spawn } from 'node:child_process';
import { join } from 'node:path';

jest.setTimeout(120_000);

interface FuzzResult {
  ok: boolean;
  framesTried: number;
  errorsByCode: Record<string, number>;
  gatewayClosesByCode: Record<string, number>;
  fuzzerClosesByCode: Record<string, number>;
  slowReaders: { count: number; closedWith4009: number; codes: Record<string, number> };
  hostileClients: number;
  hostileClientsAnswered: number;
  unanswered: number;
  nonProtocolAnswers: number;
  crashes: number;
  connectChurn: number;
  failures: string[];
}

/** Runs `bench/fuzz.mjs` (two live gateways from dist/) and returns its JSON summary. */
function runFuzz(frames: number): Promise<FuzzResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [join(__dirname, '..', 'bench', 'fuzz.mjs'), '--frames', String(frames), '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    proc.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    proc.once('exit', () => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as FuzzResult);
      } catch {
        reject(new Error(`fuzz run printed no summary:\n${out}\n${err}`));
      }
    });
  });
}

/** The close codes of docs/protocol.md ("Error codes and close codes", plus 1009 for an oversized frame). */
const PROTOCOL_CLOSES = ['1001', '1008', '1009', '1011', '4001', '4008', '4009'];

describe('fuzzing and abuse against a live gateway', () => {
  it('answers every hostile client with a docs/protocol.md error or close code, and never crashes', async () => {
    const result = await runFuzz(12_000);
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.crashes).toBe(0);
    expect(result.framesTried).toBeGreaterThanOrEqual(12_000);
    expect(result.unanswered).toBe(0);
    expect(result.hostileClientsAnswered).toBe(result.hostileClients);
    expect(result.errorsByCode.BAD_REQUEST).toBeGreaterThan(0);
    expect(result.errorsByCode.RATE_LIMITED).toBeGreaterThan(0);
    expect(result.gatewayClosesByCode['4008']).toBeGreaterThan(0);
    // Every close the gateway gave a hostile client is a docs/protocol.md code; none ended in 1006.
    for (const code of Object.keys(result.gatewayClosesByCode)) expect(PROTOCOL_CLOSES).toContain(code);
    // The fuzzer only ends clients itself with 1000, after they got their answers.
    expect(Object.keys(result.fuzzerClosesByCode).filter((code) => code !== '1000')).toEqual([]);
    // The clients that stop reading are closed by the gateway as slow consumers.
    expect(result.slowReaders.count).toBe(4);
    expect(result.slowReaders.codes).toEqual({ '4009': 4 });
    expect(result.slowReaders.closedWith4009).toBe(4);
    expect(result.connectChurn).toBeGreaterThanOrEqual(1000);
  });
});
