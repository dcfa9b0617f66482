import fc from 'fast-check';
import {
  BinaryFrameSplitter,
  type HubMessage,
  jsonHubProtocol,
  MessageType,
  messagePackHubProtocol,
  readHandshake,
  TextFrameSplitter,
  writeBinaryFrame,
  writeHandshakeResponse,
} from '../src/protocol';

const bytes = (...values: number[]) => Uint8Array.from(values);
const ascii = (text: string) => [...Buffer.from(text)];
const text = (data: Uint8Array) => Buffer.from(data).toString('utf8');
const frame = (...values: number[]) => writeBinaryFrame(Uint8Array.from(values));

describe('JSON hub protocol', () => {
  const read = (input: string, max = 1024) => jsonHubProtocol.createReader(max).read(Buffer.from(input));

  it('reads invocations with and without an invocation id, with headers', () => {
    const result = read(
      '{"type":1,"invocationId":"123","target":"Send","arguments":[42,"Test Message"]}\u001e' +
        '{"type":1,"target":"Send","arguments":[],"headers":{"Foo":"Bar"}}\u001e',
    );
    expect(result.error).toBeUndefined();
    expect(result.messages).toEqual([
      { type: 1, invocationId: '123', target: 'Send', arguments: [42, 'Test Message'] },
      { type: 1, headers: { Foo: 'Bar' }, target: 'Send', arguments: [] },
    ]);
  });

  it('reads every message type a client sends', () => {
    const result = read(
      `${[
        '{"type":4,"invocationId":"1","target":"S","arguments":[]}',
        '{"type":2,"invocationId":"1","item":5}',
        '{"type":3,"invocationId":"1","result":null}',
        '{"type":3,"invocationId":"2","error":"boom"}',
        '{"type":5,"invocationId":"1"}',
        '{"type":6}',
        '{"type":7,"error":"bye","allowReconnect":true}',
        '{"type":8,"sequenceId":3}',
        '{"type":9,"sequenceId":4}',
      ].join('\u001e')}\u001e`,
    );
    expect(result.error).toBeUndefined();
    expect(result.messages.map((m) => m.type)).toEqual([4, 2, 3, 3, 5, 6, 7, 8, 9]);
    expect(result.messages[2]).toEqual({ type: 3, invocationId: '1', result: null });
    expect(result.messages[6]).toEqual({ type: 7, error: 'bye', allowReconnect: true });
  });

  it('keeps an incomplete message for the next read', () => {
    const reader = jsonHubProtocol.createReader(1024);
    expect(reader.read(Buffer.from('{"type":1,"target":"A",')).messages).toEqual([]);
    expect(reader.pending).toBeGreaterThan(0);
    expect(reader.read(Buffer.from('"arguments":[]}\u001e{"type":6}')).messages).toEqual([
      { type: 1, target: 'A', arguments: [] },
    ]);
    expect(reader.read(Buffer.from('\u001e')).messages).toEqual([{ type: 6 }]);
    expect(reader.pending).toBe(0);
  });

  it.each([
    ['not JSON', 'hello\u001e', /Error reading JSON/],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d, 0x1e]), /Error reading JSON/],
    ['not an object', '[1]\u001e', /not a JSON object/],
    ['no type', '{"target":"A"}\u001e', /'type'/],
    ['unknown type', '{"type":42}\u001e', /Unknown message type '42'/],
    ['no target', '{"type":1,"arguments":[]}\u001e', /'target'/],
    ['arguments not an array', '{"type":1,"target":"A","arguments":{}}\u001e', /'arguments'/],
    [
      'numeric invocation id',
      '{"type":1,"invocationId":1,"target":"A","arguments":[]}\u001e',
      /'invocationId'/,
    ],
    ['non-string header', '{"type":1,"target":"A","arguments":[],"headers":{"a":1}}\u001e', /header/],
    ['result and error', '{"type":3,"invocationId":"1","result":1,"error":"x"}\u001e', /mutually exclusive/],
  ])('rejects %s', (_name, input, pattern) => {
    const reader = jsonHubProtocol.createReader(1024);
    const result = reader.read(typeof input === 'string' ? Buffer.from(input) : input);
    expect(result.error).toMatch(pattern);
  });

  it('rejects a message above the size limit, complete or not', () => {
    expect(read(`{"type":1,"target":"${'x'.repeat(2000)}","arguments":[]}\u001e`).error).toMatch(
      /maximum message size of 1024B/,
    );
    expect(read(`{"type":1,"target":"${'x'.repeat(2000)}`).error).toMatch(/maximum message size/);
  });

  it('writes messages as the spec shows them', () => {
    const w = (m: HubMessage) => text(jsonHubProtocol.write(m));
    expect(w({ type: MessageType.Invocation, target: 'Send', arguments: [42, 'x'] })).toBe(
      '{"type":1,"target":"Send","arguments":[42,"x"]}\u001e',
    );
    expect(w({ type: MessageType.Completion, invocationId: '123' })).toBe(
      '{"type":3,"invocationId":"123"}\u001e',
    );
    expect(w({ type: MessageType.Completion, invocationId: '123', result: 42 })).toBe(
      '{"type":3,"invocationId":"123","result":42}\u001e',
    );
    expect(w({ type: MessageType.Completion, invocationId: '123', result: null })).toBe(
      '{"type":3,"invocationId":"123","result":null}\u001e',
    );
    expect(w({ type: MessageType.Completion, invocationId: '123', error: "It didn't work!" })).toBe(
      '{"type":3,"invocationId":"123","error":"It didn\'t work!"}\u001e',
    );
    expect(w({ type: MessageType.Ping })).toBe('{"type":6}\u001e');
    expect(w({ type: MessageType.Close })).toBe('{"type":7}\u001e');
    expect(w({ type: MessageType.Close, error: 'e', allowReconnect: true })).toBe(
      '{"type":7,"error":"e","allowReconnect":true}\u001e',
    );
  });
});

