import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@tickhub/log';
import type { Quote } from '@tickhub/protocol';
import {
  CsvReplaySource,
  CsvTickParser,
  checkReplayFile,
  parseHeader,
  ReplayFileError,
} from '../src/csv-replay';
import type { TickSink } from '../src/source';
import { ConflatingTickBuffer, TickBatch } from '../src/tick-buffer';

const SAMPLE = path.resolve(__dirname, '..', 'samples', 'ticks-sample.csv');

function tempCsv(text: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ingester-csv-')), 'ticks.csv');
  writeFileSync(file, text);
  return file;
}

/** A real buffer as the sink, drained by the test the way the publisher would. */
class BufferSink implements TickSink {
  readonly buffer: ConflatingTickBuffer;
  readonly out: Quote[] = [];
  flushes = 0;
  constructor(capacity: number) {
    this.buffer = new ConflatingTickBuffer(capacity);
  }
  push(quote: Quote, producedAt: number): void {
    this.buffer.push(quote, producedAt);
  }
  hasRoom(): boolean {
    return this.buffer.hasRoom;
  }
  flush(): void {
    this.flushes++;
  }
  drainAll(): void {
    const batch = new TickBatch();
    while (this.buffer.drain(1000, batch) > 0) this.out.push(...batch.quotes);
  }
}

const quiet = createLogger({ app: 'ingester', level: 'error' });

