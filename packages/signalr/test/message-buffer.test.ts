import { HubChannel } from '../src/hub/hub-channel';
import { MessageBuffer } from '../src/hub/message-buffer';
import { type HubMessage, MessageType } from '../src/protocol';

const bytes = (n: number) => new Uint8Array(n);
const invocation: HubMessage = { type: MessageType.Invocation, target: 'x', arguments: [] };

describe('MessageBuffer (stateful reconnect)', () => {
  it('keeps sent messages until acknowledged and resends the rest after the Sequence id', () => {
    const buffer = new MessageBuffer(100);
    for (const n of [10, 20, 30]) buffer.add(bytes(n));
    expect(buffer.bytes).toBe(60);
    buffer.ack(1);
    expect(buffer.bytes).toBe(50);
    const { sequenceId, messages } = buffer.resume();
    expect(sequenceId).toBe(2);
    expect(messages.map((m) => m.length)).toEqual([20, 30]);
    buffer.ack(3);
    expect(buffer.resume()).toEqual({ sequenceId: 4, messages: [] });
  });

  it('once more than its limit is unacknowledged, keeps nothing more and cannot resume', () => {
    const buffer = new MessageBuffer(25);
    buffer.add(bytes(20));
    buffer.ack(1);
    buffer.add(bytes(20));
    expect(buffer.resumable).toBe(true);
    buffer.add(bytes(10));
    expect(buffer.resumable).toBe(false);
    expect(buffer.bytes).toBe(0);
    buffer.add(bytes(10));
    buffer.ack(3);
    expect(buffer.bytes).toBe(0);
    expect(buffer.resumable).toBe(false);
  });

  it('drops what the client resends after a reconnect, and acknowledges what it got', () => {
    const buffer = new MessageBuffer(100);
    expect([1, 2, 3].map(() => buffer.accept(invocation))).toEqual([true, true, true]);
    expect(buffer.accept({ type: MessageType.Ping })).toBe(true);
    expect(buffer.pendingAck()).toBe(3);
    expect(buffer.pendingAck()).toBeUndefined();
    buffer.resume();
    // Before its Sequence message nothing of the client's counts.
    expect(buffer.accept(invocation)).toBe(false);
    expect(buffer.accept({ type: MessageType.Sequence, sequenceId: 2 })).toBe(true);
    expect(buffer.resetSequence(2)).toBe(true);
    // 2 and 3 again (duplicates), then 4 (new).
    expect([2, 3, 4].map(() => buffer.accept(invocation))).toEqual([false, false, true]);
    expect(buffer.pendingAck()).toBe(4);
    // A Sequence beyond what arrived would skip messages.
    expect(buffer.resetSequence(9)).toBe(false);
  });
});

describe('HubChannel', () => {
  it('hands items in order, then ends; an error ends it after the queued items', async () => {
    const channel = new HubChannel<number>();
    channel.write(1);
    channel.write(2);
    channel.complete(new Error('done badly'));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of channel) seen.push(n);
      })(),
    ).rejects.toThrow('done badly');
    expect(seen).toEqual([1, 2]);
  });

  it('ends with an error instead of growing past its capacity', async () => {
    const channel = new HubChannel<number>(2);
    expect([1, 2, 3].map((n) => channel.write(n))).toEqual([true, true, false]);
    const iterator = channel[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ value: 1, done: false });
    expect(await iterator.next()).toEqual({ value: 2, done: false });
    await expect(iterator.next()).rejects.toThrow('fell 2 items behind');
  });

  it('tells the writer once when the reader stops, also a reader waiting for an item', async () => {
    const channel = new HubChannel<number>();
    let cancels = 0;
    channel.onCancel(() => cancels++);
    const iterator = channel[Symbol.asyncIterator]();
    const waiting = iterator.next();
    await iterator.return?.();
    await iterator.return?.();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(cancels).toBe(1);
    expect(channel.write(1)).toBe(false);
  });
});
