import type { ServerResponse } from 'node:http';
import type { OutboundSink } from './connection';
import { respond } from './http-util';

/**
 * The server-to-client half of long polling: messages queue here between polls; a waiting poll is
 * answered as soon as there is something to send, or with an empty 200 when the poll timeout
 * passes. Only one poll waits at a time: a newer poll ends the older one with 204.
 */
export class LongPollingSink implements OutboundSink {
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private poll: ServerResponse | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private ending = false;
  private ended = false;
  /** When the last poll finished (or the connection started): the idle clock for cleanup. */
  lastPollEnded: number;

  constructor(
    private readonly contentType: string,
    private readonly pollTimeoutMs: number,
    now: number,
    /** Called when the client has received everything after `end()`, or after `abort()`. */
    private readonly onFinished: () => void,
  ) {
    this.lastPollEnded = now;
  }

  get polling(): boolean {
    return this.poll !== undefined;
  }

  write(data: Uint8Array): void {
    if (this.ended) return;
    this.queue.push(data);
    this.queuedBytes += data.length;
    if (this.poll) this.flush();
  }

  bufferedBytes(): number {
    return this.queuedBytes;
  }

  end(): void {
    if (this.ending) return;
    this.ending = true;
    // What is queued (a Close message, last invocations) goes out with the next poll; the poll
    // after that gets 204.
    if (this.poll) {
      if (this.queuedBytes > 0) this.flush();
      else this.finish(this.poll);
    }
  }

  abort(): void {
    this.ending = true;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.poll) this.finish(this.poll);
    else this.markEnded();
  }

  get finished(): boolean {
    return this.ended;
  }

  /** Takes a GET poll. */
  accept(res: ServerResponse): void {
    if (this.poll) {
      // A newer poll replaces the waiting one (the client timed it out); the old one ends with 204.
      const previous = this.poll;
      this.clearPoll();
      respond(previous, 204);
    }
    if (this.ended) {
      respond(res, 204);
      return;
    }
    if (this.queuedBytes > 0) {
      this.poll = res;
      this.flush();
      return;
    }
    if (this.ending) {
      this.finish(res);
      return;
    }
    this.poll = res;
    this.pollTimer = setTimeout(() => {
      if (this.poll !== res) return;
      this.clearPoll();
      this.lastPollEnded = Date.now();
      respond(res, 200, this.contentType);
    }, this.pollTimeoutMs);
    res.on('close', () => {
      if (this.poll !== res) return;
      // The client went away mid-poll: it is idle from now on and the cleanup clock runs.
      this.clearPoll();
      this.lastPollEnded = Date.now();
    });
  }

  private flush(): void {
    const res = this.poll;
    if (!res) return;
    this.clearPoll();
    const body = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
    this.queue = [];
    this.queuedBytes = 0;
    this.lastPollEnded = Date.now();
    respond(res, 200, this.contentType, body);
  }

  private finish(res: ServerResponse): void {
    this.clearPoll();
    respond(res, 204);
    this.markEnded();
  }

  private markEnded(): void {
    if (this.ended) return;
    this.ended = true;
    this.onFinished();
  }

  private clearPoll(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.poll = undefined;
  }
}
