/**
 * A stream of items between a hub method and a client (ASP.NET Core's Channel<T>): a hub method
 * returns one to stream to the client (`@HubMethod({ stream: true })`), and receives one for each
 * stream the client uploads (`{ type: 'stream' }` parameters). Bounded: a writer that outruns its
 * reader by `capacity` items ends the stream with an error instead of growing without limit.
 */
export class HubChannel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private failWaiting: ((error: Error) => void) | undefined;
  private done = false;
  private error: Error | undefined;
  private readonly cancelHandlers: Array<() => void> = [];
  private cancelled = false;

  constructor(readonly capacity = 1000) {}

  /** Queues an item; false when the channel is complete (or became so because it was full). */
  write(item: T): boolean {
    if (this.done) return false;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      this.failWaiting = undefined;
      resolve({ value: item, done: false });
      return true;
    }
    if (this.items.length >= this.capacity) {
      this.complete(new Error(`The stream's reader fell ${this.capacity} items behind.`));
      return false;
    }
    this.items.push(item);
    return true;
  }

  /** No more items; with an error the reader sees it after the queued items. */
  complete(error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    if (this.waiting && this.items.length === 0) this.settleWaiting();
  }

  get completed(): boolean {
    return this.done;
  }

  /** Runs when the reader stops early (the client cancelled, or the connection ended). */
  onCancel(handler: () => void): void {
    if (this.cancelled) handler();
    else this.cancelHandlers.push(handler);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
        if (this.done) {
          return this.error ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
        }
        return new Promise<IteratorResult<T>>((resolve, reject) => {
          this.waiting = resolve;
          this.failWaiting = reject;
        });
      },
      return: () => {
        this.cancel();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private cancel(): void {
    this.items.length = 0;
    this.done = true;
    this.settleWaiting();
    if (this.cancelled) return;
    this.cancelled = true;
    for (const handler of this.cancelHandlers.splice(0)) {
      try {
        handler();
      } catch {
        // A failing cleanup must not keep the others from running.
      }
    }
  }

  private settleWaiting(): void {
    const resolve = this.waiting;
    const reject = this.failWaiting;
    this.waiting = undefined;
    this.failWaiting = undefined;
    if (this.error && reject) reject(this.error);
    else resolve?.({ value: undefined, done: true });
  }
}
