/**
 * A list that keeps its storage when emptied. `array.length = 0` hands a V8 array's backing store
 * back, so a list that fills and empties every interval (a timer slot, a symbol's idle subscribers,
 * a connection's outbox) would reallocate and grow it again each time: garbage per delivered update.
 */
export class Stack<T> {
  private items: Array<T | undefined> = [];
  size = 0;

  push(item: T): void {
    this.items[this.size++] = item;
  }

  /** The item at `index` (< size). */
  at(index: number): T {
    return this.items[index] as T;
  }

  /** Empties the list; the references it held are dropped, its storage is kept. */
  clear(): void {
    const items = this.items;
    for (let i = 0; i < this.size; i++) items[i] = undefined;
    this.size = 0;
  }

  /** Drops the first `count` items; the rest move to the front, in order. */
  dropFirst(count: number): void {
    const items = this.items;
    const rest = this.size - count;
    for (let i = 0; i < rest; i++) items[i] = items[count + i];
    for (let i = Math.max(rest, 0); i < this.size; i++) items[i] = undefined;
    this.size = Math.max(rest, 0);
  }

  /** Keeps the items for which `keep` is true, in order. */
  retain(keep: (item: T) => boolean): void {
    const items = this.items;
    let kept = 0;
    for (let i = 0; i < this.size; i++) {
      const item = items[i] as T;
      if (keep(item)) items[kept++] = item;
    }
    for (let i = kept; i < this.size; i++) items[i] = undefined;
    this.size = kept;
  }
}