describe('CSV header and lines', () => {
  it('finds columns by name in any order, case-insensitively, ignoring unknown ones', () => {
    const columns = parseHeader('\uFEFFexchange,Size,LAST,ask,bid,timestamp,symbol,volume');
    const parser = new CsvTickParser(columns);
    const r = parser.parse('XNAS,100,10.5,10.6,10.4,1700000000000,AAPL,5000');
    expect(r).toEqual({
      ok: true,
      recordedAt: 1_700_000_000_000,
      quote: {
        symbol: 'AAPL',
        seq: 1,
        ts: 1_700_000_000_000,
        bid: 10.4,
        ask: 10.6,
        bidSize: 0,
        askSize: 0,
        last: 10.5,
        lastSize: 100,
        volume: 5000,
        open: 10.5,
        high: 10.5,
        low: 10.5,
      },
    });
  });

  it('rejects a header without the required columns', () => {
    expect(() => parseHeader('symbol,timestamp,bid,ask')).toThrow(ReplayFileError);
    expect(() => parseHeader('symbol,timestamp,bid,ask')).toThrow('lacks column(s) last, size');
  });

  it('assigns seq per symbol and derives open, high, low and cumulative volume', () => {
    const parser = new CsvTickParser(parseHeader('symbol,timestamp,bid,ask,last,size'));
    const quotes = [
      'A,2026-11-02T13:30:00.000Z,9.9,10.1,10,5',
      'B,2026-11-02T13:30:00.100Z,99,101,100,1',
      'A,2026-11-02T13:30:00.200Z,10.9,11.1,11,2',
      'A,2026-11-02T13:30:00.300Z,8.9,9.1,9,3',
    ].map((l) => {
      const r = parser.parse(l);
      if (!r.ok) throw new Error(r.error);
      return r.quote;
    });
    expect(quotes.map((q) => [q.symbol, q.seq, q.open, q.high, q.low, q.volume])).toEqual([
      ['A', 1, 10, 10, 10, 5],
      ['B', 1, 100, 100, 100, 1],
      ['A', 2, 10, 11, 10, 7],
      ['A', 3, 10, 11, 9, 10],
    ]);
    expect(quotes[0]!.ts).toBe(Date.parse('2026-11-02T13:30:00.000Z'));
  });

  it.each([
    [',1,1,2,1,1', 'symbol is empty'],
    ['A B,1,1,2,1,1', 'not a valid symbol'],
    ['A,yesterday,1,2,1,1', 'timestamp'],
    ['A,1,-1,2,1,1', 'bid'],
    ['A,1,1,x,1,1', 'ask'],
    ['A,1,1,2,,1', 'last'],
    ['A,1,1,2,1,-5', 'size'],
    ['A,1,1,2,1', 'size'],
  ])('rejects %j (%s)', (line, message) => {
    const parser = new CsvTickParser(parseHeader('symbol,timestamp,bid,ask,last,size'));
    const r = parser.parse(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(message);
  });
});

describe('checkReplayFile', () => {
  it('accepts the shipped sample and rejects missing or headerless files', async () => {
    await expect(checkReplayFile(SAMPLE)).resolves.toBeUndefined();
    await expect(checkReplayFile(tempCsv(''))).rejects.toThrow('is empty');
    await expect(checkReplayFile(tempCsv('a,b,c\n'))).rejects.toThrow('lacks column(s)');
    await expect(checkReplayFile('/nonexistent/ticks.csv')).rejects.toThrow(/cannot read .*ENOENT/);
  });
});

describe('CsvReplaySource', () => {
  it('replays the sample as fast as possible, waiting for room instead of folding', async () => {
    const sink = new BufferSink(16);
    let bad = 0;
    const source = new CsvReplaySource(
      { file: SAMPLE, speed: 0, loop: false, timestamps: 'recorded' },
      quiet,
      () => bad++,
    );
    const drainer = setInterval(() => sink.drainAll(), 1);
    source.start(sink);
    await source.finished();
    clearInterval(drainer);
    sink.drainAll();
    const lines = readFileSync(SAMPLE, 'utf8').trim().split('\n').slice(1);
    expect(bad).toBe(0);
    expect(sink.buffer.folded).toBe(0);
    expect(sink.out).toHaveLength(lines.length);
    expect(source.produced).toBe(lines.length);
    expect(sink.out.map((q) => `${q.symbol},${q.ts}`)).toEqual(
      lines.map((l) => l.split(',').slice(0, 2).join(',')),
    );
  });

  it('counts and skips bad lines, keeps going, and loops with seq still increasing', async () => {
    const file = tempCsv(
      [
        'symbol,timestamp,bid,ask,last,size',
        'A,1000,1,2,1.5,1',
        'A,oops,1,2,1.5,1',
        'B,1001,1,2,1.5,1',
        '',
        'A,1002,1,2,1.6,1',
      ].join('\n'),
    );
    const sink = new BufferSink(1000);
    let bad = 0;
    const source = new CsvReplaySource(
      { file, speed: 0, loop: true, timestamps: 'recorded' },
      quiet,
      () => bad++,
    );
    source.start(sink);
    while (source.passes < 3) await new Promise((r) => setTimeout(r, 1));
    await source.stop();
    sink.drainAll();
    const a = sink.out.filter((q) => q.symbol === 'A');
    expect(a.length).toBeGreaterThanOrEqual(4);
    expect(a.map((q) => q.seq)).toEqual(a.map((_, i) => i + 1));
    // Later passes are shifted in time so timestamps keep increasing too.
    for (let i = 1; i < a.length; i++) expect(a[i]!.ts).toBeGreaterThan(a[i - 1]!.ts);
    expect(bad).toBeGreaterThanOrEqual(2);
    expect(source.badLines).toBe(bad);
  });

  it('paces by the recorded timestamps divided by the speed', async () => {
    // 400 ms of recorded time at 4x: at least 100 ms of wall time (a lower bound only).
    const file = tempCsv(
      ['symbol,timestamp,bid,ask,last,size', 'A,0,1,2,1.5,1', 'A,200,1,2,1.5,1', 'A,400,1,2,1.5,1'].join(
        '\n',
      ),
    );
    const sink = new BufferSink(10);
    const source = new CsvReplaySource({ file, speed: 4, loop: false, timestamps: 'now' }, quiet);
    const started = Date.now();
    source.start(sink);
    await source.finished();
    const elapsed = Date.now() - started;
    sink.drainAll();
    expect(sink.out).toHaveLength(3);
    expect(elapsed).toBeGreaterThanOrEqual(95);
    // `now` timestamps: wall-clock times of the replay, not the file's.
    expect(sink.out[0]!.ts).toBeGreaterThanOrEqual(started);
    // The third row is due 100 ms after the start; the first may have gone out late on a busy machine.
    expect(sink.out[2]!.ts - started).toBeGreaterThanOrEqual(95);
    expect(sink.out[2]!.ts).toBeGreaterThanOrEqual(sink.out[0]!.ts);
  });
});
