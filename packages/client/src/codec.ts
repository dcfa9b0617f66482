import { FeedError } from './errors';

/** Turns request objects into frames and frames back into objects. */
export interface Codec {
  readonly binary: boolean;
  encode(message: unknown): string | Uint8Array;
  decode(data: unknown): unknown;
}

let utf8: InstanceType<typeof TextDecoder> | undefined;

function text(data: unknown): string {
  if (typeof data === 'string') return data;
  utf8 ??= new TextDecoder();
  if (data instanceof ArrayBuffer) return utf8.decode(new Uint8Array(data));
  if (data instanceof Uint8Array) return utf8.decode(data);
  throw new TypeError('unsupported frame data');
}

export const jsonCodec: Codec = {
  binary: false,
  encode: (message) => JSON.stringify(message),
  decode: (data) => JSON.parse(text(data)),
};

/**
 * MessagePack through `msgpackr`, imported on first use so that JSON users never load it. Plain maps, no
 * msgpackr records: the server writes and reads standard MessagePack.
 */
export async function loadMsgpackCodec(): Promise<Codec> {
  let msgpackr: typeof import('msgpackr');
  try {
    msgpackr = await import('msgpackr');
  } catch (error) {
    throw new FeedError('UNAVAILABLE', `protocol "msgpack" needs the "msgpackr" package: ${String(error)}`);
  }
  const packr = new msgpackr.Packr({ useRecords: false });
  const unpackr = new msgpackr.Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
  return {
    binary: true,
    encode: (message) => packr.pack(message),
    decode: (data) => {
      if (typeof data === 'string') return JSON.parse(data);
      if (data instanceof ArrayBuffer) return unpackr.unpack(new Uint8Array(data));
      if (data instanceof Uint8Array) return unpackr.unpack(data);
      throw new TypeError('unsupported frame data');
    },
  };
}
