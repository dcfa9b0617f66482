import type { PRIVATE_EVENT_TARGET } from '@tickhub/protocol';
import type { Endpoints } from './endpoints';
import { MyEvents } from './my-events-model';
import './my-events.css';

// The protocol's value module pulls in Node-only codecs; its type pins this name to the same literal.
const EVENT_TARGET: typeof PRIVATE_EVENT_TARGET = 'ReceiveEvent';

/**
 * The "My events" panel: with a token (`?token=`), the page also connects to the market hub as that
 * user and lists the private events that backends publish to them (`ReceiveEvent`, e.g. fills).
 * Without a token there is no user to publish to, so there is no panel.
 * Never rejects: a panel that cannot connect says so.
 */
export async function mountMyEvents(endpoints: Endpoints, doc: Document = document): Promise<void> {
  const token = endpoints.token;
  if (!token) return;
  const panel = doc.createElement('section');
  panel.className = 'my-events';
  panel.setAttribute('aria-label', 'My events');
  const head = doc.createElement('div');
  head.className = 'my-events-head';
  const title = doc.createElement('h2');
  title.textContent = 'My events';
  const state = doc.createElement('span');
  state.className = 'my-events-state';
  state.textContent = 'connecting';
  head.append(title, state);
  const list = doc.createElement('ol');
  list.className = 'my-events-list';
  panel.append(head, list);
  doc.body.append(panel);

  // Loaded only for pages with a token: the others never pay for the SignalR client.
  const signalR = await import('@microsoft/signalr');
  const events = new MyEvents();
  const render = () => {
    list.replaceChildren(
      ...events.lines.map((line) => {
        const item = doc.createElement('li');
        item.className = `tone-${line.tone}`;
        item.textContent = line.text;
        return item;
      }),
    );
  };
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${endpoints.apiBase}/hubs/market`, { accessTokenFactory: () => token })
    .withAutomaticReconnect()
    .configureLogging(signalR.LogLevel.None)
    .build();
  connection.on(EVENT_TARGET, (event: unknown) => {
    events.add(event);
    render();
  });
  const show = (text: string) => {
    state.textContent = text;
    panel.dataset.state = text;
  };
  connection.onreconnecting(() => show('reconnecting'));
  connection.onreconnected(() => show('live'));
  connection.onclose(() => show('offline'));
  try {
    await connection.start();
    show('live');
  } catch {
    show('offline');
  }
}
