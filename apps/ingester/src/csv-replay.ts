import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Logger } from '@tickhub/log';
import { MAX_SYMBOL_LENGTH, type Quote } from '@tickhub/protocol';
import { errorText } from './error-text';
import type { TickSink, TickSource } from './source';

export const REQUIRED_COLUMNS = ['symbol', 'timestamp', 'bid', 'ask', 'last', 'size'] as const;
export const OPTIONAL_COLUMNS = ['bidSize', 'askSize', 'volume'] as const;
type Column = (typeof REQUIRED_COLUMNS)[number] | (typeof OPTIONAL_COLUMNS)[number];

/** The replay file cannot be used at all (missing, unreadable, no valid header). */
export class ReplayFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayFileError';
  }
}

const SYMBOL = /^[A-Za-z0-9._:/^=-]+$/;
const INTEGER = /^\d+$/;

function unquote(field: string): string {
  const f = field.trim();
  return f.length >= 2 && f.startsWith('"') && f.endsWith('"') ? f.slice(1, -1).trim() : f;
}

/** Maps column names to positions; throws ReplayFileError when a required column is missing. */
export function parseHeader(line: string): Map<Column, number> {
  const names = line
    .replace(/^\uFEFF/, '')
    .split(',')
    .map(unquote);
  const index = new Map<Column, number>();
  const known: readonly string[] = [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS];
  names.forEach((name, i) => {
    const column = known.find((k) => k.toLowerCase() === name.toLowerCase()) as Column | undefined;
    if (column !== undefined && !index.has(column)) index.set(column, i);
  });
  const missing = REQUIRED_COLUMNS.filter((c) => !index.has(c));
  if (missing.length > 0) {
    throw new ReplayFileError(
      `header row lacks column(s) ${missing.join(', ')}; expected ${REQUIRED_COLUMNS.join(',')}[,${OPTIONAL_COLUMNS.join(',')}]`,
    );
  }
  return index;
}

/** Timestamp column: integer ms since the epoch, or an ISO 8601 date-time. NaN when neither. */
export function parseTimestamp(text: string): number {
  if (INTEGER.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text)) return Number.NaN;
  return Date.parse(text);
}

interface SymbolState {
  seq: number;
  open: number;
  high: number;
  low: number;
  volume: number;
}

export type ParsedLine = { ok: true; quote: Quote; recordedAt: number } | { ok: false; error: string };

/**
 * Turns CSV lines into quotes. The ingester owns `seq` (per symbol, from `firstSeq`) and derives open, high and
 * low from the `last` prices it has seen; volume is the cumulative sum of `size` unless a `volume`
 * column gives it.
 */
export class CsvTickParser {
  private readonly symbols = new Map<string, SymbolState>();

  constructor(
    private readonly columns: Map<Column, number>,
    private readonly firstSeq = 1,
  ) {}

  parse(line: string): ParsedLine {
    const fields = line.split(',');
    const get = (c: Column): string | undefined => {
      const i = this.columns.get(c);
      return i === undefined ? undefined : fields[i] === undefined ? undefined : unquote(fields[i]!);
    };
    const symbol = get('symbol');
    if (symbol === undefined || symbol === '') return { ok: false, error: 'symbol is empty' };
    if (symbol.length > MAX_SYMBOL_LENGTH || !SYMBOL.test(symbol)) {
      return { ok: false, error: `symbol "${symbol.slice(0, 40)}" is not a valid symbol` };
    }
    const tsText = get('timestamp') ?? '';
    const recordedAt = parseTimestamp(tsText);
    if (!Number.isFinite(recordedAt))
      return { ok: false, error: `timestamp "${tsText}" is not ms or ISO 8601` };
    const bid = price(get('bid'));
    const ask = price(get('ask'));
    const last = price(get('last'));
    const size = amount(get('size'));
    if (bid === undefined) return { ok: false, error: `bid "${get('bid') ?? ''}" is not a positive number` };
    if (ask === undefined) return { ok: false, error: `ask "${get('ask') ?? ''}" is not a positive number` };
    if (last === undefined)
      return { ok: false, error: `last "${get('last') ?? ''}" is not a positive number` };
    if (size === undefined) return { ok: false, error: `size "${get('size') ?? ''}" is not a number >= 0` };
    const optional = (c: Column): number | undefined | null => {
      const text = get(c);
      if (text === undefined || text === '') return undefined;
      const value = amount(text);
      return value === undefined ? null : value;
    };
    const bidSize = optional('bidSize');
    const askSize = optional('askSize');
    const volume = optional('volume');
    if (bidSize === null) return { ok: false, error: `bidSize "${get('bidSize')}" is not a number >= 0` };
    if (askSize === null) return { ok: false, error: `askSize "${get('askSize')}" is not a number >= 0` };
    if (volume === null) return { ok: false, error: `volume "${get('volume')}" is not a number >= 0` };

    let state = this.symbols.get(symbol);
    if (state === undefined) {
      state = { seq: this.firstSeq - 1, open: last, high: last, low: last, volume: 0 };
      this.symbols.set(symbol, state);
    }
    state.seq++;
    if (last > state.high) state.high = last;
    if (last < state.low) state.low = last;
    state.volume = volume ?? state.volume + size;
    return {
      ok: true,
      recordedAt,
      quote: {
        symbol,
        seq: state.seq,
        ts: recordedAt,
        bid,
        ask,
        bidSize: bidSize ?? 0,
        askSize: askSize ?? 0,
        last,
        lastSize: size,
        volume: state.volume,
        open: state.open,
        high: state.high,
        low: state.low,
      },
    };
  }
}

