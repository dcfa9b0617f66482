import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ConnectionPrincipal, TRANSFER_FORMATS } from './connection';
import { ConnectionOwner } from './connection-owner';
import type { ConnectionTable } from './connection-table';
import { drain, sendJson, sendText } from './http-util';
import type { SignalREndpoint, TransportRefusal } from './transport-options';

const NEGOTIATE_VERSION = 1;

/**
 * `POST <hub>/negotiate`: admission (shutdown, connection limit, unstarted negotiations per address
 * and user, authentication), then a new connection and the transports it may use.
 */
export async function negotiate(
  table: ConnectionTable,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  endpoint: SignalREndpoint,
): Promise<void> {
  const options = table.options;
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    sendText(res, 405, 'Method Not Allowed');
    return;
  }
  drain(req);
  const requested = url.searchParams.get('negotiateVersion');
  let version = 0;
  if (requested !== null) {
    const parsed = Number(requested);
    if (!Number.isInteger(parsed) || parsed < 0 || requested.trim() === '') {
      sendJson(res, 400, { error: `The client requested an invalid protocol version '${requested}'` });
      return;
    }
    version = Math.min(parsed, NEGOTIATE_VERSION);
  }
  if (table.closing) {
    sendJson(res, 503, { error: 'The server is shutting down.' });
    return;
  }
  if (table.connectionCount >= options.maxConnections) {
    sendJson(res, 503, { error: 'The server has reached its connection limit.' });
    return;
  }
  const address = req.socket.remoteAddress ?? 'unknown';
  if (refusePending(table, req, res, table.pending.exceeded(address))) return;
  const admission = await admit(table, req);
  if ('refusal' in admission) {
    sendJson(res, admission.refusal.status, { error: admission.refusal.reason });
    return;
  }
  const user = admission.principal.userId;
  // Checked again with the user, and because other negotiates may have passed while this one authenticated.
  if (refusePending(table, req, res, table.pending.exceeded(address, user))) return;
  const connection = table.create(endpoint, admission.principal, version);
  // Only when the client asks: older clients would not understand the Ack and Sequence messages.
  connection.statefulReconnect =
    options.allowStatefulReconnects && url.searchParams.get('useStatefulReconnect') === 'true';
  table.pending.add(connection, address, user);
  if (!options.authenticate) {
    table.setOwner(connection, ConnectionOwner.negotiate(req, res, options.clientCookieName));
  }
  options.onNegotiated?.(req, connection.connectionToken);
  const body: Record<string, unknown> = { connectionId: connection.connectionId };
  if (version >= 1) body.connectionToken = connection.connectionToken;
  body.negotiateVersion = version;
  if (connection.statefulReconnect) body.useStatefulReconnect = true;
  body.availableTransports = options.transports.map((transport) => ({
    transport,
    transferFormats: TRANSFER_FORMATS[transport],
  }));
  sendJson(res, 200, body);
}

/** Answers 429 when a cap of pending negotiations is reached; true when it did. */
function refusePending(
  table: ConnectionTable,
  req: IncomingMessage,
  res: ServerResponse,
  cap: 'address' | 'user' | undefined,
): boolean {
  if (cap === undefined) return false;
  try {
    table.options.onPendingLimit?.(req, cap);
  } catch {
    // Counting must not change the answer.
  }
  sendJson(res, 429, {
    error: `Too many negotiated connections not started yet for this ${cap === 'address' ? 'address' : 'user'}.`,
  });
  return true;
}

async function admit(
  table: ConnectionTable,
  req: IncomingMessage,
): Promise<{ principal: ConnectionPrincipal } | { refusal: TransportRefusal }> {
  const admitNegotiate = table.options.admitNegotiate;
  if (admitNegotiate) {
    try {
      return await admitNegotiate(req);
    } catch {
      return { refusal: { status: 401, reason: 'Unauthorized.' } };
    }
  }
  const principal = await table.authenticate(req);
  return principal ? { principal } : { refusal: { status: 401, reason: 'Unauthorized.' } };
}
