import type { Quote } from '@tickhub/protocol';
import { DASH, formatChange, formatPercent, formatPrice } from './format';

export interface QuoteHeaderElements {
  symbol: HTMLElement;
  name: HTMLElement;
  last: HTMLElement;
  change: HTMLElement;
  bid: HTMLElement;
  ask: HTMLElement;
  spread: HTMLElement;
  open: HTMLElement;
  high: HTMLElement;
  low: HTMLElement;
}

/** The lines above the chart: the selected symbol's last price, change, spread and day range. */
export class QuoteHeader {
  private quote: Quote | undefined;
  private decimals = 2;
  private dirty = false;
  private previousLast: number | undefined;

  constructor(private readonly el: QuoteHeaderElements) {}

  show(symbol: string | null, name: string, decimals: number, quote: Quote | undefined): void {
    this.el.symbol.textContent = symbol ?? DASH;
    this.el.name.textContent = name;
    this.decimals = decimals;
    this.quote = quote;
    this.previousLast = undefined;
    this.el.last.classList.remove('up', 'down');
    this.dirty = true;
    this.flush();
  }

  update(quote: Quote): void {
    this.quote = quote;
    this.dirty = true;
  }

  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const q = this.quote;
    const d = this.decimals;
    const change = q?.open ? q.last - q.open : undefined;
    set(this.el.last, formatPrice(q?.last, d));
    set(
      this.el.change,
      `${formatChange(change, d)}  ${formatPercent(change !== undefined && q ? (change / q.open) * 100 : undefined)}`,
    );
    this.el.change.classList.toggle('pos', change !== undefined && change > 0);
    this.el.change.classList.toggle('neg', change !== undefined && change < 0);
    set(this.el.bid, formatPrice(q?.bid, d));
    set(this.el.ask, formatPrice(q?.ask, d));
    set(this.el.spread, q ? formatPrice(q.ask - q.bid, d) : DASH);
    set(this.el.open, formatPrice(q?.open, d));
    set(this.el.high, formatPrice(q?.high, d));
    set(this.el.low, formatPrice(q?.low, d));
    if (q && this.previousLast !== undefined && q.last !== this.previousLast) {
      this.el.last.classList.toggle('up', q.last > this.previousLast);
      this.el.last.classList.toggle('down', q.last < this.previousLast);
    }
    this.previousLast = q?.last;
  }
}

function set(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}
