import { Hub, HubException, HubMethod, TokenBucket } from '@tickhub/signalr';

/** Longest user name and message the chat accepts, in characters. */
export const MAX_CHAT_USER_LENGTH = 64;
export const MAX_CHAT_MESSAGE_LENGTH = 4096;
/** What one sender may broadcast per second on this pod, in messages and in characters. */
export const CHAT_MESSAGES_PER_SEC = 10;
export const CHAT_CHARS_PER_SEC = 16 * 1024;
/** Senders whose budget is remembered; the least recently active are forgotten beyond it. */
const MAX_TRACKED_SENDERS = 10_000;

interface SendBudget {
  messages: TokenBucket;
  chars: TokenBucket;
}

/**
 * The classic SignalR sample: a message sent by one client reaches every client of the hub, on
 * every gateway pod.
 *
 * A broadcast multiplies what one sender writes by the number of receivers, so each sender (the
 * user, or the connection of an anonymous client) has a budget of messages and characters per
 * second; the connection's inbound limit alone would still let it fill every receiver's socket.
 */
@Hub('/chathub')
export class ChatHub extends Hub {
  private readonly budgets = new Map<string, SendBudget>();

  // Anything but two strings gets ASP.NET Core's "Error binding arguments" before the method runs.
  @HubMethod({ name: 'SendMessage', parameters: ['string', 'string'] })
  async sendMessage(user: string, message: string): Promise<void> {
    if (user.length > MAX_CHAT_USER_LENGTH || message.length > MAX_CHAT_MESSAGE_LENGTH) {
      throw new HubException(
        `User names are limited to ${MAX_CHAT_USER_LENGTH} characters and messages to ${MAX_CHAT_MESSAGE_LENGTH}.`,
      );
    }
    if (!this.spend(user.length + message.length)) {
      throw new HubException(
        `RATE_LIMITED: a sender may broadcast ${CHAT_MESSAGES_PER_SEC} messages and ${CHAT_CHARS_PER_SEC} characters per second.`,
      );
    }
    await this.clients.all.send('ReceiveMessage', user, message);
  }

  /** Takes one message of `chars` characters from the caller's budget; false when it is spent. */
  private spend(chars: number): boolean {
    const sender = this.context.userIdentifier || `connection:${this.context.connectionId}`;
    const now = Date.now();
    let budget = this.budgets.get(sender);
    if (budget) {
      // Re-inserted: the map's order is the senders' recency.
      this.budgets.delete(sender);
    } else {
      budget = {
        messages: new TokenBucket(CHAT_MESSAGES_PER_SEC, CHAT_MESSAGES_PER_SEC, now),
        chars: new TokenBucket(CHAT_CHARS_PER_SEC, CHAT_CHARS_PER_SEC, now),
      };
      if (this.budgets.size >= MAX_TRACKED_SENDERS) {
        this.budgets.delete(this.budgets.keys().next().value as string);
      }
    }
    this.budgets.set(sender, budget);
    return budget.chars.take(now, chars) && budget.messages.take(now);
  }
}
