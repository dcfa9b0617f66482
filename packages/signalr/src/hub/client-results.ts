/**
 * Invocations the server made of one client's methods and awaits (client results): each gets an id
 * the client's Completion answers, and a timeout. Bounded: at most `max` wait at once.
 */
export class ClientResults {
  private readonly waiting = new Map<
    string,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  private next = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly max: number,
  ) {}

  /** A fresh invocation id and the promise of its result; undefined when too many wait. */
  open(method: string): { invocationId: string; result: Promise<unknown> } | undefined {
    if (this.waiting.size >= this.max) return undefined;
    // Ids of the server's own: the client's invocation ids are never looked up here.
    const invocationId = `s${++this.next}`;
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(invocationId);
        reject(new Error(`The client did not answer '${method}' within ${this.timeoutMs} ms.`));
      }, this.timeoutMs);
      timer.unref();
      this.waiting.set(invocationId, { resolve, reject, timer });
    });
    return { invocationId, result };
  }

  /** The client's Completion; false when nothing waits for that id. */
  complete(invocationId: string, outcome: { result?: unknown; error?: string }): boolean {
    const entry = this.waiting.get(invocationId);
    if (!entry) return false;
    this.waiting.delete(invocationId);
    clearTimeout(entry.timer);
    if (outcome.error !== undefined) entry.reject(new Error(outcome.error));
    else entry.resolve(outcome.result);
    return true;
  }

  /** The invocation could not be sent, or the connection ended. */
  fail(invocationId: string, error: Error): void {
    const entry = this.waiting.get(invocationId);
    if (!entry) return;
    this.waiting.delete(invocationId);
    clearTimeout(entry.timer);
    entry.reject(error);
  }

  failAll(error: Error): void {
    for (const id of [...this.waiting.keys()]) this.fail(id, error);
  }
}
