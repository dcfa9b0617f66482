import { randomBytes } from 'node:crypto';
import type { Logger } from '@tickhub/log';
import {
  type ClientRequest,
  CloseCode,
  type Codec,
  decodeClientFrame,
  type ErrorCode,
  type HistoryRequest,
  type Limits,
  PROTOCOL_VERSION,
  type Quote,
  type ServerMessage,
  type SymbolInfo,
  type UpdateList,
} from '@tickhub/protocol';
import { InboundLimiter, wsErrorCloseCode } from '@tickhub/signalr';
import type { WebSocket } from 'ws';
import { type CandleHistory, entitledTo } from '../candles/candle-history';
import type { EdgeStage, FeedSession, SessionSink } from '../core/edge-stage';
import { snapshotMessage } from '../core/edge-stage';
import {
  frameTicks,
  jsonUpdateEncoding,
  msgpackUpdateEncoding,
  type UpdateEncoding,
} from '../core/encodings';
import type { Entitlements } from '../core/entitlements';
import {
  FRAME_HEADROOM,
  frameInPlace,
  OPCODE_BINARY,
  OPCODE_TEXT,
  scratchFrame,
  writeFrame,
  writeScratchFrame,
} from './preframed';

/** Counters of the native protocol, summed over connections (read by /metrics). */
export class WsCounters {
  opened = 0;
  closed = 0;
  framesIn = 0;
  /** Error frames sent, by code. */
  readonly errors: Record<ErrorCode, number> = {
    BAD_REQUEST: 0,
    UNKNOWN_TYPE: 0,
    UNKNOWN_SYMBOL: 0,
    FORBIDDEN: 0,
    TOO_MANY_SUBSCRIPTIONS: 0,
    RATE_LIMITED: 0,
    INTERNAL: 0,
  };
  /** Connections closed by the server, by close code. */
  readonly closes: Record<string, number> = {};
  heartbeatTerminations = 0;
  messagesSent = 0;

  countClose(code: number): void {
    this.closes[code] = (this.closes[code] ?? 0) + 1;
  }
}

export interface WsConnectionDeps {
  edge: EdgeStage;
  limits: Limits;
  gatewayId: string;
  heartbeatMs: number;
  symbols: readonly SymbolInfo[];
  counters: WsCounters;
  logger: Logger;
  abuseMaxRejections: number;
  abuseWindowMs: number;
  /** Unsent bytes past which the connection is closed with 4009 at once (a multiple of the high-water mark). */
  maxBufferedBytes: number;
  now: () => number;
  /** Candle history (`history` requests); absent, they are answered UNKNOWN_TYPE. */
  history?: CandleHistory;
}

let connectionSeq = 0;
const connectionPrefix = randomBytes(3).toString('hex');

function newConnectionId(): string {
  connectionSeq = (connectionSeq + 1) % Number.MAX_SAFE_INTEGER;
  return `c-${connectionPrefix}${connectionSeq.toString(36)}${randomBytes(3).toString('hex')}`;
}