describe('MessagePack hub protocol', () => {
  const read = (data: Uint8Array, max = 1024) => messagePackHubProtocol.createReader(max).read(data);

  it('writes whole numbers beyond 32 bits as int64, in arguments, results and nested objects', () => {
    const invocation = messagePackHubProtocol.write({
      type: MessageType.Invocation,
      target: 'n',
      arguments: [2 ** 32, { ts: 1764000000000 }, -(2 ** 33), 0.5],
    });
    // length prefix, [1, {}, nil, "n", [ … ]]
    expect([...invocation]).toEqual([
      ...[0x2f, 0x95, 0x01, 0x80, 0xc0, 0xa1, 0x6e, 0x94],
      ...[0xd3, 0, 0, 0, 1, 0, 0, 0, 0],
      ...[0x81, 0xa2, 0x74, 0x73, 0xd3, 0, 0, 0x01, 0x9a, 0xb6, 0x97, 0xe8, 0],
      ...[0xd3, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0],
      ...[0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0],
    ]);
    const completion = messagePackHubProtocol.write({
      type: MessageType.Completion,
      invocationId: '1',
      result: 2 ** 40,
    });
    expect([...completion.subarray(-9)]).toEqual([0xd3, 0, 0, 0x01, 0, 0, 0, 0, 0]);
    expect(read(completion).messages).toEqual([{ type: 3, invocationId: '1', result: 2 ** 40 }]);
  });

  it('reads the spec examples byte for byte', () => {
    const invocation = frame(
      0x96,
      0x01,
      0x80,
      0xa3,
      ...ascii('xyz'),
      0xa6,
      ...ascii('method'),
      0x91,
      0x2a,
      0x90,
    );
    expect(read(invocation).messages).toEqual([
      { type: 1, invocationId: 'xyz', target: 'method', arguments: [42] },
    ]);
    const nonBlocking = frame(0x96, 0x01, 0x80, 0xc0, 0xa6, ...ascii('method'), 0x91, 0x2a, 0x90);
    expect(read(nonBlocking).messages).toEqual([{ type: 1, target: 'method', arguments: [42] }]);
    const withHeaders = frame(
      0x96,
      0x01,
      0x82,
      0xa1,
      0x78,
      0xa1,
      0x79,
      0xa1,
      0x7a,
      0xa1,
      0x7a,
      0xa3,
      ...ascii('xyz'),
      0xa6,
      ...ascii('method'),
      0x91,
      0x2a,
      0x90,
    );
    expect(read(withHeaders).messages).toEqual([
      { type: 1, headers: { x: 'y', z: 'z' }, invocationId: 'xyz', target: 'method', arguments: [42] },
    ]);
    expect(read(frame(0x91, 0x06)).messages).toEqual([{ type: 6 }]);
    expect(read(frame(0x92, 0x07, 0xa3, ...ascii('xyz'))).messages).toEqual([{ type: 7, error: 'xyz' }]);
    expect(read(frame(0x93, 0x05, 0x80, 0xa3, ...ascii('xyz'))).messages).toEqual([
      { type: 5, invocationId: 'xyz' },
    ]);
    expect(
      read(frame(0x95, 0x03, 0x80, 0xa3, ...ascii('xyz'), 0x01, 0xa5, ...ascii('Error'))).messages,
    ).toEqual([{ type: 3, invocationId: 'xyz', error: 'Error' }]);
    expect(read(frame(0x94, 0x03, 0x80, 0xa3, ...ascii('xyz'), 0x02)).messages).toEqual([
      { type: 3, invocationId: 'xyz' },
    ]);
    expect(read(frame(0x92, 0x08, 0xcc, 0x24)).messages).toEqual([{ type: 8, sequenceId: 36 }]);
  });

  it('writes the spec examples byte for byte', () => {
    const w = (m: HubMessage) => [...messagePackHubProtocol.write(m)];
    expect(w({ type: MessageType.Ping })).toEqual([0x02, 0x91, 0x06]);
    expect(w({ type: MessageType.Completion, invocationId: 'xyz', error: 'Error' })).toEqual([
      0x0e,
      0x95,
      0x03,
      0x80,
      0xa3,
      ...ascii('xyz'),
      0x01,
      0xa5,
      ...ascii('Error'),
    ]);
    expect(w({ type: MessageType.Completion, invocationId: 'xyz' })).toEqual([
      0x08,
      0x94,
      0x03,
      0x80,
      0xa3,
      ...ascii('xyz'),
      0x02,
    ]);
    expect(w({ type: MessageType.Completion, invocationId: 'xyz', result: 42 })).toEqual([
      0x09,
      0x95,
      0x03,
      0x80,
      0xa3,
      ...ascii('xyz'),
      0x03,
      0x2a,
    ]);
    expect(w({ type: MessageType.Close, error: 'xyz', allowReconnect: true })).toEqual([
      0x07,
      0x93,
      0x07,
      0xa3,
      ...ascii('xyz'),
      0xc3,
    ]);
    expect(w({ type: MessageType.Invocation, target: 'method', arguments: [42] })).toEqual([
      0x0d,
      0x95,
      0x01,
      0x80,
      0xc0,
      0xa6,
      ...ascii('method'),
      0x91,
      0x2a,
    ]);
  });

  it.each([
    ['a non-array', frame(0x2a), /expected an array/],
    ['an empty message', bytes(0x00), /empty message/],
    ['a truncated body that claims more', bytes(0x03, 0x91, 0x06, 0x01), /MessagePack/],
    ['an unknown type', frame(0x91, 0x2a), /Unknown message type '42'/],
    ['a short invocation', frame(0x93, 0x01, 0x80, 0xc0), /Invalid payload for Invocation/],
    ['a numeric target', frame(0x95, 0x01, 0x80, 0xc0, 0x01, 0x90), /target/],
    ['headers that are not a map', frame(0x95, 0x01, 0x01, 0xc0, 0xa1, 0x41, 0x90), /headers/],
    ['an invalid result kind', frame(0x95, 0x03, 0x80, 0xa1, 0x31, 0x09, 0x01), /result kind/],
  ])('rejects %s', (_name, input, pattern) => {
    expect(read(input).error).toMatch(pattern);
  });

  it('rejects lengths above the limit and above 2GB before reading the body', () => {
    expect(read(bytes(0x80, 0x29)).error).toMatch(/maximum message size of 1024B/); // 5248 bytes announced
    expect(read(bytes(0xff, 0xff, 0xff, 0xff, 0x0f)).error).toMatch(/2GB/);
  });
});

