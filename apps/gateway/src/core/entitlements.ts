/**
 * What one connection may do, beyond the gateway-wide limits. Comes from the auth layer (JWT claims);
 * absent means "everything the limits allow".
 */
export interface Entitlements {
  /** Symbol patterns: exact names, or a prefix followed by `*` (e.g. "EUR*"); `*` alone allows all. */
  symbols?: readonly string[];
  /** Caps the rate the connection may ask for. */
  maxHz?: number;
  /** Caps the subscriptions of the connection. */
  maxSubscriptions?: number;
}

/** A compiled symbol pattern list; undefined patterns allow every symbol. */
export function symbolMatcher(patterns: readonly string[] | undefined): (symbol: string) => boolean {
  if (patterns === undefined) return () => true;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    if (p.endsWith('*')) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return (symbol) => {
    if (exact.has(symbol)) return true;
    for (const prefix of prefixes) if (symbol.startsWith(prefix)) return true;
    return false;
  };
}
