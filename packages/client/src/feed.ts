import type {
  Candle,
  Limits,
  QuoteUpdate,
  SnapshotMessage,
  SymbolInfo,
  Timeframe,
  WelcomeMessage,
} from '@tickhub/protocol';
import { backoffDelay } from './backoff';
import { type Codec, jsonCodec, loadMsgpackCodec } from './codec';
import { Emitter } from './emitter';
import { FeedError } from './errors';
import { toQuote } from './quote-book';
import { checkSymbols, type SubscriptionHost, SubscriptionImpl, type WaitMode } from './subscription';
import type {
  Feed,
  FeedMetrics,
  FeedOptions,
  FeedState,
  StateDetail,
  Subscription,
  WebSocketConstructorLike,
  WebSocketLike,
} from './types';

// Inlined from @tickhub/protocol so that the browser bundle carries no codec code.
const SUBPROTOCOL_JSON = 'tickhub.v1.json';
const SUBPROTOCOL_MSGPACK = 'tickhub.v1.msgpack';
const DEFAULT_HEARTBEAT_MS = 15000;
const DEFAULT_MAX_INBOUND_PER_SEC = 20;

/** Symbols per subscribe or unsubscribe frame: keeps each frame far below maxPayloadBytes. */
const SYMBOLS_PER_FRAME = 100;
/** A connection that lived this long resets the backoff. */
const STABLE_AFTER_MS = 5000;
/**
 * After a `subscribed` that leaves some symbols unanswered, how long to wait for the `error` frame naming
 * them, so that the refusal carries the server's code.
 */
const REFUSAL_GRACE_MS = 1000;
/** Window of the updates-per-second metric, in whole seconds. */
const RATE_WINDOW_S = 5;

type Frame = {
  type: 'subscribe' | 'unsubscribe' | 'ping' | 'symbols' | 'history';
  id: string;
  symbols?: string[];
  maxHz?: number;
  leading?: boolean;
  symbol?: string;
  tf?: Timeframe;
  limit?: number;
};

interface Request {
  frame: Frame;
  timer?: ReturnType<typeof setTimeout>;
  sentAt?: number;
  /** Subscribe: the symbols still without a verdict. */
  unresolved?: Set<string>;
  /** Subscribe: the `subscribed` answer has arrived. */
  answered?: boolean;
  /** Part of the subscriptions restored after a (re)connect. */
  restore?: boolean;
  resolvers: Array<{
    resolve: (message: Record<string, unknown>) => void;
    reject: (error: FeedError) => void;
  }>;
}

interface Interest {
  holders: Set<SubscriptionImpl>;
  /** The rate last asked for this symbol (undefined: the server's default). */
  maxHz: number | undefined;
}

const noop = (): void => undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isQuoteLike(value: unknown): value is QuoteUpdate {
  return isRecord(value) && typeof value.symbol === 'string' && typeof value.seq === 'number';
}

