import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SignalRConnection } from './connection';
import { type ConnectionTable, refuseStart } from './connection-table';
import { respond, sendText } from './http-util';
import { LongPollingSink } from './long-polling';
import type { SignalREndpoint } from './transport-options';

/** `GET <hub>?id=` without an event-stream Accept: the first poll starts long polling, later ones wait for messages. */
export function longPoll(
  table: ConnectionTable,
  req: IncomingMessage,
  res: ServerResponse,
  connection: SignalRConnection,
  endpoint: SignalREndpoint,
): void {
  const existing = table.longPolls.get(connection);
  if (existing) {
    existing.accept(res);
    if (existing.finished) table.forget(connection);
    return;
  }
  const refusal = refuseStart(table, connection, 'LongPolling', {
    status: 400,
    reason: 'Cannot poll a connection that uses another transport.',
  });
  if (refusal) {
    sendText(res, refusal.status, refusal.reason);
    return;
  }
  if (!table.holdTransport(req, res, connection)) return;
  const now = Date.now();
  const sink = new LongPollingSink('application/octet-stream', table.options.longPollTimeoutMs, now, () =>
    table.forget(connection),
  );
  table.longPolls.set(connection, sink);
  table.pending.settle(connection);
  connection.start('LongPolling', sink, endpoint.createApplication(connection));
  // The first poll only starts the transport: it returns at once, empty.
  respond(res, 200, 'application/octet-stream');
}

/** `DELETE <hub>?id=`: a long-polling client ends its connection. */
export function deleteConnection(res: ServerResponse, connection: SignalRConnection): void {
  if (connection.transport !== 'LongPolling') {
    sendText(res, 400, 'Cannot terminate this connection using the DELETE endpoint.');
    return;
  }
  sendText(res, 202, '');
  connection.close();
}
