import { HubMessageError, parseHubMessage, parseSendBody } from '../../src/publish/hub-message';

const refusal = (parse: () => unknown): string | undefined => {
  try {
    parse();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(HubMessageError);
    return (error as Error).message;
  }
};

describe('parseSendBody (REST)', () => {
  it('reads target and arguments in any letter case, as Azure SignalR Service binds them', () => {
    expect(parseSendBody({ target: 'T', arguments: [1] })).toEqual({ target: 'T', arguments: [1] });
    expect(parseSendBody({ Target: 'T', Arguments: [1, 'a'] })).toEqual({ target: 'T', arguments: [1, 'a'] });
    expect(parseSendBody({ TARGET: 'T', aRgUmEnTs: [] })).toEqual({ target: 'T', arguments: [] });
  });

  it('prefers the lower-case spelling when a body has several', () => {
    expect(parseSendBody({ Target: 'no', target: 'yes', arguments: [] }).target).toBe('yes');
  });

  it('refuses what the documented body refuses', () => {
    expect(refusal(() => parseSendBody([]))).toBe('the body must be a JSON object');
    expect(refusal(() => parseSendBody({ Target: '', Arguments: [] }))).toMatch(/^target must be/);
    expect(refusal(() => parseSendBody({ Target: 'T' }))).toBe('arguments must be an array');
    expect(refusal(() => parseSendBody({ Target: 'T', Arguments: {} }))).toBe('arguments must be an array');
  });
});

describe('parseHubMessage (Kafka)', () => {
  it('keeps its lower-case field names', () => {
    const record = { hub: 'chathub', to: { kind: 'all' }, Target: 'T', Arguments: [] };
    expect(refusal(() => parseHubMessage(record))).toMatch(/^target must be/);
  });
});
