import { connect } from '@tickhub/client';
import type { Candle, Quote, SymbolInfo, Timeframe } from '@tickhub/protocol';
import { ChartView } from './chart-view';
import type { Dom } from './dom';
import type { Endpoints } from './endpoints';
import type { SymbolMeta } from './format';
import { QuoteHeader } from './quote-header';
import { SearchBox } from './search-box';
import {
  BAR_CHOICES,
  type ChartMode,
  type KeyValueStore,
  MAX_WATCHLIST,
  moveSymbol,
  moveTo,
  normalizeSymbol,
  RATE_CHOICES,
  type Settings,
  saveSettings,
} from './settings';
import { type LinkState, StatusView } from './status-view';
import { TapeView } from './tape-view';
import { WatchlistView } from './watchlist-view';

type Feed = ReturnType<typeof connect>;
type Subscription = ReturnType<Feed['subscribe']>;

/** How long the feed may be down before the page calls the gateway unreachable. */
const OFFLINE_AFTER_MS = 1500;
const PING_EVERY_MS = 3000;
const UNIVERSE_RETRY_MS = 3000;

/**
 * Wires the feed to the views: quotes go into the watchlist, the chart
 * header, and one animation frame per screen refresh draws whatever changed.
 */
export class Dashboard {
  private readonly watchlist: WatchlistView;
  private readonly chart: ChartView;
  private readonly header: QuoteHeader;
  private readonly tape: TapeView;
  private readonly status: StatusView;
  private readonly search: SearchBox;
  private universe: SymbolInfo[] = [];
  private readonly infoBySymbol = new Map<string, SymbolInfo>();
  private feed: Feed | undefined;
  private subscription: Subscription | undefined;
  private frameRequested = false;
  private offlineTimer: ReturnType<typeof setTimeout> | undefined;
  private lastSample = performance.now();
  private toastTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly dom: Dom,
    private readonly endpoints: Endpoints,
    private readonly settings: Settings,
    private readonly firstVisit: boolean,
    private readonly store: KeyValueStore | undefined,
  ) {
    const meta = (symbol: string): SymbolMeta | undefined => this.infoBySymbol.get(symbol);
    this.watchlist = new WatchlistView(dom.rows, dom.empty, meta, {
      select: (s) => this.select(s),
      remove: (s) => this.remove(s),
      moveTo: (s, i) => this.reorder(moveTo(this.settings.symbols, s, i)),
    });
    this.chart = new ChartView(
      dom.chart,
      (symbol, tf, limit) => this.history(symbol, tf, limit),
      settings.chartMode,
      settings.barSeconds,
      (message) => this.toast(message),
    );
    this.header = new QuoteHeader(dom.header);
    this.tape = new TapeView(dom.tape);
    this.status = new StatusView(dom.status);
    this.search = new SearchBox(dom.searchInput, dom.searchResults, {
      universe: () => this.universe,
      has: (s) => this.settings.symbols.includes(s),
      add: (s) => this.add(s),
    });
  }

  start(): void {
    this.watchlist.setSymbols(this.settings.symbols);
    this.renderCount();
    this.renderControls();
    this.status.setState('connecting');

    const feed = connect({
      url: this.endpoints.wsUrl,
      ...(this.endpoints.token ? { token: this.endpoints.token } : {}),
      maxHz: this.settings.maxHz,
      // A watchlist repaints together: its symbols arrive in one frame per interval (docs/protocol.md).
      leading: false,
      // Frequent keep-alive pings keep the round-trip time in the status bar current.
      pingIntervalMs: PING_EVERY_MS,
    });
    this.feed = feed;
    feed.on('state', (state) => this.onFeedState(state));
    this.onFeedState(feed.state);
    // The chart asks the feed for its history: selecting comes after the feed exists.
    this.select(this.settings.selected ?? this.settings.symbols[0] ?? null);

    const sub = feed.subscribe(this.settings.symbols, { maxHz: this.settings.maxHz });
    this.subscription = sub;
    sub.on('quote', (quote) => this.onQuote(quote));
    sub.on('error', (err) => this.onSubscriptionError(err));
    sub.ready.catch(() => {
      // Rejected symbols arrive through the 'error' event as well; nothing more to do here.
    });

    void this.loadUniverse();
    setInterval(() => this.everySecond(), 1000);
    window.addEventListener('online', () => this.onFeedState(this.feed?.state ?? 'connecting'));
    window.addEventListener('offline', () => this.status.setState('offline'));
  }

  // ------------------------------------------------------------------ actions

  add(input: string): void {
    const symbol = normalizeSymbol(input);
    if (!symbol) return;
    if (this.settings.symbols.includes(symbol)) {
      this.select(symbol);
      return;
    }
    if (this.universe.length > 0 && !this.infoBySymbol.has(symbol)) {
      this.toast(`Unknown symbol ${symbol}`);
      return;
    }
    if (this.settings.symbols.length >= MAX_WATCHLIST) {
      this.toast(`The watchlist holds at most ${MAX_WATCHLIST} symbols`);
      return;
    }
    this.settings.symbols = [...this.settings.symbols, symbol];
    this.watchlist.setSymbols(this.settings.symbols);
    this.subscription?.add([symbol]).catch(ignoreRefusal);
    this.renderCount();
    this.select(symbol);
  }

  remove(symbol: string): void {
    const index = this.settings.symbols.indexOf(symbol);
    if (index < 0) return;
    this.settings.symbols = this.settings.symbols.filter((s) => s !== symbol);
    this.subscription?.remove([symbol]).catch(ignoreRefusal);
    this.watchlist.setSymbols(this.settings.symbols);
    this.renderCount();
    if (this.watchlist.selected === symbol || this.settings.selected === symbol) {
      const next = this.settings.symbols[Math.min(index, this.settings.symbols.length - 1)] ?? null;
      this.select(next);
    } else {
      this.save();
    }
  }

  select(symbol: string | null): void {
    if (symbol !== null && !this.settings.symbols.includes(symbol)) symbol = this.settings.symbols[0] ?? null;
    this.watchlist.select(symbol);
    this.settings.selected = symbol;
    const decimals = symbol ? this.watchlist.decimalsOf(symbol) : 2;
    this.chart.show(symbol, decimals);
    this.header.show(
      symbol,
      symbol ? (this.infoBySymbol.get(symbol)?.name ?? '') : '',
      decimals,
      symbol ? this.watchlist.quoteOf(symbol) : undefined,
    );
    this.tape.show(symbol, decimals, symbol ? this.watchlist.quoteOf(symbol) : undefined);
    this.save();
  }

  /** Moves the selection by `delta` rows (wrapping at neither end). */
  selectBy(delta: number): void {
    const list = this.settings.symbols;
    if (list.length === 0) return;
    const current = this.watchlist.selected ? list.indexOf(this.watchlist.selected) : -1;
    const next = current < 0 ? 0 : Math.max(0, Math.min(list.length - 1, current + delta));
    const symbol = list[next];
    if (symbol && symbol !== this.watchlist.selected) this.select(symbol);
  }

  selectEdge(last: boolean): void {
    const list = this.settings.symbols;
    const symbol = last ? list[list.length - 1] : list[0];
    if (symbol) this.select(symbol);
  }

  moveSelected(delta: number): void {
    const symbol = this.watchlist.selected;
    if (symbol) this.reorder(moveSymbol(this.settings.symbols, symbol, delta));
  }

  removeSelected(): void {
    const symbol = this.watchlist.selected;
    if (symbol) this.remove(symbol);
  }

  setMaxHz(hz: number): void {
    if (!RATE_CHOICES.includes(hz) || hz === this.settings.maxHz) return;
    this.settings.maxHz = hz;
    this.subscription?.setMaxHz(hz).catch((err: unknown) => this.onSubscriptionError(err));
    this.renderControls();
    this.save();
  }

  stepMaxHz(delta: number): void {
    const i = RATE_CHOICES.indexOf(this.settings.maxHz);
    const next = RATE_CHOICES[Math.max(0, Math.min(RATE_CHOICES.length - 1, i + delta))];
    if (next !== undefined) this.setMaxHz(next);
  }

  setChartMode(mode: ChartMode): void {
    this.settings.chartMode = mode;
    this.chart.setMode(mode);
    this.renderControls();
    this.save();
  }

  toggleChartMode(): void {
    this.setChartMode(this.settings.chartMode === 'candles' ? 'line' : 'candles');
  }

  setBarSeconds(seconds: number): void {
    if (!BAR_CHOICES.includes(seconds)) return;
    this.settings.barSeconds = seconds;
    this.chart.setBarSeconds(seconds);
    this.renderControls();
    this.save();
  }

  cycleBarSeconds(): void {
    const i = BAR_CHOICES.indexOf(this.settings.barSeconds);
    this.setBarSeconds(BAR_CHOICES[(i + 1) % BAR_CHOICES.length] ?? this.settings.barSeconds);
  }

  focusSearch(): void {
    this.search.focus();
  }

  // ------------------------------------------------------------------ feed events

  private onQuote(quote: Quote): void {
    this.watchlist.quote(quote);
    this.chart.quote(quote);
    if (quote.symbol === this.watchlist.selected) {
      this.header.update(quote);
      this.tape.update(quote);
    }
    this.requestFrame();
  }

  private onFeedState(state: string): void {
    clearTimeout(this.offlineTimer);
    if (state === 'open') {
      this.status.setState(navigator.onLine === false ? 'offline' : 'connected');
      if (this.universe.length === 0) void this.loadUniverse();
      return;
    }
    if (state === 'closed') {
      this.status.setState('offline');
      return;
    }
    const shown: LinkState = state === 'reconnecting' ? 'reconnecting' : 'connecting';
    if (this.status.current !== 'offline') this.status.setState(shown);
    // A quick reconnect (a pod draining) is not worth a banner; a gateway that stays away is.
    this.offlineTimer = setTimeout(() => {
      if (this.feed?.state !== 'open') this.status.setState('offline');
    }, OFFLINE_AFTER_MS);
  }

  private onSubscriptionError(err: unknown): void {
    const { code, symbols, message } = describeError(err);
    if (symbols.length > 0 && (code === 'UNKNOWN_SYMBOL' || code === 'FORBIDDEN')) {
      for (const s of symbols) this.watchlist.markUnavailable(s, `${s}: ${message}`);
      this.toast(`${code === 'FORBIDDEN' ? 'Not allowed' : 'Unknown symbol'}: ${symbols.join(', ')}`);
      return;
    }
    this.toast(message);
  }

  /** Candle history over the feed (it waits for the connection, and asks again after a reconnect). */
  private history(symbol: string, tf: Timeframe, limit: number): Promise<Candle[]> {
    if (!this.feed) return Promise.reject(new Error('not connected'));
    return this.feed.history(symbol, tf, limit);
  }

  // ------------------------------------------------------------------ universe

  private async loadUniverse(): Promise<void> {
    if (this.universe.length > 0) return;
    let list: SymbolInfo[] | undefined;
    try {
      const res = await fetch(`${this.endpoints.apiBase}/api/symbols`, {
        headers: { accept: 'application/json' },
      });
      if (res.ok) list = (await res.json()) as SymbolInfo[];
    } catch {
      // Gateway down or another origin without CORS: try over the feed, then again later.
    }
    if (!list && this.feed?.state === 'open') list = await this.feed.symbols().catch(() => undefined);
    if (!Array.isArray(list) || list.length === 0) {
      setTimeout(() => void this.loadUniverse(), UNIVERSE_RETRY_MS);
      return;
    }
    this.setUniverse(list);
  }

  private setUniverse(list: SymbolInfo[]): void {
    this.universe = list.filter((s) => typeof s?.symbol === 'string');
    this.infoBySymbol.clear();
    for (const info of this.universe) this.infoBySymbol.set(info.symbol, info);
    if (this.firstVisit) {
      // The default watchlist keeps what this feed carries and tops up from its most active symbols.
      const kept = this.settings.symbols.filter((s) => this.infoBySymbol.has(s));
      const dropped = this.settings.symbols.filter((s) => !this.infoBySymbol.has(s));
      for (const s of this.universe) {
        if (kept.length >= 12) break;
        if (!kept.includes(s.symbol)) kept.push(s.symbol);
      }
      const added = kept.filter((s) => !this.settings.symbols.includes(s));
      if (dropped.length > 0) this.subscription?.remove(dropped).catch(ignoreRefusal);
      if (added.length > 0) this.subscription?.add(added).catch(ignoreRefusal);
      this.settings.symbols = kept;
      this.watchlist.setSymbols(kept);
      this.renderCount();
    }
    this.watchlist.refreshMeta();
    this.select(this.watchlist.selected ?? kept0(this.settings.symbols));
    this.search.refresh();
    this.requestFrame();
  }

  // ------------------------------------------------------------------ drawing

  private requestFrame(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame((now) => this.frame(now));
  }

  private frame(now: number): void {
    this.frameRequested = false;
    const more = this.watchlist.flush(now);
    this.chart.flush();
    this.header.flush();
    this.tape.flush();
    if (more) this.requestFrame();
  }

  private everySecond(): void {
    const now = performance.now();
    this.watchlist.sampleRates(now - this.lastSample);
    this.lastSample = now;
    const feed = this.feed;
    if (feed) this.status.setMetrics(feed.metrics.rttMs, feed.metrics.updatesPerSec, feed.welcome?.server);
    this.status.tick();
    this.requestFrame();
  }

  private reorder(symbols: string[]): void {
    if (symbols.join() === this.settings.symbols.join()) return;
    this.settings.symbols = symbols;
    this.watchlist.setSymbols(symbols);
    const selected = this.watchlist.selected;
    if (selected) this.watchlist.select(selected);
    this.save();
  }

  private renderCount(): void {
    this.dom.count.textContent = String(this.settings.symbols.length);
  }

  private renderControls(): void {
    for (const b of this.dom.rateButtons) {
      b.setAttribute('aria-pressed', String(Number(b.dataset.hz) === this.settings.maxHz));
    }
    for (const b of this.dom.modeButtons) {
      b.setAttribute('aria-pressed', String(b.dataset.mode === this.settings.chartMode));
    }
    for (const b of this.dom.barButtons) {
      b.setAttribute('aria-pressed', String(Number(b.dataset.seconds) === this.settings.barSeconds));
    }
  }

  private save(): void {
    saveSettings(this.store, this.settings);
  }

  toast(message: string): void {
    const el = this.dom.toast;
    el.textContent = message;
    el.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => {
      el.hidden = true;
    }, 4000);
  }
}

/** Refused symbols also arrive through the subscription's 'error' event, which reports them once. */
function ignoreRefusal(): void {}

function kept0(list: readonly string[]): string | null {
  return list[0] ?? null;
}

function describeError(err: unknown): { code: string; symbols: string[]; message: string } {
  const o = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const code = typeof o.code === 'string' ? o.code : 'ERROR';
  const symbols = Array.isArray(o.symbols) ? o.symbols.filter((s): s is string => typeof s === 'string') : [];
  const message = typeof o.message === 'string' ? o.message : String(err);
  return { code, symbols, message };
}
