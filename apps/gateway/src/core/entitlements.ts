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

/** The pattern matching exactly the symbols both patterns match, or undefined when none does. */
function intersectPattern(a: string, b: string): string | undefined {
  const aPrefix = a.endsWith('*');
  const bPrefix = b.endsWith('*');
  if (!aPrefix && !bPrefix) return a === b ? a : undefined;
  if (aPrefix && !bPrefix) return b.startsWith(a.slice(0, -1)) ? b : undefined;
  if (!aPrefix && bPrefix) return a.startsWith(b.slice(0, -1)) ? a : undefined;
  // Two prefixes: the longer one, when it extends the shorter.
  const [shorter, longer] = a.length <= b.length ? [a, b] : [b, a];
  return longer.startsWith(shorter.slice(0, -1)) ? longer : undefined;
}

/**
 * The patterns matching exactly the symbols that both lists match (undefined = every symbol). The
 * intersection of two pattern lists is again a pattern list, so every consumer (the edge stage, the
 * directories, history) keeps using one `symbolMatcher`.
 */
export function intersectSymbolPatterns(
  a: readonly string[] | undefined,
  b: readonly string[] | undefined,
): readonly string[] | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const out = new Set<string>();
  for (const pa of a) {
    for (const pb of b) {
      const both = intersectPattern(pa, pb);
      if (both !== undefined) out.add(both);
    }
  }
  return [...out];
}

/**
 * The one entitlement decision of the gateway, for every entry point (`/ws`, the hubs, `/api/symbols`,
 * the directories, history): the server's `ENTITLED_SYMBOLS` narrowed by the token's claims. A claim
 * can only narrow what the server allows, never widen it; `maxHz` and `maxSubscriptions` claims are
 * narrowed by the server limits where the limits are applied (the edge stage). Undefined: no
 * restriction beyond the limits.
 */
export function entitlementsFor(
  serverSymbols: readonly string[] | undefined,
  token: Entitlements | undefined,
): Entitlements | undefined {
  const symbols = intersectSymbolPatterns(serverSymbols, token?.symbols);
  if (symbols === undefined && token?.maxHz === undefined && token?.maxSubscriptions === undefined) {
    return undefined;
  }
  return {
    ...(symbols !== undefined ? { symbols } : {}),
    ...(token?.maxHz !== undefined ? { maxHz: token.maxHz } : {}),
    ...(token?.maxSubscriptions !== undefined ? { maxSubscriptions: token.maxSubscriptions } : {}),
  };
}

/** The entries of a directory (e.g. the symbol list) that the entitlements allow. */
export function entitledDirectory<T extends { symbol: string }>(
  all: readonly T[],
  entitlements: Entitlements | undefined,
): readonly T[] {
  if (entitlements?.symbols === undefined) return all;
  const allowed = symbolMatcher(entitlements.symbols);
  return all.filter((entry) => allowed(entry.symbol));
}
