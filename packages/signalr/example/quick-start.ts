import { Hub, HubEndpoint, HubMethod, SignalRServer } from '../src';

class ChatHub extends Hub {
  @HubMethod({ name: 'SendMessage', parameters: ['string', 'string'] })
  sendMessage(user: string, message: string) {
    return this.clients.all.send('ReceiveMessage', user, message);
  }
}
export const signalr = new SignalRServer();
signalr.addEndpoint(new HubEndpoint('/chathub', new ChatHub()));
signalr.listen(Number(process.env.PORT ?? 5000)); // or signalr.handleRequest/attach on your server
