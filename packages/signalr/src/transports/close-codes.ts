import type { WebSocket } from 'ws';

/**
 * The close code ws sends by itself when a peer breaks the WebSocket framing, by the code of the error
 * it reports (ws/lib/receiver.js): a server that counts the closes it sends counts these too.
 */
const WS_ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
  WS_ERR_EXPECTED_FIN: 1002,
  WS_ERR_EXPECTED_MASK: 1002,
  WS_ERR_INVALID_CLOSE_CODE: 1002,
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 1002,
  WS_ERR_INVALID_OPCODE: 1002,
  WS_ERR_UNEXPECTED_MASK: 1002,
  WS_ERR_UNEXPECTED_RSV_1: 1002,
  WS_ERR_UNEXPECTED_RSV_2_3: 1002,
};

/** The code ws closed a socket with after `error`, or undefined for an error that sends no close. */
export function wsErrorCloseCode(error: Error & { code?: string }): number | undefined {
  return error.code === undefined ? undefined : WS_ERROR_CLOSE_CODES[error.code];
}

/** Close frames a server sent, by code (its own closes and those ws sent for broken framing). */
export class CloseCounts {
  private readonly counts = new Map<number, number>();

  count(code: number): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
  }

  /** Closes `ws` with `code` (and `reason`), counted. */
  close(ws: WebSocket, code: number, reason?: string): void {
    this.count(code);
    ws.close(code, reason);
  }

  entries(): Array<[string, number]> {
    return [...this.counts].map(([code, n]) => [String(code), n]);
  }
}
