type Listener = (...args: never[]) => void;

/** A minimal event emitter that works the same in browsers and Node. */
export class Emitter {
  private readonly listeners = new Map<string, Set<Listener>>();

  on(event: string, listener: Listener): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit(event: string, ...args: unknown[]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch (error) {
        // A throwing listener must not break the feed's message loop; the error still surfaces, as an
        // uncaught exception, just like one thrown from a DOM event listener.
        setTimeout(() => {
          throw error;
        }, 0);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
