import { MAX_SYMBOL_LENGTH } from '@tickhub/protocol';
import type { ClusterMessage, ClusterPresence, MessageTarget, PodPresence } from './backplane';

/** Symbols become channel and key names: the protocol's one symbol length limit applies. */
export function validateSymbol(symbol: unknown): asserts symbol is string {
  if (typeof symbol !== 'string' || symbol.length === 0 || symbol.length > MAX_SYMBOL_LENGTH) {
    throw new TypeError(`backplane symbol must be a string of 1..${MAX_SYMBOL_LENGTH} characters`);
  }
}

export function validatePayload(payload: unknown): asserts payload is Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new TypeError('backplane payload must be a Uint8Array');
}

function validateTarget(target: unknown): asserts target is MessageTarget {
  if (typeof target !== 'object' || target === null) {
    throw new TypeError('backplane message target must be an object');
  }
  const t = target as { kind?: unknown; group?: unknown; user?: unknown; connectionId?: unknown };
  const field =
    t.kind === 'all'
      ? undefined
      : t.kind === 'group'
        ? t.group
        : t.kind === 'user'
          ? t.user
          : t.kind === 'connection'
            ? t.connectionId
            : null;
  if (field === null) throw new TypeError(`backplane message target kind "${String(t.kind)}" is unknown`);
  if (field !== undefined && (typeof field !== 'string' || field.length === 0)) {
    throw new TypeError(`backplane message target "${String(t.kind)}" needs a non-empty id`);
  }
}

export function validateMessage(message: Omit<ClusterMessage, 'origin'>): void {
  if (typeof message !== 'object' || message === null)
    throw new TypeError('backplane message must be an object');
  if (typeof message.topic !== 'string' || message.topic.length === 0) {
    throw new TypeError('backplane message topic must be a non-empty string');
  }
  validateTarget(message.target);
  validatePayload(message.payload);
  if (message.except !== undefined) {
    if (!Array.isArray(message.except) || message.except.some((id) => typeof id !== 'string')) {
      throw new TypeError('backplane message except must be an array of connection ids');
    }
  }
}

/** The cluster view: the sum of the live pods' reports. */
export function sumPresence(reports: readonly PodPresence[]): ClusterPresence {
  const result: ClusterPresence = { pods: 0, connections: 0, subscribers: {}, counters: {} };
  for (const report of reports) {
    result.pods++;
    result.connections += finite(report.connections);
    addInto(result.subscribers, report.subscribers);
    if (report.counters) addInto(result.counters, report.counters);
  }
  return result;
}

function addInto(into: Record<string, number>, from: Record<string, number> | undefined): void {
  if (!from) return;
  for (const key of Object.keys(from)) {
    if (key === '__proto__') continue;
    into[key] = (into[key] ?? 0) + finite(from[key]);
  }
}

function finite(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
