import { createServer, type Server } from 'node:http';
import { HubEndpoint, SignalRServer } from '../src';
import { ChatHub } from './chat.hub';

// The page of the SignalR tutorial, with the official browser client from a CDN.
const PAGE = `<!doctype html>
<meta charset="utf-8"><title>Chat</title>
<input id="user" placeholder="user"> <input id="message" placeholder="message"> <button id="send">Send</button>
<ul id="messages"></ul>
<script src="https://cdn.jsdelivr.net/npm/@microsoft/signalr@10/dist/browser/signalr.min.js"></script>
<script>
  const connection = new signalR.HubConnectionBuilder().withUrl('/chathub').withAutomaticReconnect().build();
  connection.on('ReceiveMessage', (user, message) => {
    const li = document.createElement('li');
    li.textContent = user + ': ' + message;
    document.getElementById('messages').appendChild(li);
  });
  document.getElementById('send').onclick = () =>
    connection.invoke('SendMessage', document.getElementById('user').value, document.getElementById('message').value);
  connection.start();
</script>`;

/** The tutorial's chat on a bare node:http server: `/chathub` and a page at `/`. */
export function createChatServer(): { http: Server; signalr: SignalRServer } {
  const signalr = new SignalRServer();
  signalr.addEndpoint(new HubEndpoint('/chathub', new ChatHub()));
  const http = createServer((req, res) => {
    if (signalr.handleRequest(req, res)) return;
    if (req.url === '/') res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
    else res.writeHead(404).end();
  });
  signalr.attach(http);
  return { http, signalr };
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 5000);
  createChatServer().http.listen(port, () => console.log(`chat on http://localhost:${port}/`));
}
