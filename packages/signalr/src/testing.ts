// Test helpers for hubs served by this package, driven by the official client
// (`@microsoft/signalr`, an optional peer dependency needed only here).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  type AddressInfo,
  createServer as createTcpServer,
  Socket,
  type Server as TcpServer,
} from 'node:net';
import * as signalR from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import type { Hub } from './hub/hub';
import { HubEndpoint } from './hub/hub-endpoint';
import type { HubOptions } from './hub/hub-options';
import type { HubBackplane } from './hub/lifetime-manager';
import { SignalRServer } from './transports/signalr-server';
import type { SignalRTransportOptions } from './transports/transport-options';

export interface HubHost {
  baseUrl: string;
  http: Server;
  signalr: SignalRServer;
  endpoints: Map<string, HubEndpoint>;
  close(): Promise<void>;
}

export interface HostOptions {
  hubs: Array<{ path: string; hub: Hub; options?: Partial<HubOptions> }>;
  transport?: Partial<SignalRTransportOptions>;
  backplane?: HubBackplane;
  /** Serves other requests of the same origin (e.g. a test page); returns false when it does not. */
  routes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** A real HTTP server on a free loopback port serving the given hubs, as a gateway pod would. */
export async function startHubHost(options: HostOptions): Promise<HubHost> {
  const signalr = new SignalRServer(options.transport);
  const endpoints = new Map<string, HubEndpoint>();
  for (const { path, hub, options: hubOptions } of options.hubs) {
    const endpoint = new HubEndpoint(path, hub, hubOptions, options.backplane);
    signalr.addEndpoint(endpoint);
    endpoints.set(path, endpoint);
  }
  const http = createServer((req, res) => {
    if (signalr.handleRequest(req, res)) return;
    if (options.routes?.(req, res)) return;
    res.writeHead(404).end();
  });
  http.on('upgrade', (req, socket, head) => {
    if (!signalr.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    http,
    signalr,
    endpoints,
    async close() {
      await signalr.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

export type ProtocolName = 'json' | 'messagepack';
export type TransportName = 'WebSockets' | 'ServerSentEvents' | 'LongPolling';

export const TRANSPORT_TYPES: Record<TransportName, signalR.HttpTransportType> = {
  WebSockets: signalR.HttpTransportType.WebSockets,
  ServerSentEvents: signalR.HttpTransportType.ServerSentEvents,
  LongPolling: signalR.HttpTransportType.LongPolling,
};

/** Every transport with every protocol it can carry (SSE is text-only). */
export const COMBINATIONS: Array<[TransportName, ProtocolName]> = [
  ['WebSockets', 'json'],
  ['WebSockets', 'messagepack'],
  ['ServerSentEvents', 'json'],
  ['LongPolling', 'json'],
  ['LongPolling', 'messagepack'],
];

export function buildClient(
  url: string,
  transport: TransportName,
  protocol: ProtocolName,
  extra: { skipNegotiation?: boolean; reconnect?: boolean } = {},
): signalR.HubConnection {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url, { transport: TRANSPORT_TYPES[transport], skipNegotiation: extra.skipNegotiation ?? false })
    .configureLogging(signalR.LogLevel.None);
  if (protocol === 'messagepack') builder = builder.withHubProtocol(new MessagePackHubProtocol());
  if (extra.reconnect) builder = builder.withAutomaticReconnect([0, 100, 250, 500, 1000, 1000, 1000]);
  return builder.build();
}

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A TCP proxy in front of a server (a hub host, a load balancer) whose connections a test cuts at will. */
export class CuttableProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  readonly server: TcpServer;
  cuts = 0;

  constructor(targetPort: number) {
    this.server = createTcpServer((client) => {
      const upstream = new Socket();
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const drop = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.connect(targetPort, '127.0.0.1', () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** Breaks every connection through the proxy, as a network failure would. */
  cut(): void {
    this.cuts++;
    for (const [client, upstream] of [...this.pairs]) {
      client.destroy();
      upstream.destroy();
    }
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