function price(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function amount(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Opens the file and checks its header, so a bad REPLAY_FILE fails at start-up with one clear line. */
export async function checkReplayFile(file: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ReplayFileError(`${file} is not a regular file`);
    const chunk = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, 0);
    const text = chunk.subarray(0, bytesRead).toString('utf8');
    const firstLine = text.split(/\r?\n/).find((l) => l.trim() !== '');
    if (firstLine === undefined) throw new ReplayFileError(`${file} is empty`);
    parseHeader(firstLine);
  } catch (err) {
    if (err instanceof ReplayFileError) throw err;
    throw new ReplayFileError(`cannot read ${file}: ${errorText(err)}`);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export interface ReplayOptions {
  file: string;
  /** 1 = recorded speed, 10 = ten times faster, 0 = as fast as the buffer takes them. */
  speed: number;
  loop: boolean;
  /** `recorded`: ts is the file's timestamp; `now`: ts is the wall-clock time the tick is replayed. */
  timestamps: 'recorded' | 'now';
  /** `seq` of each symbol's first line; default 1. */
  firstSeq?: number;
}

const YIELD_EVERY = 1000;
const FULL_BUFFER_POLL_MS = 5;
const BAD_LINE_LOG_LIMIT = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Replays a CSV file of recorded ticks. Unlike the simulated market, a file can wait: when the buffer
 * is full the replay pauses instead of folding ticks.
 */
export class CsvReplaySource implements TickSource {
  private running = false;
  private done: Promise<void> | undefined;
  private parser: CsvTickParser | undefined;
  produced = 0;
  badLines = 0;
  passes = 0;

  constructor(
    private readonly options: ReplayOptions,
    private readonly log: Logger,
    private readonly onBadLine: () => void = () => undefined,
  ) {}

  start(sink: TickSink): void {
    this.running = true;
    this.done = this.run(sink).catch((err) => {
      this.log.error('replay stopped: cannot read the file', {
        file: this.options.file,
        error: errorText(err),
      });
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /** Resolves when the file has been replayed (never while REPLAY_LOOP is on) or the source stopped. */
  finished(): Promise<void> {
    return this.done ?? Promise.resolve();
  }

  private async run(sink: TickSink): Promise<void> {
    const { speed, loop } = this.options;
    // seq, open/high/low and volume continue across passes so that looping keeps seq increasing.
    let timeOffset = 0;
    do {
      this.passes++;
      const lastRecorded = await this.pass(sink, speed, timeOffset);
      if (lastRecorded === undefined) break;
      timeOffset = lastRecorded + 1;
    } while (this.running && loop);
    if (this.running) this.log.info('replay finished', { produced: this.produced, badLines: this.badLines });
  }

  /** One pass over the file; returns the last (offset) recorded time, or undefined when nothing was read. */
  private async pass(sink: TickSink, speed: number, timeOffset: number): Promise<number | undefined> {
    const input = createReadStream(this.options.file, { encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    let lineNo = 0;
    let headerSeen = false;
    let firstRecorded: number | undefined;
    let lastRecorded: number | undefined;
    let shift = 0;
    const wallStart = Date.now();
    let sinceYield = 0;
    try {
      for await (const line of lines) {
        if (!this.running) break;
        lineNo++;
        if (line.trim() === '') continue;
        if (!headerSeen) {
          headerSeen = true;
          this.parser ??= new CsvTickParser(parseHeader(line), this.options.firstSeq);
          continue;
        }
        const parsed = this.parser!.parse(line);
        if (!parsed.ok) {
          this.badLines++;
          this.onBadLine();
          if (this.badLines <= BAD_LINE_LOG_LIMIT || this.badLines % 1000 === 0) {
            this.log.warn('replay line skipped', {
              file: this.options.file,
              line: lineNo,
              error: parsed.error,
            });
          }
          continue;
        }
        if (firstRecorded === undefined) {
          firstRecorded = parsed.recordedAt;
          shift = timeOffset > parsed.recordedAt ? timeOffset - parsed.recordedAt : 0;
        }
        const recordedAt = parsed.recordedAt + shift;
        lastRecorded = recordedAt;
        if (speed > 0) {
          const due = wallStart + (recordedAt - (firstRecorded + shift)) / speed;
          const wait = due - Date.now();
          if (wait >= 1) {
            // Hand over what is pushed before pausing, so that it does not wait for the next line.
            sink.flush();
            await sleep(wait);
          }
        }
        while (!sink.hasRoom() && this.running) await sleep(FULL_BUFFER_POLL_MS);
        const quote = parsed.quote;
        quote.ts = this.options.timestamps === 'now' ? Date.now() : recordedAt;
        sink.push(quote, Date.now());
        this.produced++;
        if (++sinceYield >= YIELD_EVERY) {
          sinceYield = 0;
          sink.flush();
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    } finally {
      sink.flush();
      lines.close();
      input.destroy();
    }
    return lastRecorded;
  }
}
