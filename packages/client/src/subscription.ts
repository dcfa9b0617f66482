import type { Quote, QuoteUpdate } from '@tickhub/protocol';
import { Emitter } from './emitter';
import { FeedError } from './errors';
import { QuoteBook } from './quote-book';
import type { Subscription } from './types';

/** What a subscription asks of its feed. */
export interface SubscriptionHost {
  addSymbols(sub: SubscriptionImpl, symbols: string[], mode: WaitMode): Promise<string[]>;
  removeSymbols(sub: SubscriptionImpl, symbols: string[]): Promise<void>;
  setRate(sub: SubscriptionImpl, maxHz: number): Promise<void>;
}

/** `some`: resolve with the accepted symbols, reject when none is; `all`: reject when any is refused. */
export type WaitMode = 'some' | 'all';

/** One promise waiting for the server's verdict on some symbols. */
class Waiter {
  readonly pending: Set<string>;
  private readonly accepted: string[] = [];
  private readonly refused: string[] = [];
  private error: FeedError | undefined;

  constructor(
    symbols: Iterable<string>,
    private readonly mode: WaitMode,
    private readonly resolve: (symbols: string[]) => void,
    private readonly reject: (error: FeedError) => void,
  ) {
    this.pending = new Set(symbols);
  }

  /** Records the verdict on one symbol; true once the waiter is done. */
  settle(symbol: string, error?: FeedError): boolean {
    if (!this.pending.delete(symbol)) return false;
    if (error === undefined) this.accepted.push(symbol);
    else {
      this.refused.push(symbol);
      this.error = error;
    }
    if (this.pending.size > 0) return false;
    this.finish();
    return true;
  }

  finish(): void {
    const error = this.error;
    if (error === undefined || (this.mode === 'some' && this.accepted.length > 0)) {
      this.resolve(this.accepted);
    } else {
      this.reject(
        this.refused.length > 0
          ? new FeedError(error.code, error.message, { symbols: this.refused })
          : new FeedError(error.code, error.message),
      );
    }
  }

  fail(error: FeedError): void {
    this.pending.clear();
    this.reject(error);
  }
}

export class SubscriptionImpl implements Subscription {
  readonly ready: Promise<string[]>;
  readonly held = new Set<string>();
  readonly quoteBook = new QuoteBook();
  closed = false;
  private readonly events = new Emitter();
  private waiters: Waiter[] = [];

  constructor(
    private readonly host: SubscriptionHost,
    public maxHz: number | undefined,
    symbols: string[],
  ) {
    this.ready = host.addSymbols(this, symbols, 'some');
    // An unobserved `ready` that rejects must not take a Node process down; awaiting it still throws.
    this.ready.catch(() => undefined);
  }

  get symbols(): readonly string[] {
    return [...this.held];
  }

  get book(): ReadonlyMap<string, Quote> {
    return this.quoteBook.quotes;
  }

  on(event: 'quote', listener: (quote: Quote, update?: QuoteUpdate) => void): () => void;
  on(event: 'error', listener: (error: FeedError) => void): () => void;
  on(event: 'quote' | 'error', listener: (...args: never[]) => void): () => void {
    return this.events.on(event, listener);
  }

  setMaxHz(maxHz: number): Promise<void> {
    if (this.closed) return Promise.reject(new FeedError('CLOSED', 'the subscription is closed'));
    if (typeof maxHz !== 'number' || !(maxHz > 0) || !Number.isFinite(maxHz)) {
      return Promise.reject(new TypeError('maxHz must be a positive number'));
    }
    return this.host.setRate(this, maxHz);
  }

  add(symbols: string[]): Promise<string[]> {
    if (this.closed) return Promise.reject(new FeedError('CLOSED', 'the subscription is closed'));
    return this.host.addSymbols(this, checkSymbols(symbols), 'some');
  }

  remove(symbols: string[]): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.host.removeSymbols(this, checkSymbols(symbols));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const done = this.host.removeSymbols(this, [...this.held]);
    this.closed = true;
    this.fail(new FeedError('CLOSED', 'the subscription was closed before the server answered'));
    return done;
  }

  // ------------------------------------------------------------ called by the feed

  wait(symbols: Iterable<string>, mode: WaitMode): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      const waiter = new Waiter(symbols, mode, resolve, reject);
      if (waiter.pending.size === 0) waiter.finish();
      else this.waiters.push(waiter);
    });
  }

  /** The server's verdict on a symbol: accepted when `error` is absent. */
  settle(symbol: string, error?: FeedError): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => !waiter.settle(symbol, error));
  }

  /** Rejects the waiters still expecting `symbol`, each with `error` (a timeout, a lost feed). */
  failSymbol(symbol: string, error: FeedError): void {
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.pending.has(symbol)) return true;
      waiter.fail(error);
      return false;
    });
  }

  fail(error: FeedError): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.fail(error);
  }

  drop(symbol: string): void {
    this.held.delete(symbol);
    this.quoteBook.delete(symbol);
  }

  applyQuote(quote: Quote, update: QuoteUpdate | undefined, connection: number): void {
    if (this.closed || !this.quoteBook.apply(quote, connection)) return;
    this.events.emit('quote', this.quoteBook.quotes.get(quote.symbol), update);
  }

  emitError(error: FeedError): void {
    if (!this.closed) this.events.emit('error', error);
  }
}

/** Validates a symbol list from the caller and removes duplicates. */
export function checkSymbols(symbols: unknown): string[] {
  if (!Array.isArray(symbols) || symbols.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new TypeError('symbols must be an array of non-empty strings');
  }
  return [...new Set(symbols as string[])];
}