/** One client of the native /ws protocol: request handling, limits and the sink of its feed session. */
export class WsConnection implements SessionSink {
  readonly id = newConnectionId();
  readonly encoding: UpdateEncoding;
  private readonly session: FeedSession;
  private readonly inbound: InboundLimiter;
  alive = true;
  private closing = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly codec: Codec,
    private readonly deps: WsConnectionDeps,
    private readonly entitlements: Entitlements | undefined,
    private readonly onGone: (conn: WsConnection) => void,
  ) {
    this.encoding = codec.binary ? msgpackUpdateEncoding : jsonUpdateEncoding;
    this.session = deps.edge.openSession(this, { limits: deps.limits, entitlements });
    this.inbound = new InboundLimiter(
      {
        perSec: this.session.limits.maxInboundPerSec,
        maxRejections: deps.abuseMaxRejections,
        windowMs: deps.abuseWindowMs,
      },
      deps.now(),
    );
    deps.counters.opened++;

    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws closes the connection itself (1009 for an oversized frame, 1002 for a protocol error); the
      // code it sends is counted with the others.
      const code = wsErrorCloseCode(error);
      if (code !== undefined && !this.closing) {
        this.closing = true;
        this.session.close();
        this.deps.counters.countClose(code);
      }
      this.deps.logger.debug('connection error', {
        connectionId: this.id,
        error: error.message,
        code: error.code,
      });
    });
    ws.on('close', () => this.gone());

    this.send({
      type: 'welcome',
      v: PROTOCOL_VERSION,
      connectionId: this.id,
      server: deps.gatewayId,
      heartbeatMs: deps.heartbeatMs,
      limits: { ...this.session.limits },
    });
  }

  // ---------------------------------------------------------------- SessionSink

  writeSnapshot(quote: Quote): void {
    this.send(snapshotMessage(quote));
  }

  writeTicks(list: UpdateList): void {
    if (this.ws.readyState !== 1) return;
    const opcode = this.codec.binary ? OPCODE_BINARY : OPCODE_TEXT;
    // A socket with bytes queued would keep the shared buffer for as long as it stays behind: such a
    // frame gets a buffer of its own size instead.
    if (this.ws.bufferedAmount > 0) {
      writeFrame(this.ws, frameInPlace(frameTicks(this.encoding, list, FRAME_HEADROOM), opcode));
      return;
    }
    const message = frameTicks(this.encoding, list, FRAME_HEADROOM, scratchFrame);
    writeScratchFrame(this.ws, frameInPlace(message, opcode));
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.session.close();
    this.deps.counters.countClose(code);
    try {
      this.ws.close(code, reason);
    } catch (error) {
      this.deps.logger.warn('close failed', { connectionId: this.id, error: String(error) });
      this.ws.terminate();
    }
  }

  // ---------------------------------------------------------------- heartbeat

  /** Called by the heartbeat: terminates a peer that did not answer the previous ping. */
  heartbeat(): void {
    // A connection this side is closing may still have its close frame queued behind what a slow
    // consumer has not read (4009): terminating it would turn that code into a 1006. ws destroys the
    // socket itself when the close handshake does not finish within its close timeout (30 s).
    if (this.closing) return;
    if (!this.alive) {
      // Above the high-water mark the ping waits behind the backlog, so a missing pong says nothing: the
      // slow-consumer guard decides (conflation, then 4009 after SLOW_CONSUMER_TIMEOUT_MS). Below it, a
      // peer that answers no ping for a whole interval has stopped reading or is gone.
      if (this.session.paused) return;
      this.deps.counters.heartbeatTerminations++;
      this.ws.terminate();
      return;
    }
    this.alive = false;
    try {
      this.ws.ping();
    } catch {
      this.ws.terminate();
    }
  }

  terminate(): void {
    this.ws.terminate();
  }

  // ---------------------------------------------------------------- requests

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closing) return;
    this.alive = true;
    this.deps.counters.framesIn++;
    let id: string | undefined;
    try {
      const now = this.deps.now();
      const verdict = this.inbound.check(now);
      if (verdict !== 'accept') {
        this.rateLimited(verdict, data, isBinary);
        return;
      }
      if (isBinary !== this.codec.binary) {
        this.sendError(
          'BAD_REQUEST',
          `${this.codec.subprotocol} takes ${this.codec.binary ? 'binary' : 'text'} frames`,
          undefined,
        );
        return;
      }
      const parsed = decodeClientFrame(data, this.codec);
      if (!parsed.ok) {
        this.sendError(parsed.code, parsed.message, parsed.id);
        return;
      }
      id = parsed.request.id;
      this.handle(parsed.request);
    } catch (error) {
      this.deps.logger.error('request failed', { connectionId: this.id, error });
      try {
        this.sendError('INTERNAL', 'internal error', id);
      } catch {
        // The connection cannot even carry an error: nothing more to say on it.
        this.close(CloseCode.INTERNAL_ERROR, 'internal error');
      }
    }
  }

  /** The id of a frame that is not processed, so its RATE_LIMITED answer can still echo it. */
  private idOf(data: Buffer, isBinary: boolean): string | undefined {
    if (isBinary !== this.codec.binary) return undefined;
    const parsed = decodeClientFrame(data, this.codec);
    return parsed.ok ? parsed.request.id : parsed.id;
  }

  private rateLimited(verdict: 'refuse' | 'close', data: Buffer, isBinary: boolean): void {
    if (verdict === 'close') {
      this.sendError('RATE_LIMITED', 'rate limit abuse, closing', this.idOf(data, isBinary));
      this.close(CloseCode.RATE_LIMIT_ABUSE, 'rate limit abuse');
      return;
    }
    this.sendError(
      'RATE_LIMITED',
      `more than ${this.session.limits.maxInboundPerSec} requests per second`,
      this.idOf(data, isBinary),
    );
  }

  private handle(req: ClientRequest): void {
    switch (req.type) {
      case 'subscribe': {
        const result = this.session.subscribe(req.symbols, req.maxHz, req.leading);
        if (result.accepted.length > 0) {
          this.send(withId({ type: 'subscribed', symbols: result.accepted, maxHz: result.maxHz }, req.id));
        }
        for (const e of result.errors) {
          const msg = withId({ type: 'error' as const, code: e.code, message: e.message }, req.id);
          this.deps.counters.errors[e.code]++;
          this.send(e.symbols ? { ...msg, symbols: e.symbols } : msg);
        }
        return;
      }
      case 'unsubscribe':
        this.send(withId({ type: 'unsubscribed', symbols: this.session.unsubscribe(req.symbols) }, req.id));
        return;
      case 'ping':
        this.send(withId({ type: 'pong', serverTime: Date.now() }, req.id));
        return;
      case 'symbols':
        this.send(withId({ type: 'symbols', symbols: this.deps.symbols as SymbolInfo[] }, req.id));
        return;
      case 'history':
        this.history(req);
        return;
      default: {
        const unknownType: never = req;
        this.sendError('UNKNOWN_TYPE', `unknown request ${JSON.stringify(unknownType)}`, undefined);
      }
    }
  }

  /** Answered when the store answers; errors as for subscribe (UNKNOWN_SYMBOL, FORBIDDEN, with `symbols`). */
  private history(req: HistoryRequest): void {
    const history = this.deps.history;
    if (!history) {
      this.sendError('UNKNOWN_TYPE', 'history is not served here', req.id);
      return;
    }
    const { symbol, tf, limit, id } = req;
    history.read(symbol, tf, limit, entitledTo(this.entitlements, symbol)).then(
      (result) => {
        if (this.closing) return;
        if (result.ok) {
          this.send(withId({ type: 'history', symbol, tf, candles: result.candles }, id));
          return;
        }
        this.deps.counters.errors[result.code]++;
        const msg = withId({ type: 'error' as const, code: result.code, message: result.message }, id);
        this.send(result.code === 'INTERNAL' ? msg : { ...msg, symbols: [symbol] });
      },
      (error: unknown) => this.deps.logger.error('history failed', { connectionId: this.id, error }),
    );
  }

  private sendError(code: ErrorCode, message: string, id: string | undefined): void {
    this.deps.counters.errors[code]++;
    this.send(withId({ type: 'error', code, message }, id));
  }

  private send(message: ServerMessage): void {
    if (this.ws.readyState !== 1) return;
    this.deps.counters.messagesSent++;
    this.ws.send(this.codec.encode(message), { binary: this.codec.binary });
    // Answers are written even while updates are paused; a peer that requests without reading is
    // paused (and closed with 4009 after the timeout) like any slow consumer, and never holds more
    // than the hard limit.
    if (this.session) {
      if (this.ws.bufferedAmount > this.deps.maxBufferedBytes) {
        this.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
        return;
      }
      this.session.checkBackpressure();
    }
  }

  private gone(): void {
    this.closing = true;
    this.session.close();
    this.deps.counters.closed++;
    this.onGone(this);
  }
}

function withId<T extends object>(message: T, id: string | undefined): T & { id?: string } {
  // The id goes first, as in docs/protocol.md's examples; absent when the request had none.
  return id === undefined ? message : ({ type: (message as { type?: string }).type, id, ...message } as T);
}
