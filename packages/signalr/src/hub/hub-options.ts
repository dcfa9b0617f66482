import type { InboundLimit } from '../limits/inbound-limiter';
import { type HubProtocol, jsonHubProtocol, messagePackHubProtocol } from '../protocol';

export interface HubOptions {
  /** A Ping goes out when nothing else was sent for this long (not on long polling, which needs none). */
  keepAliveIntervalMs: number;
  /** A client that sends nothing (not even a Ping) for this long is disconnected. */
  clientTimeoutMs: number;
  /** The client must complete the handshake within this long. */
  handshakeTimeoutMs: number;
  /** Largest hub message accepted from a client; larger ones close the connection with an error. */
  maxMessageSize: number;
  /**
   * Invocations of one connection waiting to run before the server stops reading from it
   * (backpressure; it reads again when half of them are done). A client that still piles up
   * far more (many messages in one frame or body) is closed.
   */
  maxPendingInvocations: number;
  /**
   * Invocations per second one connection may make, and when sustained abuse closes it
   * (`InboundLimiter`); undefined = no limit. Beyond the rate an invocation is not run: it completes
   * with a `RATE_LIMITED` error (a non-blocking one is dropped).
   */
  inboundLimit?: InboundLimit;
  /** An invocation refused by the inbound limit ('refused'), or a connection closed for abuse ('closed'). */
  onInboundLimit?: (event: 'refused' | 'closed', connectionId: string) => void;
  /** Server-to-client streams, and separately upload streams, one connection may have open at once. */
  maxStreams: number;
  /** Items of an upload stream the hub has not read yet; beyond it the connection is closed. */
  maxUploadItems: number;
  /**
   * Stateful reconnect: unacknowledged bytes kept per connection for resending after a dropped
   * WebSocket; a connection whose client stays away while more than this piles up ends.
   */
  statefulReconnectBufferBytes: number;
  /** How long the server waits for a client's result (`clients.client(id).invoke`). */
  clientResultTimeoutMs: number;
  protocols: readonly HubProtocol[];
  /** Reports errors of hub code and of delivery (never sent to clients). */
  onError?: (error: unknown, context: string) => void;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  keepAliveIntervalMs: 15_000,
  clientTimeoutMs: 30_000,
  handshakeTimeoutMs: 15_000,
  maxMessageSize: 32 * 1024,
  maxPendingInvocations: 32,
  maxStreams: 32,
  maxUploadItems: 1000,
  statefulReconnectBufferBytes: 100_000,
  clientResultTimeoutMs: 30_000,
  protocols: [jsonHubProtocol, messagePackHubProtocol],
};
