import { Hub, HubException, HubMethod } from '../hub/hub';

/** Longest user name and message the chat accepts, in characters. */
export const MAX_CHAT_USER_LENGTH = 64;
export const MAX_CHAT_MESSAGE_LENGTH = 4096;

/**
 * The classic SignalR sample: a message sent by one client reaches every client of the hub, on
 * every gateway pod.
 */
export class ChatHub extends Hub {
  @HubMethod({ name: 'SendMessage' })
  async sendMessage(user: unknown, message: unknown): Promise<void> {
    if (typeof user !== 'string' || typeof message !== 'string') {
      throw new HubException('SendMessage expects two strings: user and message.');
    }
    if (user.length > MAX_CHAT_USER_LENGTH || message.length > MAX_CHAT_MESSAGE_LENGTH) {
      throw new HubException(
        `User names are limited to ${MAX_CHAT_USER_LENGTH} characters and messages to ${MAX_CHAT_MESSAGE_LENGTH}.`,
      );
    }
    await this.clients.all.send('ReceiveMessage', user, message);
  }
}
