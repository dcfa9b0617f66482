import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SignalRConnection } from './connection';
import { type ConnectionTable, refuseStart } from './connection-table';
import { sendText } from './http-util';
import { ServerSentEventsSink } from './sinks';
import type { SignalREndpoint } from './transport-options';

/** `GET <hub>?id=` with `Accept: text/event-stream`: starts the Server-Sent Events transport. */
export function serverSentEvents(
  table: ConnectionTable,
  req: IncomingMessage,
  res: ServerResponse,
  connection: SignalRConnection,
  endpoint: SignalREndpoint,
): void {
  const refusal = refuseStart(table, connection, 'ServerSentEvents', {
    status: 409,
    reason: 'Another transport is already active for this connection.',
  });
  if (refusal) {
    sendText(res, refusal.status, refusal.reason);
    return;
  }
  if (!table.holdTransport(req, res, connection)) return;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    // Proxies such as nginx must pass events through as they come.
    'X-Accel-Buffering': 'no',
  });
  res.socket?.setNoDelay(true);
  // Some EventSource implementations only report the stream open once a first byte arrives.
  res.write(':\r\n\r\n');
  table.pending.settle(connection);
  connection.start('ServerSentEvents', new ServerSentEventsSink(res), endpoint.createApplication(connection));
  res.on('close', () => connection.transportClosed());
}
