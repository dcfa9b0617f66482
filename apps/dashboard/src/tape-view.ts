import type { Quote } from '@tickhub/protocol';
import { DASH, formatPrice, formatVolume } from './format';

/** Trades listed at most: the panel shows what fits, the rest is dropped. */
const MAX_TRADES = 60;

export interface TapeElements {
  root: HTMLElement;
  symbol: HTMLElement;
  rows: HTMLElement;
  low: HTMLElement;
  high: HTMLElement;
  fill: HTMLElement;
  mark: HTMLElement;
}

interface Trade {
  ts: number;
  price: number;
  size: number;
  dir: -1 | 0 | 1;
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
  hour12: false,
});

/**
 * The lower part of the watchlist: the selected symbol's day range (low to high, the last price on
 * it) and its trades as they arrive, newest first. A trade is an update whose day volume moved; at a
 * throttled rate several trades arrive as one, with the latest price and size.
 */
export class TapeView {
  private symbol: string | null = null;
  private decimals = 2;
  private trades: Trade[] = [];
  private lastVolume: number | undefined;
  private lastPrice: number | undefined;
  private quote: Quote | undefined;
  private dirty = false;

  constructor(private readonly el: TapeElements) {}

  show(symbol: string | null, decimals: number, quote: Quote | undefined): void {
    if (symbol !== this.symbol) {
      this.trades = [];
      this.lastVolume = quote?.volume;
      this.lastPrice = quote?.last;
    }
    this.symbol = symbol;
    this.decimals = decimals;
    this.quote = quote;
    this.el.symbol.textContent = symbol ?? '';
    this.dirty = true;
    this.flush();
  }

  update(quote: Quote): void {
    if (quote.symbol !== this.symbol) return;
    this.quote = quote;
    if (this.lastVolume !== undefined && quote.volume > this.lastVolume) {
      const dir =
        this.lastPrice === undefined || quote.last === this.lastPrice
          ? 0
          : quote.last > this.lastPrice
            ? 1
            : -1;
      this.trades.unshift({ ts: quote.ts, price: quote.last, size: quote.lastSize, dir });
      if (this.trades.length > MAX_TRADES) this.trades.length = MAX_TRADES;
      this.lastPrice = quote.last;
    }
    this.lastVolume = quote.volume;
    this.dirty = true;
  }

  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.renderRange();
    if (this.trades.length === 0) {
      const empty = document.createElement('div');
      empty.className = 'tape-empty';
      empty.textContent = this.symbol ? 'Waiting for trades…' : 'Select a symbol';
      this.el.rows.replaceChildren(empty);
      return;
    }
    this.el.rows.replaceChildren(
      ...this.trades.map((t) => {
        const row = document.createElement('div');
        row.className = t.dir > 0 ? 'tape-row up' : t.dir < 0 ? 'tape-row down' : 'tape-row';
        const time = document.createElement('span');
        time.className = 'time';
        time.textContent = timeFormat.format(t.ts);
        const price = document.createElement('span');
        price.className = 'price';
        price.textContent = formatPrice(t.price, this.decimals);
        const size = document.createElement('span');
        size.className = 'size';
        size.textContent = formatVolume(t.size);
        row.append(time, price, size);
        return row;
      }),
    );
  }

  private renderRange(): void {
    const q = this.quote;
    this.el.low.textContent = q ? formatPrice(q.low, this.decimals) : DASH;
    this.el.high.textContent = q ? formatPrice(q.high, this.decimals) : DASH;
    const span = q ? q.high - q.low : 0;
    if (!q || !(span > 0)) {
      this.el.fill.style.left = '0%';
      this.el.fill.style.width = '0%';
      this.el.mark.style.left = '50%';
      return;
    }
    const at = (v: number) => `${Math.min(100, Math.max(0, ((v - q.low) / span) * 100)).toFixed(1)}%`;
    // The fill runs from the open to the last price: up or down on the day at a glance.
    const from = Math.min(q.open, q.last);
    const to = Math.max(q.open, q.last);
    this.el.fill.style.left = at(from);
    this.el.fill.style.width = `${Math.max(0, ((to - from) / span) * 100).toFixed(1)}%`;
    this.el.mark.style.left = at(q.last);
  }
}
