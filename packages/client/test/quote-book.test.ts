import type { Quote, QuoteUpdate } from '@tickhub/protocol';
import { QuoteBook, toQuote } from '../src/quote-book';

function quote(symbol: string, seq: number, last: number): Quote {
  return {
    symbol,
    seq,
    ts: 1764000000000 + seq,
    bid: last - 0.01,
    ask: last + 0.01,
    bidSize: 100,
    askSize: 100,
    last,
    lastSize: 10,
    volume: seq * 10,
    open: 100,
    high: 110,
    low: 90,
  };
}

describe('QuoteBook', () => {
  it('takes the snapshot, merges newer updates and drops older or repeated ones', () => {
    const book = new QuoteBook();
    expect(book.apply(quote('AAPL', 10, 189), 1)).toBe(true);
    expect(book.apply(quote('AAPL', 9, 150), 1)).toBe(false);
    expect(book.apply(quote('AAPL', 10, 150), 1)).toBe(false);
    expect(book.quotes.get('AAPL')?.last).toBe(189);
    expect(book.apply(quote('AAPL', 12, 190), 1)).toBe(true);
    expect(book.quotes.get('AAPL')).toMatchObject({ seq: 12, last: 190 });
    expect(book.apply(quote('AAPL', 11, 191), 1)).toBe(false);
    expect(book.quotes.get('AAPL')?.seq).toBe(12);
  });

  it('keeps symbols apart', () => {
    const book = new QuoteBook();
    book.apply(quote('AAPL', 100, 189), 1);
    expect(book.apply(quote('MSFT', 5, 420), 1)).toBe(true);
    expect(book.quotes.size).toBe(2);
  });

  it('merges fields an update leaves out (the held value stays)', () => {
    const book = new QuoteBook();
    book.apply(quote('AAPL', 1, 189), 1);
    const partial = { symbol: 'AAPL', seq: 2, ts: 5, last: 191 } as Quote;
    expect(book.apply(partial, 1)).toBe(true);
    expect(book.quotes.get('AAPL')).toMatchObject({ seq: 2, last: 191, open: 100, volume: 10 });
  });

  it('takes the first quote of a new connection whatever its seq (the source may have restarted)', () => {
    const book = new QuoteBook();
    book.apply(quote('AAPL', 5000, 189), 1);
    expect(book.apply(quote('AAPL', 3, 170), 2)).toBe(true);
    expect(book.quotes.get('AAPL')?.seq).toBe(3);
    expect(book.apply(quote('AAPL', 2, 171), 2)).toBe(false);
    expect(book.apply(quote('AAPL', 4, 172), 2)).toBe(true);
  });

  it('forgets a deleted symbol entirely', () => {
    const book = new QuoteBook();
    book.apply(quote('AAPL', 10, 189), 1);
    book.delete('AAPL');
    expect(book.quotes.has('AAPL')).toBe(false);
    expect(book.apply(quote('AAPL', 1, 189), 1)).toBe(true);
  });
});

describe('toQuote', () => {
  it('leaves out the frame type and the update count', () => {
    const update: QuoteUpdate = { ...quote('AAPL', 1, 189), n: 6 };
    const q = toQuote({ ...update, type: 'snapshot' } as QuoteUpdate);
    expect(q).toEqual(quote('AAPL', 1, 189));
    expect('n' in q).toBe(false);
    expect('type' in q).toBe(false);
  });
});
