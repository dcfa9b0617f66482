import type { WsConnection } from './ws-connection';
import { WsCounters } from './ws-connection';

/** Every live /ws connection of this pod: heartbeat and drain act on all of them with one timer. */
export class WsConnections {
  readonly all = new Set<WsConnection>();
  readonly counters = new WsCounters();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly heartbeatMs: number) {}

  add(conn: WsConnection): void {
    this.all.add(conn);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const c of this.all) c.heartbeat();
      }, this.heartbeatMs);
      this.timer.unref();
    }
  }

  delete(conn: WsConnection): void {
    this.all.delete(conn);
  }

  size(): number {
    return this.all.size;
  }

  closeAll(code: number, reason: string): void {
    for (const c of [...this.all]) c.close(code, reason);
  }

  terminateAll(): void {
    for (const c of [...this.all]) c.terminate();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
