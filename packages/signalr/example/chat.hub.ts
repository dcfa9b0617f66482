import { Hub, HubMethod } from '../src';

/** The ChatHub of the ASP.NET Core SignalR tutorial: what one client sends, every client receives. */
export class ChatHub extends Hub {
  @HubMethod({ name: 'SendMessage', parameters: ['string', 'string'] })
  async sendMessage(user: string, message: string): Promise<void> {
    await this.clients.all.send('ReceiveMessage', user, message);
  }
}
