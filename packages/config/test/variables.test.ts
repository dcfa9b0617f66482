import { z } from 'zod';
import {
  bad,
  ConfigError,
  describeVariables,
  formatHelp,
  formatMarkdownTable,
  parsed,
  parseVariables,
  variable,
} from '../src';

const port = parsed((raw) => {
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : bad(`must be a port, got "${raw}"`);
});

const VARIABLES = {
  PORT: variable({ doc: 'where it listens', accepts: 'integer 0–65535', default: 8080, value: port }),
  NAME: variable({ doc: 'what it is called', accepts: 'text', value: z.string() }),
  KEY: variable({ doc: 'signs | tokens', accepts: 'text', secret: true, group: 'keys', value: z.string() }),
  ID: variable({ doc: 'its id', accepts: 'text', defaultText: 'random', value: z.string() }),
};

describe('parseVariables', () => {
  it('gives the defaults for unset and blank variables, and trims values', () => {
    expect(parseVariables(VARIABLES, { NAME: '  ', KEY: ' k ' })).toEqual({
      PORT: 8080,
      NAME: undefined,
      KEY: 'k',
      ID: undefined,
    });
    expect(parseVariables(VARIABLES, { PORT: ' 0 ' }).PORT).toBe(0);
  });

  it('refuses a required variable that is unset, naming it', () => {
    const required = {
      BROKERS: variable({ doc: 'brokers', accepts: 'list', required: 'is required', value: z.string() }),
    };
    expect(() => parseVariables(required, { BROKERS: ' ' })).toThrow('BROKERS is required');
    expect(describeVariables(required)[0]?.required).toBe(true);
  });

  it('names every bad variable, one line each, and nothing else', () => {
    const twoBad = { ...VARIABLES, OTHER_PORT: VARIABLES.PORT };
    let error: unknown;
    try {
      parseVariables(twoBad, { PORT: 'x', OTHER_PORT: '70000', NAME: 'fine' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).lines).toEqual([
      'PORT must be a port, got "x"',
      'OTHER_PORT must be a port, got "70000"',
    ]);
    expect((error as ConfigError).variable).toBe('PORT');
    expect((error as ConfigError).message).toBe(
      'PORT must be a port, got "x"\nOTHER_PORT must be a port, got "70000"',
    );
  });
});

describe('descriptions', () => {
  const described = describeVariables(VARIABLES);

  it('are plain data with the default as the docs show it', () => {
    expect(JSON.parse(JSON.stringify(described))).toEqual([
      {
        name: 'PORT',
        accepts: 'integer 0–65535',
        default: '8080',
        doc: 'where it listens',
        secret: false,
        required: false,
        group: 'main',
      },
      {
        name: 'NAME',
        accepts: 'text',
        doc: 'what it is called',
        secret: false,
        required: false,
        group: 'main',
      },
      { name: 'KEY', accepts: 'text', doc: 'signs | tokens', secret: true, required: false, group: 'keys' },
      {
        name: 'ID',
        accepts: 'text',
        default: 'random',
        doc: 'its id',
        secret: false,
        required: false,
        group: 'main',
      },
    ]);
  });

  it('--help shows values that are set, but never a secret', () => {
    const help = formatHelp('the app', described, { PORT: '9000', KEY: 'very-secret' });
    expect(help).toContain('PORT=9000   (default 8080; integer 0–65535)\n      where it listens');
    expect(help).toContain('KEY=<hidden>');
    expect(help).not.toContain('very-secret');
    expect(help).toContain('  NAME   (no default; text)');
  });

  it('make a padded Markdown table, pipes escaped', () => {
    const table = formatMarkdownTable(described.filter((v) => v.group === 'keys')).split('\n');
    expect(table).toEqual([
      '| variable | default | accepts | meaning         |',
      '| -------- | ------- | ------- | --------------- |',
      '| `KEY`    | —       | text    | signs \\| tokens |',
    ]);
  });
});
