import type { ClusterMessage, MessageTarget } from '@tickhub/backplane';

/**
 * Binary envelope of a cluster message on its topic channel (the topic is the channel itself):
 *
 *   u8 version (1) · u8 target kind (0 all, 1 group, 2 user, 3 connection)
 *   str origin · [str target id, unless kind = all] · u16 except count · str × count · payload (rest)
 *
 * where str = u16 byte length + UTF-8 bytes. The payload is carried as is, without base64.
 */
const VERSION = 1;
const KINDS = ['all', 'group', 'user', 'connection'] as const;
const MAX_STRING_BYTES = 0xffff;

export class EnvelopeError extends Error {}

function targetId(target: MessageTarget): string | undefined {
  switch (target.kind) {
    case 'all':
      return undefined;
    case 'group':
      return target.group;
    case 'user':
      return target.user;
    case 'connection':
      return target.connectionId;
  }
}

export function encodeEnvelope(message: ClusterMessage): Buffer {
  const strings: Buffer[] = [Buffer.from(message.origin, 'utf8')];
  const id = targetId(message.target);
  if (id !== undefined) strings.push(Buffer.from(id, 'utf8'));
  const except = message.except ?? [];
  if (except.length > 0xffff)
    throw new EnvelopeError('a cluster message can exclude at most 65535 connections');
  for (const connectionId of except) strings.push(Buffer.from(connectionId, 'utf8'));
  let size = 2 + 2 + message.payload.byteLength;
  for (const s of strings) {
    if (s.length > MAX_STRING_BYTES) throw new EnvelopeError('cluster message id is longer than 65535 bytes');
    size += 2 + s.length;
  }
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  out[offset++] = VERSION;
  out[offset++] = KINDS.indexOf(message.target.kind);
  const writeString = (s: Buffer) => {
    out.writeUInt16BE(s.length, offset);
    s.copy(out, offset + 2);
    offset += 2 + s.length;
  };
  let i = 0;
  writeString(strings[i++]!);
  if (id !== undefined) writeString(strings[i++]!);
  out.writeUInt16BE(except.length, offset);
  offset += 2;
  while (i < strings.length) writeString(strings[i++]!);
  out.set(message.payload, offset);
  return out;
}

export function decodeEnvelope(topic: string, data: Buffer): ClusterMessage {
  let offset = 0;
  const need = (n: number) => {
    if (offset + n > data.length) throw new EnvelopeError('truncated cluster message');
  };
  const readString = (): string => {
    need(2);
    const length = data.readUInt16BE(offset);
    need(2 + length);
    const s = data.toString('utf8', offset + 2, offset + 2 + length);
    offset += 2 + length;
    return s;
  };
  need(2);
  if (data[0] !== VERSION) throw new EnvelopeError(`unknown cluster message version ${data[0]}`);
  const kind = KINDS[data[1]!];
  if (kind === undefined) throw new EnvelopeError(`unknown cluster message target kind ${data[1]}`);
  offset = 2;
  const origin = readString();
  let target: MessageTarget;
  if (kind === 'all') target = { kind };
  else if (kind === 'group') target = { kind, group: readString() };
  else if (kind === 'user') target = { kind, user: readString() };
  else target = { kind, connectionId: readString() };
  need(2);
  const exceptCount = data.readUInt16BE(offset);
  offset += 2;
  const message: ClusterMessage = { topic, target, origin, payload: data.subarray(0) };
  if (exceptCount > 0) {
    const except: string[] = [];
    for (let n = 0; n < exceptCount; n++) except.push(readString());
    message.except = except;
  }
  message.payload = data.subarray(offset);
  return message;
}