describe('framing', () => {
  it('VarInt lengths follow the spec examples', () => {
    expect([...writeBinaryFrame(new Uint8Array(0x35))].slice(0, 1)).toEqual([0x35]);
    expect([...writeBinaryFrame(new Uint8Array(5248))].slice(0, 2)).toEqual([0x80, 0x29]);
    const splitter = new BinaryFrameSplitter(10_000);
    const hello = Buffer.from('Hello\nWorld');
    const stream = Buffer.concat([writeBinaryFrame(hello), writeBinaryFrame(bytes(1, 2))]);
    expect([...stream.subarray(0, 1)]).toEqual([0x0b]);
    expect(splitter.split(stream).frames.map((f) => [...f])).toEqual([[...hello], [1, 2]]);
  });

  it('returns the same messages however the stream is cut (both protocols)', () => {
    const messages: HubMessage[] = [
      { type: MessageType.Invocation, invocationId: '1', target: 'SendMessage', arguments: ['a', 'é∑'] },
      { type: MessageType.Ping },
      { type: MessageType.Invocation, target: 'X', arguments: [{ nested: [1, 2.5, null, true] }] },
      { type: MessageType.Close, error: 'bye' },
    ];
    for (const protocol of [jsonHubProtocol, messagePackHubProtocol]) {
      const stream = Buffer.concat(messages.map((m) => protocol.write(m)));
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 8 }),
          (cuts) => {
            const reader = protocol.createReader(4096);
            const out: HubMessage[] = [];
            let last = 0;
            for (const cut of [...cuts.sort((a, b) => a - b), stream.length]) {
              const result = reader.read(stream.subarray(last, cut));
              expect(result.error).toBeUndefined();
              out.push(...result.messages);
              last = cut;
            }
            expect(out).toEqual(messages);
            expect(reader.pending).toBe(0);
          },
        ),
      );
    }
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        for (const protocol of [jsonHubProtocol, messagePackHubProtocol]) {
          const result = protocol.createReader(128).read(data);
          expect(Array.isArray(result.messages)).toBe(true);
        }
        new TextFrameSplitter(64).split(data);
        new BinaryFrameSplitter(64).split(data);
        readHandshake(data, [jsonHubProtocol], ['Text']);
      }),
      { numRuns: 500 },
    );
  });
});

