import { type HubMessage, MessageType } from '../protocol';

/**
 * The messages that carry sequence ids under stateful reconnect (the others — Ping, Close, Ack,
 * Sequence — are neither counted nor resent), as HubProtocol.md defines them.
 */
export function isSequenced(type: HubMessage['type']): boolean {
  return (
    type === MessageType.Invocation ||
    type === MessageType.StreamItem ||
    type === MessageType.Completion ||
    type === MessageType.StreamInvocation ||
    type === MessageType.CancelInvocation
  );
}

/**
 * Stateful reconnect for one connection (ASP.NET Core's MessageBuffer): keeps every sequenced
 * message sent until the client acknowledges it, to resend after a transport drop, and numbers the
 * client's messages to drop the duplicates it resends.
 */
export class MessageBuffer {
  private readonly sent: Array<{ id: number; bytes: Uint8Array }> = [];
  private sentCount = 0;
  private bufferedBytes = 0;
  private nextReceivingId = 1;
  private latestReceivedId = 0;
  private lastAckedId = 0;
  /** After a reconnect, the client's messages count again only from its Sequence message. */
  private awaitingSequence = false;
  /**
   * More than `limit` went unacknowledged once: what was kept is dropped and nothing more is, so a
   * client that never acknowledges costs no memory; such a connection can no longer resume.
   */
  private overflowed = false;

  constructor(
    /** Unacknowledged bytes that a reconnect can still resend; beyond, the connection cannot resume. */
    readonly limit: number,
  ) {}

  /** Keeps a sequenced message sent (or queued while the transport is away). */
  add(bytes: Uint8Array): void {
    this.sentCount++;
    if (this.overflowed) return;
    this.sent.push({ id: this.sentCount, bytes });
    this.bufferedBytes += bytes.length;
    if (this.bufferedBytes > this.limit) {
      this.overflowed = true;
      this.sent.length = 0;
      this.bufferedBytes = 0;
    }
  }

  get bytes(): number {
    return this.bufferedBytes;
  }

  /** True while every unacknowledged message is kept: a reconnect can resume the connection. */
  get resumable(): boolean {
    return !this.overflowed;
  }

  /** The client's Ack: it has everything up to `sequenceId`. */
  ack(sequenceId: number): void {
    let drop = 0;
    while (drop < this.sent.length && this.sent[drop]!.id <= sequenceId) {
      this.bufferedBytes -= this.sent[drop]!.bytes.length;
      drop++;
    }
    if (drop > 0) this.sent.splice(0, drop);
  }

  /**
   * Whether a message from the client is new: sequenced ones get the next id and are dropped when
   * the client resends what already arrived; nothing counts between a reconnect and its Sequence.
   */
  accept(message: HubMessage): boolean {
    if (this.awaitingSequence) {
      if (message.type !== MessageType.Sequence) return false;
      this.awaitingSequence = false;
      return true;
    }
    if (!isSequenced(message.type)) return true;
    const id = this.nextReceivingId++;
    if (id <= this.latestReceivedId) return false;
    this.latestReceivedId = id;
    return true;
  }

  /** The client's Sequence: its next message has this id. False when that skips messages (fatal). */
  resetSequence(sequenceId: number): boolean {
    if (sequenceId > this.nextReceivingId) return false;
    this.nextReceivingId = sequenceId;
    return true;
  }

  /** The Ack to send, when messages arrived since the last one. */
  pendingAck(): number | undefined {
    if (this.latestReceivedId === this.lastAckedId) return undefined;
    this.lastAckedId = this.latestReceivedId;
    return this.latestReceivedId;
  }

  /** A new transport took over: the Sequence id to announce and the messages to send again, in order. */
  resume(): { sequenceId: number; messages: Uint8Array[] } {
    this.awaitingSequence = true;
    return {
      sequenceId: this.sent.length > 0 ? this.sent[0]!.id : this.sentCount + 1,
      messages: this.sent.map((m) => m.bytes),
    };
  }
}
