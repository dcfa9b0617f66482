import { RECORD_SEPARATOR, RECORD_SEPARATOR_CHAR } from './framing';
import type { HubProtocol, TransferFormat } from './messages';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** A handshake request is a few dozen bytes; anything far larger is not one. */
export const MAX_HANDSHAKE_SIZE = 4096;

export type HandshakeResult =
  /** More bytes are needed. */
  | { state: 'incomplete' }
  /** The handshake succeeded; `rest` holds the hub messages that followed it in the same read. */
  | { state: 'ok'; protocol: HubProtocol; version: number; rest: Uint8Array }
  /** The handshake failed: answer with this error and close. */
  | { state: 'error'; error: string };

/**
 * Reads the handshake request from the bytes received so far (it is always JSON terminated by the
 * record separator, whatever the protocol it asks for) and picks the protocol.
 */
export function readHandshake(
  buffer: Uint8Array,
  protocols: readonly HubProtocol[],
  transferFormats: readonly TransferFormat[],
): HandshakeResult {
  const end = buffer.indexOf(RECORD_SEPARATOR);
  if (end < 0) {
    if (buffer.length > MAX_HANDSHAKE_SIZE) {
      return { state: 'error', error: 'Handshake request is too large or is missing its record separator.' };
    }
    return { state: 'incomplete' };
  }
  if (end > MAX_HANDSHAKE_SIZE) return { state: 'error', error: 'Handshake request is too large.' };
  let raw: unknown;
  try {
    raw = JSON.parse(utf8.decode(buffer.subarray(0, end)));
  } catch {
    return { state: 'error', error: 'Handshake request is not valid JSON.' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { state: 'error', error: 'Handshake request must be a JSON object.' };
  }
  const request = raw as Record<string, unknown>;
  if (typeof request.protocol !== 'string') {
    return { state: 'error', error: "Handshake request is missing the 'protocol' property." };
  }
  if (typeof request.version !== 'number' || !Number.isInteger(request.version)) {
    return { state: 'error', error: "Handshake request is missing the 'version' property." };
  }
  const protocol = protocols.find((p) => p.name === request.protocol);
  if (!protocol) {
    return { state: 'error', error: `Requested protocol '${request.protocol}' is not available.` };
  }
  if (!protocol.versions.includes(request.version)) {
    return {
      state: 'error',
      error: `The server does not support version ${request.version} of the '${protocol.name}' protocol.`,
    };
  }
  if (!transferFormats.includes(protocol.transferFormat)) {
    return {
      state: 'error',
      error: `Cannot use the '${protocol.name}' protocol on the current transport. The transport does not support '${protocol.transferFormat}' transfer format.`,
    };
  }
  return { state: 'ok', protocol, version: request.version, rest: buffer.subarray(end + 1) };
}

/** The handshake response: `{}` on success, `{"error":"…"}` on failure, always JSON + record separator. */
export function writeHandshakeResponse(error?: string): Uint8Array {
  return encoder.encode(JSON.stringify(error === undefined ? {} : { error }) + RECORD_SEPARATOR_CHAR);
}
