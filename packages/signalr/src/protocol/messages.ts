/**
 * SignalR hub protocol messages (HubProtocol.md in dotnet/aspnetcore). The same shapes travel in the
 * JSON and the MessagePack encodings; only the bytes differ.
 */

export const MessageType = {
  Invocation: 1,
  StreamItem: 2,
  Completion: 3,
  StreamInvocation: 4,
  CancelInvocation: 5,
  Ping: 6,
  Close: 7,
  Ack: 8,
  Sequence: 9,
} as const;

export type Headers = Record<string, string>;

export interface InvocationMessage {
  type: typeof MessageType.Invocation;
  headers?: Headers;
  /** Absent for a non-blocking invocation: the callee must not answer it. */
  invocationId?: string;
  target: string;
  arguments: unknown[];
  streamIds?: string[];
}

export interface StreamInvocationMessage {
  type: typeof MessageType.StreamInvocation;
  headers?: Headers;
  invocationId: string;
  target: string;
  arguments: unknown[];
  streamIds?: string[];
}

export interface StreamItemMessage {
  type: typeof MessageType.StreamItem;
  headers?: Headers;
  invocationId: string;
  item: unknown;
}

export interface CompletionMessage {
  type: typeof MessageType.Completion;
  headers?: Headers;
  invocationId: string;
  /** Present only for a non-void result (a `null` result is a value). */
  result?: unknown;
  error?: string;
}

export interface CancelInvocationMessage {
  type: typeof MessageType.CancelInvocation;
  headers?: Headers;
  invocationId: string;
}

export interface PingMessage {
  type: typeof MessageType.Ping;
}

export interface CloseMessage {
  type: typeof MessageType.Close;
  error?: string;
  allowReconnect?: boolean;
}

export interface AckMessage {
  type: typeof MessageType.Ack;
  sequenceId: number;
}

export interface SequenceMessage {
  type: typeof MessageType.Sequence;
  sequenceId: number;
}

export type HubMessage =
  | InvocationMessage
  | StreamInvocationMessage
  | StreamItemMessage
  | CompletionMessage
  | CancelInvocationMessage
  | PingMessage
  | CloseMessage
  | AckMessage
  | SequenceMessage;

export type TransferFormat = 'Text' | 'Binary';

/**
 * The result of feeding bytes to a protocol reader: the complete messages read before the first
 * problem, and that problem (broken framing, a malformed or oversized message). A problem is a
 * protocol error: the connection ends with a Close message carrying it.
 */
export interface ReadResult {
  messages: HubMessage[];
  error?: string;
}

/** Reads one connection's inbound byte stream; keeps an incomplete trailing message for the next call. */
export interface HubMessageReader {
  read(data: Uint8Array): ReadResult;
  /** Bytes held for an incomplete message. */
  readonly pending: number;
}

export interface HubProtocol {
  readonly name: 'json' | 'messagepack';
  readonly transferFormat: TransferFormat;
  /** Versions a handshake may ask for. */
  readonly versions: readonly number[];
  createReader(maxMessageSize: number): HubMessageReader;
  /** The framed bytes of one message. Throws only for values that cannot be encoded. */
  write(message: HubMessage): Uint8Array;
}
