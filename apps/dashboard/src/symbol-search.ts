import type { SymbolInfo } from '@tickhub/protocol';

/**
 * Ranks the symbol universe against what the user typed: exact ticker, ticker prefix, word prefix
 * of the name, then substring anywhere. Ties keep the universe order (which groups asset classes).
 */
export function searchSymbols(universe: readonly SymbolInfo[], query: string, limit = 8): SymbolInfo[] {
  const q = query.trim().toUpperCase();
  if (q.length === 0) return universe.slice(0, limit);
  const scored: Array<{ info: SymbolInfo; score: number; index: number }> = [];
  universe.forEach((info, index) => {
    const score = matchScore(info, q);
    if (score > 0) scored.push({ info, score, index });
  });
  scored.sort((a, b) => b.score - a.score || a.index - b.index);
  return scored.slice(0, limit).map((s) => s.info);
}

function matchScore(info: SymbolInfo, q: string): number {
  const symbol = info.symbol.toUpperCase();
  if (symbol === q) return 100;
  if (symbol.startsWith(q)) return 80 - Math.min(symbol.length - q.length, 20);
  const name = info.name.toUpperCase();
  if (name.startsWith(q)) return 50;
  if (name.split(/[\s./-]+/).some((w) => w.startsWith(q))) return 40;
  if (symbol.includes(q)) return 30;
  if (name.includes(q)) return 20;
  if (info.assetClass.toUpperCase() === q) return 10;
  return 0;
}
