/**
 * Private events that backends publish to one user (server publish API, docs/protocol.md): the
 * client method the market hub invokes, with one event object as its argument.
 */
export const PRIVATE_EVENT_TARGET = 'ReceiveEvent';

/** An order fill reported to the user who placed the order. */
export interface FillEvent {
  type: 'fill';
  orderId: string;
  symbol: string;
  side: 'buy' | 'sell';
  qty: number;
  price: number;
  /** ms since the Unix epoch. */
  ts: number;
}