async function resolveWebSocket(
  injected: WebSocketConstructorLike | undefined,
): Promise<WebSocketConstructorLike> {
  if (injected !== undefined) return injected;
  const global = (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
  if (typeof global === 'function') return global;
  // A computed name keeps browser bundlers from trying to resolve the Node-only `ws` package.
  const name = 'ws';
  try {
    const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as {
      WebSocket?: WebSocketConstructorLike;
      default?: WebSocketConstructorLike;
    };
    const ctor = mod.WebSocket ?? mod.default;
    if (typeof ctor === 'function') return ctor;
  } catch {
    // reported below
  }
  throw new FeedError(
    'UNAVAILABLE',
    'no WebSocket implementation: this runtime has no global WebSocket; install the "ws" package or pass options.WebSocket',
  );
}

function chunk(symbols: string[]): string[][] {
  const chunks: string[][] = [];
  for (let i = 0; i < symbols.length; i += SYMBOLS_PER_FRAME)
    chunks.push(symbols.slice(i, i + SYMBOLS_PER_FRAME));
  return chunks;
}

export class FeedImpl implements Feed, SubscriptionHost {
  state: FeedState = 'connecting';
  welcome: WelcomeMessage | undefined;

  private readonly events = new Emitter();
  private readonly requestTimeoutMs: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxAttempts: number;

  private ctor: WebSocketConstructorLike | undefined;
  private codec: Codec | undefined;
  private token: string | undefined;
  private needToken: boolean;

  private socket: WebSocketLike | undefined;
  /** Counts connections; quotes and answers are tied to the connection they came on. */
  private connection = 0;
  /** The current socket has sent `welcome`: requests may go out. */
  private connected = false;
  private everOpen = false;
  private finished = false;
  private openedAt: number | undefined;
  private attempt = 0;
  private lastImmediateAt = Number.NEGATIVE_INFINITY;
  private unauthorizedAtUpgrade = false;

  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private watchdogTimer: ReturnType<typeof setInterval> | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private flushQueued = false;

  private nextId = 0;
  private queue: Request[] = [];
  private readonly pending = new Map<string, Request>();
  private restoring = 0;
  private tokens = 0;
  private tokensAt = 0;

  /** Symbol → the subscriptions holding it and its rate; the state to restore after a reconnect. */
  private readonly interest = new Map<string, Interest>();
  /** Symbols the server confirmed on the current connection. */
  private readonly live = new Set<string>();

  private rttMs: number | undefined;
  private reconnects = 0;
  private lastMessageAt: number | undefined;
  private readonly rateCounts = new Array<number>(RATE_WINDOW_S + 1).fill(0);
  private readonly rateSeconds = new Array<number>(RATE_WINDOW_S + 1).fill(-1);
  private firstSecond: number | undefined;

  constructor(private readonly options: FeedOptions) {
    if (!options || typeof options.url !== 'string' || !/^wss?:\/\//i.test(options.url)) {
      throw new TypeError('options.url must be a ws:// or wss:// URL');
    }
    if (options.maxHz !== undefined && !(options.maxHz > 0))
      throw new TypeError('options.maxHz must be positive');
    if (options.leading !== undefined && typeof options.leading !== 'boolean')
      throw new TypeError('options.leading must be true or false');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10000;
    this.initialDelayMs = options.reconnect?.initialDelayMs ?? 500;
    this.maxDelayMs = options.reconnect?.maxDelayMs ?? 30000;
    this.maxAttempts = options.reconnect?.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.token = options.token;
    this.needToken = options.token === undefined && options.getToken !== undefined;
    // Connecting from a microtask lets the caller attach listeners and see the `connecting` state.
    queueMicrotask(() => {
      if (this.finished) return;
      this.setState('connecting');
      void this.open();
    });
  }

  // ------------------------------------------------------------------ public API

  get metrics(): FeedMetrics {
    return {
      rttMs: this.rttMs,
      updatesPerSec: this.updatesPerSec(),
      reconnects: this.reconnects,
      lastMessageAt: this.lastMessageAt,
    };
  }

  on(event: 'state', listener: (state: FeedState, detail?: StateDetail) => void): () => void;
  on(event: 'error', listener: (error: FeedError) => void): () => void;
  on(event: 'state' | 'error', listener: (...args: never[]) => void): () => void {
    return this.events.on(event, listener);
  }

  subscribe(symbols: string[], options?: { maxHz?: number }): Subscription {
    const maxHz = options?.maxHz ?? this.options.maxHz;
    if (maxHz !== undefined && (typeof maxHz !== 'number' || !(maxHz > 0))) {
      throw new TypeError('maxHz must be a positive number');
    }
    return new SubscriptionImpl(this, maxHz, checkSymbols(symbols));
  }

  async symbols(): Promise<SymbolInfo[]> {
    const answer = await this.request({ type: 'symbols', id: this.newId() });
    return Array.isArray(answer.symbols) ? (answer.symbols as SymbolInfo[]) : [];
  }

  async history(symbol: string, tf: Timeframe, limit?: number): Promise<Candle[]> {
    checkSymbols([symbol]);
    // tf and limit are checked by the server (BAD_REQUEST), which also owns the default limit.
    const frame: Frame = { type: 'history', id: this.newId(), symbol, tf };
    if (limit !== undefined) frame.limit = limit;
    const answer = await this.request(frame);
    return Array.isArray(answer.candles) ? (answer.candles as Candle[]) : [];
  }

  async ping(): Promise<number> {
    const request: Request = { frame: { type: 'ping', id: this.newId() }, resolvers: [] };
    await this.request(request.frame, request);
    const rtt = now() - (request.sentAt ?? now());
    this.rttMs = Math.round(rtt * 10) / 10;
    return this.rttMs;
  }

  close(): void {
    if (this.finished) return;
    this.finish(new FeedError('CLOSED', 'the feed was closed'));
    this.setState('closed', { code: 1000 });
  }

  // ------------------------------------------------------------------ subscriptions (SubscriptionHost)

  addSymbols(sub: SubscriptionImpl, symbols: string[], mode: WaitMode): Promise<string[]> {
    if (this.finished) return Promise.reject(new FeedError('CLOSED', 'the feed is closed'));
    for (const symbol of symbols) {
      sub.held.add(symbol);
      let interest = this.interest.get(symbol);
      if (interest === undefined) {
        interest = { holders: new Set(), maxHz: sub.maxHz };
        this.interest.set(symbol, interest);
      }
      interest.holders.add(sub);
      interest.maxHz = sub.maxHz;
    }
    const done = sub.wait(symbols, mode);
    // Before `welcome` nothing is sent: the restore that follows it subscribes every held symbol.
    if (this.connected) this.enqueueSubscribe(symbols, sub.maxHz);
    return done;
  }

  async setRate(sub: SubscriptionImpl, maxHz: number): Promise<void> {
    sub.maxHz = maxHz;
    const symbols = [...sub.held];
    for (const symbol of symbols) {
      const interest = this.interest.get(symbol);
      if (interest !== undefined) interest.maxHz = maxHz;
    }
    if (!this.connected || symbols.length === 0) return;
    const done = sub.wait(symbols, 'all');
    this.enqueueSubscribe(symbols, maxHz);
    await done;
  }

  async removeSymbols(sub: SubscriptionImpl, symbols: string[]): Promise<void> {
    const released: string[] = [];
    const removed = new FeedError('CLOSED', 'removed before the server answered');
    for (const symbol of symbols) {
      if (!sub.held.has(symbol)) continue;
      sub.drop(symbol);
      sub.settle(symbol, removed);
      const interest = this.interest.get(symbol);
      if (interest === undefined) continue;
      interest.holders.delete(sub);
      if (interest.holders.size > 0) continue;
      this.interest.delete(symbol);
      this.live.delete(symbol);
      released.push(symbol);
    }
    if (released.length === 0 || !this.connected) return;
    await Promise.all(
      chunk(released).map((part) => this.request({ type: 'unsubscribe', id: this.newId(), symbols: part })),
    );
  }

  // ------------------------------------------------------------------ requests

  private newId(): string {
    this.nextId += 1;
    return String(this.nextId);
  }

  private request(frame: Frame, request?: Request): Promise<Record<string, unknown>> {
    if (this.finished) return Promise.reject(new FeedError('CLOSED', 'the feed is closed'));
    return new Promise((resolve, reject) => {
      const entry = request ?? { frame, resolvers: [] };
      entry.resolvers.push({ resolve, reject });
      this.queue.push(entry);
      this.scheduleFlush();
    });
  }

  /** Queues subscribe frames, merging into the last queued one when it has the same rate. */
  private enqueueSubscribe(symbols: string[], maxHz: number | undefined, restore = false): void {
    const rest = [...symbols];
    const last = this.queue[this.queue.length - 1];
    if (
      !restore &&
      last !== undefined &&
      last.frame.type === 'subscribe' &&
      !last.restore &&
      last.frame.maxHz === this.clampHz(maxHz) &&
      last.frame.symbols !== undefined
    ) {
      const merged = new Set(last.frame.symbols);
      while (rest.length > 0 && merged.size < SYMBOLS_PER_FRAME) merged.add(rest.shift() as string);
      last.frame.symbols = [...merged];
    }
    for (const part of chunk(rest)) {
      const frame: Frame = { type: 'subscribe', id: this.newId(), symbols: part };
      const hz = this.clampHz(maxHz);
      if (hz !== undefined) frame.maxHz = hz;
      if (this.options.leading !== undefined) frame.leading = this.options.leading;
      this.queue.push({ frame, resolvers: [], restore });
      if (restore) this.restoring += 1;
    }
    this.scheduleFlush();
  }

  private clampHz(maxHz: number | undefined): number | undefined {
    const limits: Limits | undefined = this.welcome?.limits;
    if (maxHz === undefined || limits === undefined) return maxHz;
    return Math.min(Math.max(maxHz, limits.minHz), limits.maxHz);
  }

  private scheduleFlush(): void {
    if (this.flushQueued || this.flushTimer !== undefined) return;
    this.flushQueued = true;
    // One microtask of delay lets a loop of subscribe() calls leave as one frame.
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Writes queued requests, never faster than half the inbound rate the server allows. */
  private flush(): void {
    const socket = this.socket;
    const codec = this.codec;
    if (!this.connected || socket === undefined || codec === undefined) return;
    const rate = Math.max(1, (this.welcome?.limits?.maxInboundPerSec ?? DEFAULT_MAX_INBOUND_PER_SEC) / 2);
    while (this.queue.length > 0) {
      const t = now();
      this.tokens = Math.min(rate, this.tokens + ((t - this.tokensAt) / 1000) * rate);
      this.tokensAt = t;
      if (this.tokens < 1) {
        this.flushTimer = setTimeout(
          () => {
            this.flushTimer = undefined;
            this.flush();
          },
          Math.ceil(((1 - this.tokens) / rate) * 1000),
        );
        return;
      }
      this.tokens -= 1;
      const request = this.queue.shift() as Request;
      const { frame } = request;
      if (frame.type === 'subscribe') request.unresolved = new Set(frame.symbols);
      this.pending.set(frame.id, request);
      request.timer = setTimeout(() => this.onTimeout(request), this.requestTimeoutMs);
      request.sentAt = now();
      try {
        socket.send(codec.encode(frame));
      } catch {
        // The socket is closing; its close event settles the request.
      }
    }
  }

  private complete(request: Request): void {
    if (request.timer !== undefined) clearTimeout(request.timer);
    this.pending.delete(request.frame.id);
    if (request.restore) this.restored();
  }

  private resolveRequest(request: Request, message: Record<string, unknown>): void {
    this.complete(request);
    for (const r of request.resolvers) r.resolve(message);
  }

  private rejectRequest(request: Request, error: FeedError): void {
    this.complete(request);
    for (const r of request.resolvers) r.reject(error);
  }

  private onTimeout(request: Request): void {
    request.timer = undefined;
    if (this.pending.get(request.frame.id) !== request) return;
    const { frame } = request;
    if (frame.type === 'subscribe' && request.unresolved !== undefined) {
      if (request.answered) {
        // The `subscribed` came, the error naming the rest did not: refuse them without the server's code.
        this.refuse(
          [...request.unresolved],
          new FeedError('UNKNOWN_SYMBOL', 'the server did not accept these symbols'),
        );
      } else {
        const timeout = new FeedError('TIMEOUT', `no answer to subscribe within ${this.requestTimeoutMs} ms`);
        for (const symbol of request.unresolved) {
          for (const sub of this.interest.get(symbol)?.holders ?? []) sub.failSymbol(symbol, timeout);
        }
      }
      this.complete(request);
      return;
    }
    this.rejectRequest(
      request,
      new FeedError('TIMEOUT', `no answer to ${frame.type} within ${this.requestTimeoutMs} ms`),
    );
  }

  // ------------------------------------------------------------------ connection

  private async open(): Promise<void> {
    const connection = ++this.connection;
    let socket: WebSocketLike;
    try {
      this.ctor ??= await resolveWebSocket(this.options.WebSocket);
      this.codec ??= this.options.protocol === 'msgpack' ? await loadMsgpackCodec() : jsonCodec;
    } catch (error) {
      if (!this.finished) {
        this.fail(error instanceof FeedError ? error : new FeedError('UNAVAILABLE', String(error)));
      }
      return;
    }
    if (this.needToken && this.options.getToken !== undefined) {
      try {
        this.token = await this.options.getToken();
        this.needToken = false;
      } catch (error) {
        if (this.finished || connection !== this.connection) return;
        this.scheduleReconnect(undefined, `getToken failed: ${String(error)}`, false);
        return;
      }
    }
    if (this.finished || connection !== this.connection) return;
    try {
      socket = new this.ctor(
        this.connectUrl(),
        this.codec.binary ? SUBPROTOCOL_MSGPACK : SUBPROTOCOL_JSON,
      ) as WebSocketLike;
    } catch (error) {
      this.fail(
        new FeedError('UNAVAILABLE', `cannot open a WebSocket to ${this.options.url}: ${String(error)}`),
      );
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('error', (event: unknown) => {
      // Node's `ws` reports an HTTP 401 at the upgrade here; browsers only see a close with 1006.
      const message = isRecord(event) ? event.message : undefined;
      if (this.socket === socket && typeof message === 'string' && /\b401\b/.test(message)) {
        this.unauthorizedAtUpgrade = true;
      }
    });
    socket.addEventListener('message', (event: { data: unknown }) => {
      if (this.socket === socket) this.onFrame(event.data);
    });
    socket.addEventListener('close', (event: { code: number; reason: string }) => {
      if (this.socket === socket) this.lost(event.code, event.reason);
    });
    this.connectTimer = setTimeout(() => {
      this.drop(socket, `no welcome within ${this.requestTimeoutMs} ms`);
    }, this.requestTimeoutMs);
  }

  private connectUrl(): string {
    if (this.token === undefined || this.token === '') return this.options.url;
    const separator = this.options.url.includes('?') ? '&' : '?';
    return `${this.options.url}${separator}token=${encodeURIComponent(this.token)}`;
  }

  /** Gives up on a socket the SDK no longer trusts, then reconnects. */
  private drop(socket: WebSocketLike, reason: string): void {
    if (this.socket !== socket) return;
    this.detach(socket);
    this.lost(undefined, reason);
  }

  /** Stops listening to a socket and closes it: politely when the feed closes, at once when it is dead. */
  private detach(socket: WebSocketLike, graceful = false): void {
    // Its listeners stay attached (the error listener keeps `ws` from throwing) but ignore a socket that is
    // no longer the feed's.
    if (this.socket === socket) this.socket = undefined;
    try {
      const terminate = (socket as { terminate?: () => void }).terminate;
      if (!graceful && typeof terminate === 'function') terminate.call(socket);
      else socket.close(1000);
    } catch {
      // already closed
    }
  }

  private onWelcome(welcome: WelcomeMessage): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.welcome = welcome;
    this.connected = true;
    this.openedAt = Date.now();
    this.tokens = Math.max(1, (welcome.limits?.maxInboundPerSec ?? DEFAULT_MAX_INBOUND_PER_SEC) / 2);
    this.tokensAt = now();

    const heartbeatMs = welcome.heartbeatMs > 0 ? welcome.heartbeatMs : DEFAULT_HEARTBEAT_MS;
    const pingMs = this.options.pingIntervalMs ?? heartbeatMs;
    const silenceMs = 2 * Math.max(heartbeatMs, pingMs);
    this.pingTimer = setInterval(() => {
      this.ping().catch(noop);
    }, pingMs);
    const checkMs = Math.max(50, Math.floor(silenceMs / 4));
    let lastCheck = Date.now();
    this.watchdogTimer = setInterval(() => {
      const t = Date.now();
      const late = t - lastCheck > 2 * checkMs;
      lastCheck = t;
      if (this.socket === undefined) return;
      if (late) {
        // Timers were held back (a background tab, a suspended laptop): probe before judging the silence.
        this.ping().catch(noop);
      } else if (t - (this.lastMessageAt ?? 0) > silenceMs) {
        this.drop(this.socket, `nothing received for ${silenceMs} ms`);
      }
    }, checkMs);

    // Restore every held symbol with its rate, grouped by rate, ahead of anything queued meanwhile.
    const queued = this.queue;
    this.queue = [];
    this.restoring = 0;
    const byRate = new Map<number | undefined, string[]>();
    for (const [symbol, interest] of this.interest) {
      const group = byRate.get(interest.maxHz);
      if (group === undefined) byRate.set(interest.maxHz, [symbol]);
      else group.push(symbol);
    }
    for (const [maxHz, symbols] of byRate) this.enqueueSubscribe(symbols, maxHz, true);
    this.queue.push(...queued);
    if (this.restoring === 0) this.becomeOpen();
    this.ping().catch(noop);
    this.scheduleFlush();
  }

  private restored(): void {
    this.restoring -= 1;
    if (this.restoring === 0 && this.connected) this.becomeOpen();
  }

  private becomeOpen(): void {
    const reconnected = this.everOpen;
    this.everOpen = true;
    if (reconnected) {
      this.reconnects += 1;
      let restored = 0;
      for (const symbol of this.interest.keys()) if (this.live.has(symbol)) restored += 1;
      this.setState('open', { attempt: this.attempt, restored });
    } else {
      this.setState('open');
    }
  }

  /** The connection ended (closed by the server, failed to open, or dropped by the SDK). */
  private lost(code: number | undefined, reason: string): void {
    const socket = this.socket;
    if (socket !== undefined) this.detach(socket);
    this.socket = undefined;
    this.stopConnectionTimers();
    this.connected = false;
    this.live.clear();
    this.settleForLostConnection();
    if (this.finished) return;
    if (this.openedAt !== undefined && Date.now() - this.openedAt >= STABLE_AFTER_MS) this.attempt = 0;
    this.openedAt = undefined;

    const detail = { closeCode: code };
    if (code === 1008) {
      this.fail(
        new FeedError('POLICY', `the server refused the connection (1008): ${reason}`, detail),
        code,
        reason,
      );
      return;
    }
    if (code === 1009) {
      this.fail(
        new FeedError('TOO_BIG', `a frame exceeded the server's maxPayloadBytes (1009): ${reason}`, detail),
        code,
        reason,
      );
      return;
    }
    let immediate = code === 1001;
    if (code === 4001 || this.unauthorizedAtUpgrade) {
      this.unauthorizedAtUpgrade = false;
      if (this.options.getToken === undefined) {
        this.fail(
          new FeedError('UNAUTHORIZED', `the server refused the token (4001): ${reason}`, {
            closeCode: 4001,
          }),
          code,
          reason,
        );
        return;
      }
      this.needToken = true;
      immediate = true;
    }
    // 1001 and 4001 reconnect at once, but at most once per STABLE_AFTER_MS: a server that keeps closing
    // the connection must not be hammered.
    if (immediate) {
      const t = Date.now();
      immediate = t - this.lastImmediateAt >= STABLE_AFTER_MS;
      if (immediate) this.lastImmediateAt = t;
    }
    if (code === 4009) {
      this.events.emit(
        'error',
        new FeedError('SLOW_CONSUMER', `closed as a slow consumer (4009): ${reason}`, detail),
      );
    } else if (code === 4008) {
      this.events.emit(
        'error',
        new FeedError('RATE_LIMITED', `closed for request abuse (4008): ${reason}`, detail),
      );
    }
    this.scheduleReconnect(code, reason, immediate);
  }

  private scheduleReconnect(code: number | undefined, reason: string, immediate: boolean): void {
    if (this.attempt >= this.maxAttempts) {
      this.fail(
        new FeedError('CLOSED', `gave up after ${this.attempt} reconnect attempts`, { closeCode: code }),
        code,
        reason,
      );
      return;
    }
    const delayMs = immediate
      ? 0
      : backoffDelay(this.attempt, { initialDelayMs: this.initialDelayMs, maxDelayMs: this.maxDelayMs });
    this.attempt += 1;
    const detail: StateDetail = { reason, attempt: this.attempt, delayMs };
    if (code !== undefined) detail.code = code;
    this.setState('reconnecting', detail);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.open();
    }, delayMs);
  }

  /** Requests in flight on a lost connection: subscriptions are restored by the next welcome, the rest waits or fails. */
  private settleForLostConnection(): void {
    const lost = new FeedError('CLOSED', 'the connection was lost before the answer');
    const requeue: Request[] = [];
    for (const request of [...this.pending.values(), ...this.queue]) {
      if (request.timer !== undefined) clearTimeout(request.timer);
      request.timer = undefined;
      request.answered = false;
      const type = request.frame.type;
      if (type === 'unsubscribe') {
        // The server forgets a connection's subscriptions with the connection.
        for (const r of request.resolvers) r.resolve({});
      } else if (type === 'ping') {
        for (const r of request.resolvers) r.reject(lost);
      } else if (type === 'symbols' || type === 'history') {
        // Reads: asked again on the next connection.
        requeue.push(request);
      }
    }
    this.pending.clear();
    this.queue = requeue;
    this.restoring = 0;
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private stopConnectionTimers(): void {
    for (const timer of [this.connectTimer, this.pingTimer, this.watchdogTimer]) {
      if (timer !== undefined) clearTimeout(timer);
    }
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    if (this.watchdogTimer !== undefined) clearInterval(this.watchdogTimer);
    this.connectTimer = this.pingTimer = this.watchdogTimer = undefined;
  }

  /** A close code or failure the feed cannot recover from. */
  private fail(error: FeedError, code?: number, reason?: string): void {
    this.finish(error);
    const detail: StateDetail = {};
    if (code !== undefined) detail.code = code;
    if (reason !== undefined) detail.reason = reason;
    this.setState('closed', detail);
    this.events.emit('error', error);
  }

  private finish(error: FeedError): void {
    this.finished = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const socket = this.socket;
    if (socket !== undefined) this.detach(socket, true);
    this.stopConnectionTimers();
    this.connected = false;
    for (const request of [...this.pending.values(), ...this.queue]) {
      if (request.timer !== undefined) clearTimeout(request.timer);
      for (const r of request.resolvers) r.reject(error);
    }
    this.pending.clear();
    this.queue = [];
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const subs = new Set<SubscriptionImpl>();
    for (const interest of this.interest.values()) for (const sub of interest.holders) subs.add(sub);
    for (const sub of subs) sub.fail(error);
  }

  private setState(state: FeedState, detail?: StateDetail): void {
    this.state = state;
    this.events.emit('state', state, detail);
  }

  // ------------------------------------------------------------------ inbound

  private onFrame(data: unknown): void {
    this.lastMessageAt = Date.now();
    let message: unknown;
    try {
      message = (this.codec ?? jsonCodec).decode(data);
    } catch {
      return; // an unreadable frame carries nothing to act on
    }
    if (!isRecord(message)) return;
    switch (message.type) {
      case 'ticks': {
        const updates = message.updates;
        if (!Array.isArray(updates)) return;
        this.countUpdates(updates.length);
        for (const update of updates) if (isQuoteLike(update)) this.onQuote(update, update);
        return;
      }
      case 'snapshot':
        if (isQuoteLike(message)) {
          this.countUpdates(1);
          this.onQuote(message as unknown as SnapshotMessage, undefined);
        }
        return;
      case 'welcome':
        if (!this.connected) this.onWelcome(message as unknown as WelcomeMessage);
        return;
      case 'error':
        this.onErrorFrame(message);
        return;
      default:
        this.onAnswer(message);
    }
  }

  private onQuote(message: SnapshotMessage | QuoteUpdate, update: QuoteUpdate | undefined): void {
    const interest = this.interest.get(message.symbol);
    if (interest === undefined) return;
    const quote = toQuote(message);
    for (const sub of interest.holders) sub.applyQuote(quote, update, this.connection);
  }

  private onAnswer(message: Record<string, unknown>): void {
    const id = message.id;
    const request = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (request === undefined) return;
    const expected =
      request.frame.type === 'subscribe'
        ? 'subscribed'
        : request.frame.type === 'unsubscribe'
          ? 'unsubscribed'
          : request.frame.type === 'ping'
            ? 'pong'
            : request.frame.type === 'history'
              ? 'history'
              : 'symbols';
    if (message.type !== expected) return;
    if (request.frame.type !== 'subscribe') {
      this.resolveRequest(request, message);
      return;
    }
    const accepted = Array.isArray(message.symbols) ? (message.symbols as unknown[]) : [];
    const unresolved = request.unresolved ?? new Set<string>();
    for (const symbol of accepted) {
      if (typeof symbol !== 'string') continue;
      unresolved.delete(symbol);
      if (!this.interest.has(symbol)) continue;
      this.live.add(symbol);
      for (const sub of this.interest.get(symbol)?.holders ?? []) sub.settle(symbol);
    }
    if (unresolved.size === 0) {
      this.complete(request);
      return;
    }
    request.answered = true;
    if (request.timer !== undefined) clearTimeout(request.timer);
    request.timer = setTimeout(() => this.onTimeout(request), REFUSAL_GRACE_MS);
  }

  private onErrorFrame(message: Record<string, unknown>): void {
    const symbols = Array.isArray(message.symbols)
      ? (message.symbols as unknown[]).filter((s): s is string => typeof s === 'string')
      : undefined;
    const code = typeof message.code === 'string' ? message.code : 'INTERNAL';
    const text = typeof message.message === 'string' ? message.message : code;
    const error = new FeedError(code, text, symbols ? { symbols } : undefined);
    const id = message.id;
    const request = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (request === undefined) {
      this.events.emit('error', error);
      return;
    }
    if (request.frame.type !== 'subscribe' || request.unresolved === undefined) {
      this.rejectRequest(request, error);
      return;
    }
    // A subscribe error names the refused symbols; one without symbols refuses the whole request.
    const refused = symbols ?? [...request.unresolved];
    for (const symbol of refused) request.unresolved.delete(symbol);
    this.refuse(refused, error);
    if (request.unresolved.size === 0 || symbols === undefined) {
      this.complete(request);
    }
  }

  /** The server refused `symbols`: holders drop each one the server does not still deliver. */
  private refuse(symbols: string[], error: FeedError): void {
    const dropped = new Map<SubscriptionImpl, string[]>();
    for (const symbol of symbols) {
      const interest = this.interest.get(symbol);
      if (interest === undefined) continue;
      const keep = this.live.has(symbol);
      for (const sub of interest.holders) {
        sub.settle(symbol, new FeedError(error.code, error.message, { symbols: [symbol] }));
        if (keep) continue;
        sub.drop(symbol);
        const list = dropped.get(sub);
        if (list === undefined) dropped.set(sub, [symbol]);
        else list.push(symbol);
      }
      if (!keep) this.interest.delete(symbol);
    }
    for (const [sub, list] of dropped)
      sub.emitError(new FeedError(error.code, error.message, { symbols: list }));
  }

  // ------------------------------------------------------------------ metrics

  private countUpdates(count: number): void {
    const second = Math.floor(Date.now() / 1000);
    this.firstSecond ??= second;
    const slot = second % this.rateSeconds.length;
    if (this.rateSeconds[slot] !== second) {
      this.rateSeconds[slot] = second;
      this.rateCounts[slot] = 0;
    }
    this.rateCounts[slot] = (this.rateCounts[slot] ?? 0) + count;
  }

  private updatesPerSec(): number {
    if (this.firstSecond === undefined) return 0;
    const second = Math.floor(Date.now() / 1000);
    const window = Math.min(RATE_WINDOW_S, Math.max(1, second - this.firstSecond));
    let sum = 0;
    for (let k = 1; k <= window; k++) {
      const s = second - k;
      const slot = s % this.rateSeconds.length;
      if (this.rateSeconds[slot] === s) sum += this.rateCounts[slot] ?? 0;
    }
    return Math.round((sum / window) * 10) / 10;
  }
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
