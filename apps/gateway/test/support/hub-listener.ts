import * as signalR from '@microsoft/signalr';
import { waitFor } from './tick-source-contract';

/** An official SignalR client that records every invocation of the targets it listens to. */
export class HubListener {
  readonly received: Array<{ target: string; args: unknown[] }> = [];

  private constructor(readonly connection: signalR.HubConnection) {}

  static async open(
    url: string,
    options: { token?: string; transport?: signalR.HttpTransportType; targets?: string[] } = {},
  ): Promise<HubListener> {
    const connection = new signalR.HubConnectionBuilder()
      .withUrl(url, {
        ...(options.token ? { accessTokenFactory: () => options.token as string } : {}),
        ...(options.transport !== undefined ? { transport: options.transport } : {}),
      })
      .configureLogging(signalR.LogLevel.None)
      .build();
    const listener = new HubListener(connection);
    for (const target of options.targets ?? ['ReceiveMessage', 'Marker']) {
      connection.on(target, (...args: unknown[]) => listener.received.push({ target, args }));
    }
    await connection.start();
    return listener;
  }

  get connectionId(): string {
    const id = this.connection.connectionId;
    if (!id) throw new Error('not connected');
    return id;
  }

  /** Arguments of every `target` invocation received so far. */
  of(target: string): unknown[][] {
    return this.received.filter((m) => m.target === target).map((m) => m.args);
  }

  async waitFor(target: string, predicate: (args: unknown[]) => boolean = () => true): Promise<unknown[]> {
    let found: unknown[] | undefined;
    await waitFor(
      () => {
        found = this.of(target).find(predicate);
        return found !== undefined;
      },
      15_000,
      `${target} on ${this.connection.connectionId}`,
    );
    return found as unknown[];
  }

  stop(): Promise<void> {
    return this.connection.stop();
  }
}
