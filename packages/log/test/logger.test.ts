import { parseVariables } from '@tickhub/config';
import { createLogger, LOG_VARIABLES, logFormat } from '../src';
import { Lines } from './lines';

function jsonLogger(level?: 'debug' | 'info' | 'warn' | 'error') {
  const out = new Lines();
  const logger = createLogger({ app: 'gateway', level, format: 'json', destination: out });
  return { out, logger };
}

describe('createLogger, JSON lines', () => {
  it('writes time, level label, app, component and msg before the fields', () => {
    const { out, logger } = jsonLogger();
    logger.info('listening', { port: 8080, host: '0.0.0.0' });
    expect(out.text).toHaveLength(1);
    expect(out.text[0]).toMatch(/"msg":"listening"[^\n]*"port":(\d+)/);
    const line = out.json()[0]!;
    expect(line).toEqual({
      time: expect.any(String),
      level: 'info',
      app: 'gateway',
      component: 'main',
      msg: 'listening',
      port: 8080,
      host: '0.0.0.0',
    });
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
    expect(Object.keys(line)).toEqual(['level', 'time', 'app', 'component', 'msg', 'port', 'host']);
  });

  it('drops lines below its level and says so through enabled()', () => {
    const { out, logger } = jsonLogger('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(out.json().map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'w'],
      ['error', 'e'],
    ]);
    expect([
      logger.enabled('debug'),
      logger.enabled('info'),
      logger.enabled('warn'),
      logger.enabled('error'),
    ]).toEqual([false, false, true, true]);
  });

  it('writes debug lines at level debug', () => {
    const { out, logger } = jsonLogger('debug');
    logger.debug('detail', { n: 1 });
    expect(out.json()).toEqual([expect.objectContaining({ level: 'debug', msg: 'detail', n: 1 })]);
  });

  it('gives each child its component and fields, replacing the parent component', () => {
    const { out, logger } = jsonLogger();
    const backplane = logger.child('backplane', { pod: 'a' });
    backplane.info('connected');
    backplane.child('subscriber').warn('reconnecting', { attempt: 2 });
    const [first, second] = out.text;
    expect(JSON.parse(first!)).toMatchObject({
      app: 'gateway',
      component: 'backplane',
      pod: 'a',
      msg: 'connected',
    });
    expect(JSON.parse(second!)).toMatchObject({ component: 'subscriber', pod: 'a', attempt: 2 });
    expect(second!.match(/"component"/g)).toHaveLength(1);
  });

  it('keeps the level of its parent in children', () => {
    const { out, logger } = jsonLogger('error');
    const child = logger.child('x');
    child.info('hidden');
    expect(child.enabled('info')).toBe(false);
    expect(out.text).toEqual([]);
  });

  it('carries the app-wide fields on every line', () => {
    const out = new Lines();
    const logger = createLogger({
      app: 'gateway',
      format: 'json',
      destination: out,
      fields: { gateway: 'gw-1' },
    });
    logger.child('ws').info('hello');
    expect(out.json()[0]).toMatchObject({ app: 'gateway', gateway: 'gw-1', component: 'ws' });
  });

  it('writes an Error field as name, message and stack', () => {
    const { out, logger } = jsonLogger();
    const error = new TypeError('bad frame');
    logger.error('decode failed', { error, symbol: 'AAPL' });
    expect(out.json()[0]).toMatchObject({
      msg: 'decode failed',
      symbol: 'AAPL',
      error: { name: 'TypeError', message: 'bad frame', stack: error.stack },
    });
  });

  it('leaves undefined fields out', () => {
    const { out, logger } = jsonLogger();
    logger.info('starting', { kafkaTopic: undefined, mode: 'embedded' });
    expect(out.json()[0]).not.toHaveProperty('kafkaTopic');
  });

  it('writes one line per call even for a circular field', () => {
    const { out, logger } = jsonLogger();
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    logger.info('odd', { loop });
    expect(out.json()[0]).toMatchObject({ msg: 'odd', loop: { a: 1, self: '[Circular]' } });
  });
});

describe('createLogger, readable lines', () => {
  it('writes the time, the level, the component, the message and the fields on one line', () => {
    const out = new Lines();
    const logger = createLogger({ app: 'gateway', format: 'pretty', destination: out });
    logger.child('ws').warn('slow consumer', { connection: 7 });
    expect(out.text).toHaveLength(1);
    expect(out.text[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: ws: slow consumer \{"connection":7\}$/);
  });

  it('leaves out what every line repeats: the app and its app-wide fields', () => {
    const out = new Lines();
    const logger = createLogger({
      app: 'gateway',
      format: 'pretty',
      destination: out,
      fields: { gateway: 'gw-1' },
    });
    logger.info('listening', { port: 8080 });
    expect(out.text[0]).toMatch(/INFO: main: listening \{"port":8080\}$/);
  });

  it('writes an error with its stack', () => {
    const out = new Lines();
    const logger = createLogger({ app: 'ingester', format: 'pretty', destination: out });
    logger.error('send failed', { error: new Error('broker down') });
    const text = out.text.join('\n');
    expect(text).toContain('ERROR: main: send failed');
    expect(text).toContain('broker down');
    expect(text).toContain('logger.test.ts');
  });
});

describe('logFormat', () => {
  it('is readable on a terminal and JSON elsewhere', () => {
    expect(logFormat({}, true)).toBe('pretty');
    expect(logFormat({}, false)).toBe('json');
  });

  it('follows LOG_FORMAT when it is set', () => {
    expect(logFormat({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormat({ LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
  });

  it('reads LOG_FORMAT as LOG_VARIABLES checks it: any case, blanks around', () => {
    expect(logFormat({ LOG_FORMAT: ' JSON ' }, true)).toBe('json');
    expect(parseVariables(LOG_VARIABLES, { LOG_FORMAT: ' JSON ' }).LOG_FORMAT).toBe('json');
  });
});

describe('LOG_VARIABLES', () => {
  it('reads the level and the format, unset format left to the terminal', () => {
    expect(parseVariables(LOG_VARIABLES, {})).toEqual({ LOG_LEVEL: 'info', LOG_FORMAT: undefined });
    expect(parseVariables(LOG_VARIABLES, { LOG_LEVEL: 'Warn', LOG_FORMAT: 'pretty' })).toEqual({
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'pretty',
    });
  });

  it('names a bad level or format with what it takes', () => {
    expect(() => parseVariables(LOG_VARIABLES, { LOG_LEVEL: 'loud', LOG_FORMAT: 'text' })).toThrow(
      'LOG_LEVEL must be one of debug, info, warn, error, got "loud"\n' +
        'LOG_FORMAT must be one of json, pretty, got "text"',
    );
  });
});
