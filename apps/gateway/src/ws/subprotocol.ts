import type { IncomingMessage } from 'node:http';
import { SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK } from '@tickhub/protocol';

const SUPPORTED = new Set<string>([SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK]);

/**
 * Picks the subprotocol of a /ws connection: the first one offered that tickhub speaks. With none offered,
 * no header is sent and the connection speaks JSON. With only unknown ones offered, none is selected;
 * the client then fails the connection itself, as RFC 6455 asks.
 */
export function selectSubprotocol(offered: Set<string>, _req: IncomingMessage): string | false {
  for (const p of offered) if (SUPPORTED.has(p)) return p;
  return false;
}
