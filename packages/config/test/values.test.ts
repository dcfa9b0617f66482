import {
  boolean,
  ConfigError,
  describeVariables,
  helpFor,
  listValue,
  matching,
  number,
  numberValue,
  oneOf,
  parseVariables,
  text,
  urlValue,
  variable,
} from '../src';

/** The one line `parseVariables` gives for `raw`, or the value. */
function read(v: ReturnType<typeof variable>, raw: string): unknown {
  try {
    return parseVariables({ X: v }, { X: raw }).X;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

const value = (schema: Parameters<typeof variable>[0]['value']) =>
  variable({ doc: 'd', accepts: 'a', value: schema });

describe('value kinds', () => {
  it('numbers: bounds, integers, and one wording of what they must be', () => {
    const port = number({ min: 0, max: 65535, integer: true }, { doc: 'd', default: 1 });
    expect(read(port, '8080')).toBe(8080);
    expect(read(port, 'x')).toBe('X must be an integer >= 0 and <= 65535, got "x"');
    expect(read(port, '1.5')).toBe('X must be an integer >= 0 and <= 65535, got "1.5"');
    expect(read(port, '70000')).toBe('X must be an integer >= 0 and <= 65535, got "70000"');
    expect(read(value(numberValue({ min: 0.5 })), '0.75')).toBe(0.75);
    expect(read(value(numberValue({ min: 0.5 })), '0.25')).toBe('X must be a number >= 0.5, got "0.25"');
    expect(read(value(numberValue({ max: 2 })), '3')).toBe('X must be a number <= 2, got "3"');
    expect(read(value(numberValue()), 'Infinity')).toBe('X must be a number, got "Infinity"');
    expect(describeVariables({ P: port })[0]).toMatchObject({ accepts: 'integer 0–65535', default: '1' });
  });

  it('booleans: true/1/yes/on and false/0/no/off in any case', () => {
    const flag = boolean({ doc: 'd', default: false });
    for (const raw of ['true', '1', 'yes', 'on', 'TRUE', 'On']) expect(read(flag, raw)).toBe(true);
    for (const raw of ['false', '0', 'no', 'off', 'False', 'NO']) expect(read(flag, raw)).toBe(false);
    expect(read(flag, 'maybe')).toBe('X must be true or false, got "maybe"');
    expect(describeVariables({ F: flag })[0]?.accepts).toBe('true or false (1, 0, yes, no, on, off)');
  });

  it('one of a list, in any case, giving the declared spelling', () => {
    const mode = oneOf(['off', 'hs256', 'jwks'], { doc: 'd', default: 'off' });
    expect(read(mode, 'HS256')).toBe('hs256');
    expect(read(mode, 'rsa')).toBe('X must be one of off, hs256, jwks, got "rsa"');
    expect(describeVariables({ M: mode })[0]?.accepts).toBe('off, hs256, jwks');
  });

  it('text, patterns and URLs; a URL refused is not echoed, it may carry a password', () => {
    expect(read(text({ doc: 'd', default: 'a' }), 'b c')).toBe('b c');
    expect(read(value(matching(/^[a-z]+$/, 'lower-case letters')), 'A1')).toBe(
      'X must be lower-case letters, got "A1"',
    );
    const redis = value(urlValue(['redis', 'rediss']));
    expect(read(redis, 'rediss://h:1')).toBe('rediss://h:1');
    expect(read(redis, 'http://user:secret@h')).toBe('X must start with redis:// or rediss://');
    expect(read(value(urlValue(['https'])), 'x')).toBe('X must start with https://');
  });

  it('comma lists: blanks dropped, the first bad item named, an empty list refused', () => {
    const hosts = value(listValue('host:port[,host:port]', (h) => /^\w+:\d+$/.test(h)));
    expect(read(hosts, ' a:1, ,b:2 ')).toEqual(['a:1', 'b:2']);
    expect(read(hosts, 'a:1,b')).toBe('X must be host:port[,host:port], got "b"');
    expect(read(hosts, ', ,')).toBe('X must be host:port[,host:port], got ", ,"');
    expect(read(value(listValue('origins')), 'x, y')).toEqual(['x', 'y']);
  });

  it('a number or one-of without a default: undefined when unset, `defaultText` shown', () => {
    const vars = {
      HZ: number({ min: 1 }, { doc: 'rate', defaultText: '4 (at most MAX)' }),
      FORMAT: oneOf(['json', 'pretty'], { doc: 'lines' }),
    };
    expect(parseVariables(vars, {})).toEqual({ HZ: undefined, FORMAT: undefined });
    expect(parseVariables(vars, { HZ: '2', FORMAT: 'JSON' })).toEqual({ HZ: 2, FORMAT: 'json' });
    expect(describeVariables(vars).map((v) => v.default)).toEqual(['4 (at most MAX)', undefined]);
    expect(helpFor('the app', vars)({ HZ: '2' })).toContain('  HZ=2   (default 4 (at most MAX); number ≥ 1)');
  });
});
