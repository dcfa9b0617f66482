import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SignalRConnection } from './connection';
import type { ConnectionTable } from './connection-table';
import { drain, sendText } from './http-util';

/** `POST <hub>?id=`: messages from the client on SSE and long polling, read as the hub keeps up. */
export async function httpSend(
  table: ConnectionTable,
  req: IncomingMessage,
  res: ServerResponse,
  connection: SignalRConnection,
): Promise<void> {
  if (connection.transport === 'WebSockets') {
    drain(req);
    sendText(res, 405, 'POST requests are not allowed for WebSocket connections.');
    return;
  }
  if (connection.closed || !connection.started) {
    drain(req);
    sendText(res, 404, 'No Connection with that ID');
    return;
  }
  if (table.posting.has(connection)) {
    drain(req);
    sendText(res, 409, 'Another send request is in progress.');
    return;
  }
  table.posting.add(connection);
  try {
    const preParsed = (req as IncomingMessage & { body?: unknown }).body;
    if (req.readableEnded && (Buffer.isBuffer(preParsed) || typeof preParsed === 'string')) {
      // A body parser upstream already consumed the stream.
      connection.receive(typeof preParsed === 'string' ? Buffer.from(preParsed) : preParsed);
    } else {
      let received = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received > table.options.maxTransportMessageBytes) {
          connection.close('The request body is too large.');
          sendText(res, 413, 'Payload Too Large');
          req.resume();
          return;
        }
        // Hub messages are parsed as they arrive; an incomplete one waits for the next chunk.
        connection.receive(chunk);
        // The hub is busy with earlier invocations: stop reading the body until it catches up.
        await connection.whenReceiving();
        if (connection.closed) {
          // The hub ended the connection (e.g. an oversized message): the rest is not read.
          drain(req);
          break;
        }
      }
    }
    sendText(res, 200, '');
  } finally {
    table.posting.delete(connection);
  }
}