describe('handshake', () => {
  const protocols = [jsonHubProtocol, messagePackHubProtocol];
  const hs = (input: string, formats: Array<'Text' | 'Binary'> = ['Text', 'Binary']) =>
    readHandshake(Buffer.from(input), protocols, formats);

  it('picks the requested protocol and hands back what follows the handshake', () => {
    const result = hs('{"protocol":"messagepack","version":1}\u001e\u0002\u0091\u0006');
    expect(result.state).toBe('ok');
    if (result.state === 'ok') {
      expect(result.protocol.name).toBe('messagepack');
      expect(result.rest.length).toBeGreaterThan(0);
    }
    expect(hs('{"protocol":"json","version":1}\u001e').state).toBe('ok');
    expect(hs('{"protocol":"json","version":2}\u001e').state).toBe('ok');
  });

  it('waits for the record separator', () => {
    expect(hs('{"protocol":"json",').state).toBe('incomplete');
  });

  it.each([
    [
      'an unknown protocol',
      '{"protocol":"xml","version":1}\u001e',
      /Requested protocol 'xml' is not available/,
    ],
    ['an unknown version', '{"protocol":"json","version":9}\u001e', /does not support version 9/],
    ['a missing version', '{"protocol":"json"}\u001e', /'version'/],
    ['a missing protocol', '{"version":1}\u001e', /'protocol'/],
    ['text that is not JSON', 'nonsense\u001e', /not valid JSON/],
    ['a JSON array', '[1,2]\u001e', /JSON object/],
    ['5000 bytes without a separator', 'x'.repeat(5000), /too large/],
  ])('refuses %s', (_name, input, pattern) => {
    const result = hs(input);
    expect(result.state).toBe('error');
    if (result.state === 'error') expect(result.error).toMatch(pattern);
  });

  it('refuses a binary protocol on a text-only transport (Server-Sent Events)', () => {
    const result = hs('{"protocol":"messagepack","version":1}\u001e', ['Text']);
    expect(result.state === 'error' && result.error).toMatch(/does not support 'Binary' transfer format/);
  });

  it('answers with an empty object or an error, terminated by the record separator', () => {
    expect(text(writeHandshakeResponse())).toBe('{}\u001e');
    expect(text(writeHandshakeResponse('nope'))).toBe('{"error":"nope"}\u001e');
  });
});
