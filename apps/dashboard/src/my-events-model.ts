import type { FillEvent } from '@tickhub/protocol';

/** Events the panel keeps; older ones scroll away. */
export const MAX_MY_EVENTS = 50;

export interface EventLine {
  text: string;
  /** `buy`, `sell`, or `other` for events the panel does not know. */
  tone: 'buy' | 'sell' | 'other';
}

function isFill(event: unknown): event is FillEvent {
  const e = event as Partial<FillEvent> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    e.type === 'fill' &&
    (e.side === 'buy' || e.side === 'sell') &&
    typeof e.symbol === 'string' &&
    typeof e.qty === 'number' &&
    typeof e.price === 'number'
  );
}

/** One line per event: fills spelled out, anything else shown as its JSON (cut to one line). */
export function describeEvent(event: unknown, now: () => Date = () => new Date()): EventLine {
  if (isFill(event)) {
    const at = new Date(typeof event.ts === 'number' ? event.ts : now().getTime()).toLocaleTimeString(
      'en-GB',
    );
    const order = typeof event.orderId === 'string' ? ` · ${event.orderId}` : '';
    return {
      text: `${at} ${event.side.toUpperCase()} ${event.qty} ${event.symbol} @ ${event.price}${order}`,
      tone: event.side,
    };
  }
  const json = JSON.stringify(event) ?? String(event);
  return { text: json.length > 200 ? `${json.slice(0, 199)}…` : json, tone: 'other' };
}

/** The newest events first, bounded. */
export class MyEvents {
  readonly lines: EventLine[] = [];

  add(event: unknown): EventLine {
    const line = describeEvent(event);
    this.lines.unshift(line);
    if (this.lines.length > MAX_MY_EVENTS) this.lines.length = MAX_MY_EVENTS;
    return line;
  }
}
