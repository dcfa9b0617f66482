import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../src/config';
import { INGESTER_VARIABLES } from '../src/variables';
import { freePort, IngesterProcess } from './support/ingester-process';

jest.setTimeout(120_000);

describe('loadConfig', () => {
  it('has defaults for everything but the brokers', () => {
    const c = loadConfig({ KAFKA_BROKERS: '127.0.0.1:19092, 127.0.0.1:19093' });
    expect(c.brokers).toEqual(['127.0.0.1:19092', '127.0.0.1:19093']);
    expect(c).toMatchObject({
      topic: 'md.ticks',
      partitions: 12,
      acks: -1,
      compression: 'none',
      tickRate: 2000,
      bursts: [],
      replayFile: undefined,
      replaySpeed: 1,
      replayLoop: false,
      httpPort: 9464,
      logLevel: 'info',
    });
  });

  it('starts seq from the clock by default, so that a restart continues above the previous run', () => {
    const before = Date.now();
    const first = loadConfig({ KAFKA_BROKERS: 'k:1' }).firstSeq;
    expect(first).toBeGreaterThanOrEqual(before * 1000 + 1);
    expect(first).toBeLessThanOrEqual(Date.now() * 1000 + 1);
    expect(loadConfig({ KAFKA_BROKERS: 'k:1', SEQ_START: 'clock' }).firstSeq).toBeGreaterThanOrEqual(first);
  });

  it('reads every option', () => {
    const c = loadConfig({
      KAFKA_BROKERS: 'kafka:9092',
      KAFKA_TOPIC: 'md.ticks.v2',
      KAFKA_PARTITIONS: '24',
      KAFKA_ACKS: 'all',
      KAFKA_COMPRESSION: 'GZIP',
      TICK_RATE: '100000',
      BURSTS: '10x30s@0s, 5x10s@60s/300s',
      SIM_SEED: '9',
      SIM_SYMBOLS: '2000',
      REPLAY_FILE: '/data/ticks.csv',
      REPLAY_SPEED: '2.5',
      REPLAY_LOOP: 'true',
      BATCH_MAX_MESSAGES: '2000',
      BATCH_LINGER_MS: '2',
      BUFFER_MAX_TICKS: '5000',
      METRICS_PORT: '9100',
      LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({
      brokers: ['kafka:9092'],
      topic: 'md.ticks.v2',
      partitions: 24,
      acks: -1,
      compression: 'gzip',
      tickRate: 100000,
      seed: 9,
      symbols: 2000,
      replayFile: '/data/ticks.csv',
      replaySpeed: 2.5,
      replayLoop: true,
      batchMaxMessages: 2000,
      batchLingerMs: 2,
      bufferMaxTicks: 5000,
      httpPort: 9100,
      logLevel: 'debug',
    });
    expect(c.bursts).toEqual([
      { startMs: 0, durationMs: 30_000, multiplier: 10 },
      { startMs: 60_000, durationMs: 10_000, multiplier: 5, everyMs: 300_000 },
    ]);
    expect(loadConfig({ KAFKA_BROKERS: 'k:1', KAFKA_ACKS: '1' }).acks).toBe(1);
    expect(loadConfig({ KAFKA_BROKERS: 'k:1', SEQ_START: '1' }).firstSeq).toBe(1);
    expect(loadConfig({ KAFKA_BROKERS: 'k:1', KAFKA_ACKS: '0' }).acks).toBe(0);
    expect(loadConfig({ KAFKA_BROKERS: 'k:1', REPLAY_LOOP: 'on' }).replayLoop).toBe(true);
    expect(loadConfig({ KAFKA_BROKERS: 'k:1', KAFKA_PRODUCED_AT_HEADER: 'no' }).producedAtHeader).toBe(false);
  });

  it.each([
    [{}, 'KAFKA_BROKERS', 'is required'],
    [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS', 'host:port'],
    [{ KAFKA_BROKERS: 'k:99999' }, 'KAFKA_BROKERS', 'host:port'],
    [{ KAFKA_ACKS: '2' }, 'KAFKA_ACKS', 'must be one of -1, all, 1, 0, got "2"'],
    [{ KAFKA_COMPRESSION: 'snappy' }, 'KAFKA_COMPRESSION', 'must be one of none, gzip, got "snappy"'],
    [{ KAFKA_PARTITIONS: '0' }, 'KAFKA_PARTITIONS', 'must be an integer >= 1 and <= 10000, got "0"'],
    [{ KAFKA_TOPIC: 'bad topic' }, 'KAFKA_TOPIC', 'must be 1-249 characters of letters, digits'],
    [{ TICK_RATE: 'fast' }, 'TICK_RATE', 'must be an integer >= 1'],
    [{ BURSTS: '10x' }, 'BURSTS', 'invalid burst'],
    [{ SIM_SYMBOLS: '1000000' }, 'SIM_SYMBOLS', 'must be an integer >= 1 and <= 100000, got "1000000"'],
    [{ REPLAY_SPEED: '-1' }, 'REPLAY_SPEED', 'must be a number >= 0 and <= 1000000, got "-1"'],
    [{ REPLAY_LOOP: 'maybe' }, 'REPLAY_LOOP', 'must be true or false, got "maybe"'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', 'must be one of debug, info, warn, error, got "verbose"'],
    [{ SEQ_START: '0' }, 'SEQ_START', '"clock" or an integer'],
    [{ SEQ_START: '9007199254740992' }, 'SEQ_START', '"clock" or an integer'],
    [{ SEQ_START: 'later' }, 'SEQ_START', '"clock" or an integer'],
  ])('%j → ConfigError naming %s', (env, variable, text) => {
    const full: Record<string, string> = { KAFKA_BROKERS: '127.0.0.1:1', ...env };
    if (variable === 'KAFKA_BROKERS' && !('KAFKA_BROKERS' in env)) delete full.KAFKA_BROKERS;
    let error: unknown;
    try {
      loadConfig(full);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toContain(variable);
    expect((error as ConfigError).message).toContain(text);
  });
});

/** This process's environment less KAFKA_BROKERS, which the test runner may export. */
function withoutBrokers(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.KAFKA_BROKERS;
  return env;
}

/** The built app, started with a bad environment: one line on stderr, a non-zero exit, no stack. */
async function runToExit(env: Record<string, string>) {
  const app = new IngesterProcess({ INGESTER_HTTP_PORT: '0', INGESTER_HTTP_HOST: '127.0.0.1', ...env });
  const exit = await app.waitForExit(90_000);
  const lines = exit.stderr.trim().split('\n');
  return { code: exit.code, lines };
}

describe('ingester process with bad configuration', () => {
  it('exits 2 naming an unknown option value', async () => {
    const { code, lines } = await runToExit({ KAFKA_BROKERS: '127.0.0.1:1', KAFKA_COMPRESSION: 'snappy' });
    expect(code).toBe(2);
    expect(lines).toEqual([
      'tickhub-ingester: invalid configuration: KAFKA_COMPRESSION must be one of none, gzip, got "snappy"',
    ]);
  });

  it('exits 2 naming every bad variable on a line of its own', async () => {
    const { code, lines } = await runToExit({ KAFKA_COMPRESSION: 'snappy', KAFKA_ACKS: '2' });
    expect(code).toBe(2);
    expect(lines).toEqual([
      'tickhub-ingester: invalid configuration: KAFKA_BROKERS is required: comma-separated host:port list, e.g. 127.0.0.1:19092',
      'tickhub-ingester: invalid configuration: KAFKA_ACKS must be one of -1, all, 1, 0, got "2"',
      'tickhub-ingester: invalid configuration: KAFKA_COMPRESSION must be one of none, gzip, got "snappy"',
    ]);
  });

  it('--help prints every variable with its default and doc, and the values set', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(__dirname, '..', 'dist', 'main.js'), '--help'],
      { env: { ...withoutBrokers(), TICK_RATE: '123' } },
    );
    for (const name of Object.keys(INGESTER_VARIABLES)) expect(stdout).toContain(`  ${name}`);
    expect(stdout).toContain('TICK_RATE=123   (default 2000; integer 1–10000000)');
    expect(stdout).toContain('  KAFKA_BROKERS   (required; host:port list)');
  });

  it('exits 2 when KAFKA_BROKERS is missing', async () => {
    const { code, lines } = await runToExit({});
    expect(code).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tickhub-ingester: invalid configuration: KAFKA_BROKERS is required/);
  });

  it('exits 1 after STARTUP_TIMEOUT_MS when no broker listens', async () => {
    // The port was free a moment ago; a parallel test may take it meanwhile and close the connection
    // (kafkajs: "Closed connection") instead of refusing it: both are "cannot reach Kafka".
    const port = await freePort();
    const { code, lines } = await runToExit({
      KAFKA_BROKERS: `127.0.0.1:${port}`,
      STARTUP_TIMEOUT_MS: '1500',
    });
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^tickhub-ingester: cannot reach Kafka at 127\\.0\\.0\\.1:${port} \\(KAFKA_BROKERS\\) within 1500 ms: .*(ECONNREFUSED|Closed connection)`,
      ),
    );
  });

  it.each([
    [
      'a missing file',
      () => path.join(os.tmpdir(), 'no-such-dir-tickhub', 'ticks.csv'),
      /cannot read .*ENOENT/,
    ],
    ['a directory', () => os.tmpdir(), /is not a regular file|EISDIR/],
    [
      'a file without the required columns',
      () => {
        const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ingester-csv-')), 'bad.csv');
        writeFileSync(file, 'sym,time,price\nAAPL,1,2\n');
        return file;
      },
      /header row lacks column\(s\) symbol, timestamp, bid, ask, last, size/,
    ],
  ])('exits 2 on an unreadable replay file: %s', async (_name, file, message) => {
    const { code, lines } = await runToExit({ KAFKA_BROKERS: '127.0.0.1:1', REPLAY_FILE: file() });
    expect(code).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tickhub-ingester: invalid configuration: REPLAY_FILE /);
    expect(lines[0]).toMatch(message);
  });
});
