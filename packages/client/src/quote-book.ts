import type { Quote, QuoteUpdate } from '@tickhub/protocol';

/** The quote fields of a snapshot or update, without the frame's `type` and the update's `n`. */
export function toQuote(message: Quote | QuoteUpdate): Quote {
  const { type: _type, n: _n, ...quote } = message as QuoteUpdate & { type?: string };
  return quote;
}

/**
 * The latest quote per symbol. Within one connection `seq` never decreases, so a quote whose `seq` is not
 * newer than the one held is dropped. The first quote of a symbol on a new connection is taken whatever
 * its `seq`: after a restart of the tick source the numbering may begin again, and holding on to the old
 * numbers would freeze the book.
 */
export class QuoteBook {
  readonly quotes = new Map<string, Quote>();
  private readonly connections = new Map<string, number>();

  /** Merges a quote received on connection `connection`; false when it is older than what the book holds. */
  apply(quote: Quote, connection: number): boolean {
    const held = this.quotes.get(quote.symbol);
    if (held !== undefined && this.connections.get(quote.symbol) === connection && quote.seq <= held.seq) {
      return false;
    }
    this.quotes.set(quote.symbol, held === undefined ? quote : { ...held, ...quote });
    this.connections.set(quote.symbol, connection);
    return true;
  }

  delete(symbol: string): void {
    this.quotes.delete(symbol);
    this.connections.delete(symbol);
  }
}
