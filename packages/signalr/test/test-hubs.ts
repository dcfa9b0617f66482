import { Hub, HubException, HubMethod } from '../src/hub/hub';
import { HubChannel } from '../src/hub/hub-channel';

/** Records lifecycle events of every connection, for assertions. */
export class Journal {
  readonly connected: string[] = [];
  readonly disconnected: Array<{ id: string; error?: string }> = [];
  /** Labels of server-to-client streams whose reader stopped early (cancelled). */
  readonly cancelledStreams: string[] = [];
}

/** A hub exercising the hub API: results, errors, groups, users, callers and others. */
export class TestHub extends Hub {
  constructor(readonly journal: Journal = new Journal()) {
    super();
  }

  override onConnected(): void {
    this.journal.connected.push(this.context.connectionId);
  }

  override onDisconnected(error?: string): void {
    this.journal.disconnected.push({ id: this.context.connectionId, ...(error ? { error } : {}) });
  }

  @HubMethod({ name: 'Add', parameters: ['number', 'number'] })
  add(a: number, b: number): number {
    return a + b;
  }

  /** Declared parameters, one optional; counts its calls so that a test sees refused ones never ran. */
  @HubMethod({ name: 'Tag', parameters: ['string[]', { type: 'integer', optional: true }] })
  tag(names: string[], times?: number): string {
    const calls = ((this.context.items.get('tagCalls') as number | undefined) ?? 0) + 1;
    this.context.items.set('tagCalls', calls);
    return `${names.join('+')}x${times ?? 1}#${calls}`;
  }

  /** A finite server-to-client stream: `count` numbers from 0. */
  @HubMethod({ name: 'Counter', stream: true, parameters: ['integer'] })
  async *counter(count: number): AsyncGenerator<number> {
    for (let i = 0; i < count; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      yield i;
    }
  }

  /** An endless stream fed by a timer until the client cancels it. */
  @HubMethod({ name: 'Ticker', stream: true, parameters: ['string'] })
  ticker(label: string): HubChannel<string> {
    const channel = new HubChannel<string>();
    let n = 0;
    const timer = setInterval(() => channel.write(`${label}-${n++}`), 5);
    channel.onCancel(() => {
      clearInterval(timer);
      this.journal.cancelledStreams.push(label);
    });
    return channel;
  }

  @HubMethod({ name: 'BrokenStream', stream: true })
  async *brokenStream(): AsyncGenerator<number> {
    yield 1;
    throw new HubException('the stream broke');
  }

  /** Reads a stream the client uploads and returns the sum of its items. */
  @HubMethod({ name: 'Sum', parameters: ['string', { type: 'stream' }] })
  async sum(label: string, numbers: AsyncIterable<number>): Promise<string> {
    let total = 0;
    for await (const n of numbers) total += n;
    return `${label}=${total}`;
  }

  /** Asks the calling client for a result (client results) and returns what it answered. */
  @HubMethod({ name: 'AskCaller', parameters: ['string', 'any'] })
  async askCaller(method: string, value: unknown): Promise<unknown> {
    try {
      return { answer: await this.clients.caller.invoke(method, value) };
    } catch (error) {
      return { error: String(error) };
    }
  }

  /** Asks another client, by its connection id, from inside a hub method. */
  @HubMethod({ name: 'AskClient', parameters: ['string', 'string', 'any'] })
  async askClient(connectionId: string, method: string, value: unknown): Promise<unknown> {
    return this.clients.client(connectionId).invoke(method, value);
  }

  @HubMethod({ name: 'Echo' })
  echo(value: unknown): unknown {
    return value;
  }

  @HubMethod({ name: 'Nothing' })
  nothing(): void {}

  @HubMethod({ name: 'WhoAmI' })
  whoAmI(): { connectionId: string; user: string | null; transport: string; protocol: string } {
    return {
      connectionId: this.context.connectionId,
      user: this.context.userIdentifier ?? null,
      transport: this.context.transport,
      protocol: this.context.protocol,
    };
  }

  @HubMethod({ name: 'Fail' })
  fail(): never {
    throw new HubException('this fails on purpose');
  }

  @HubMethod({ name: 'Crash' })
  crash(): never {
    throw new Error('secret internal detail');
  }

  @HubMethod({ name: 'JoinGroup', minArgs: 1 })
  async joinGroup(group: string, connectionId?: string): Promise<void> {
    await this.groups.add(connectionId ?? this.context.connectionId, group);
  }

  @HubMethod({ name: 'LeaveGroup' })
  async leaveGroup(group: string): Promise<void> {
    await this.groups.remove(this.context.connectionId, group);
  }

  @HubMethod({ name: 'SendToGroup' })
  async sendToGroup(group: string, text: string): Promise<void> {
    await this.clients.group(group).send('Group', group, text);
  }

  @HubMethod({ name: 'SendToOthers' })
  async sendToOthers(text: string): Promise<void> {
    await this.clients.others.send('Others', text);
  }

  @HubMethod({ name: 'SendToCaller' })
  async sendToCaller(text: string): Promise<void> {
    await this.clients.caller.send('Caller', text);
  }

  @HubMethod({ name: 'SendToUser' })
  async sendToUser(user: string, text: string): Promise<void> {
    await this.clients.user(user).send('User', text);
  }

  @HubMethod({ name: 'SendToConnection' })
  async sendToConnection(connectionId: string, text: string): Promise<void> {
    await this.clients.client(connectionId).send('Direct', text);
  }

  @HubMethod({ name: 'Range', minArgs: 1, maxArgs: 3 })
  range(...values: number[]): number {
    return values.length;
  }

  /** Takes a little time, so that invocations queue up behind it. */
  @HubMethod({ name: 'Record' })
  async record(n: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const seen = (this.context.items.get('recorded') as number[] | undefined) ?? [];
    seen.push(n);
    this.context.items.set('recorded', seen);
  }

  @HubMethod({ name: 'Recorded' })
  recorded(): number[] {
    return (this.context.items.get('recorded') as number[] | undefined) ?? [];
  }

  /** Not marked: clients cannot call it. */
  helper(): string {
    return 'internal';
  }
}
