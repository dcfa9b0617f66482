import type { Quote } from '@tickhub/protocol';
import {
  DASH,
  direction,
  formatChange,
  formatPercent,
  formatPrice,
  formatRate,
  formatVolume,
  priceDecimals,
  type SymbolMeta,
} from './format';

export interface WatchlistActions {
  select(symbol: string): void;
  remove(symbol: string): void;
  moveTo(symbol: string, index: number): void;
}

/** Columns whose text changes with quotes, in display order. */
const Col = { Bid: 0, Ask: 1, Last: 2, Change: 3, Percent: 4, Volume: 5, Rate: 6 } as const;
type Col = (typeof Col)[keyof typeof Col];
type PriceCol = typeof Col.Bid | typeof Col.Ask | typeof Col.Last;
const VALUE_COLUMNS = ['bid', 'ask', 'last', 'chg', 'pct', 'vol', 'hz'] as const;
/** Price cells that flash on a move. */
const FLASHING: readonly PriceCol[] = [Col.Bid, Col.Ask, Col.Last];
export const FLASH_MS = 300;

interface Row {
  symbol: string;
  el: HTMLElement;
  nameEl: HTMLElement;
  cells: HTMLElement[];
  /** One text node per value cell: writing `.data` skips the parsing `textContent` would do. */
  texts: Text[];
  quote: Quote | undefined;
  decimals: number | undefined;
  /** Last rendered bid, ask and last, to tell the direction of the next move. */
  shown: [number | undefined, number | undefined, number | undefined];
  /** Time until which each flashing cell keeps its flash class (0: not flashing). */
  flashUntil: [number, number, number];
  sign: -1 | 0 | 1;
  tick: -1 | 0 | 1;
  updates: number;
  rate: number;
}

/**
 * The watchlist table. Quotes only mark their row dirty; `flush`, called once per animation frame,
 * writes the text of the cells that changed and toggles flash classes — never a rebuild of the
 * table, so a hundred symbols at 10 Hz cost a few hundred text writes per frame at most.
 */
export class WatchlistView {
  private readonly rows = new Map<string, Row>();
  private order: string[] = [];
  private readonly dirty = new Set<Row>();
  private readonly flashing = new Set<Row>();
  private selectedSymbol: string | null = null;
  private dragging: string | null = null;

  constructor(
    private readonly body: HTMLElement,
    private readonly empty: HTMLElement,
    private readonly meta: (symbol: string) => SymbolMeta | undefined,
    private readonly actions: WatchlistActions,
  ) {
    body.addEventListener('click', (e) => this.onClick(e));
    body.addEventListener('mouseleave', () => this.clearGaps());
    body.addEventListener('dragstart', (e) => this.onDragStart(e));
    body.addEventListener('dragover', (e) => this.onDragOver(e));
    body.addEventListener('dragleave', () => this.clearDropMarks());
    body.addEventListener('drop', (e) => this.onDrop(e));
    body.addEventListener('dragend', () => {
      this.dragging = null;
      this.clearDropMarks();
    });
  }

  get symbols(): readonly string[] {
    return this.order;
  }

  get selected(): string | null {
    return this.selectedSymbol;
  }

  /** Makes the rows match `symbols` in that order, keeping the state of rows that stay. */
  setSymbols(symbols: readonly string[]): void {
    this.clearGaps();
    const wanted = new Set(symbols);
    for (const [symbol, row] of this.rows) {
      if (!wanted.has(symbol)) {
        row.el.remove();
        this.rows.delete(symbol);
        this.dirty.delete(row);
        this.flashing.delete(row);
      }
    }
    symbols.forEach((symbol, index) => {
      let row = this.rows.get(symbol);
      if (!row) {
        row = this.createRow(symbol);
        this.rows.set(symbol, row);
      }
      // Only touch the DOM where the order differs, so a reorder moves one row, not all of them.
      if (this.body.children[index] !== row.el)
        this.body.insertBefore(row.el, this.body.children[index] ?? null);
    });
    this.order = [...symbols];
    this.empty.hidden = symbols.length > 0;
  }

  select(symbol: string | null): void {
    if (this.selectedSymbol === symbol) return;
    const previous = this.selectedSymbol ? this.rows.get(this.selectedSymbol) : undefined;
    if (previous) {
      previous.el.classList.remove('sel');
    }
    this.selectedSymbol = symbol;
    const row = symbol ? this.rows.get(symbol) : undefined;
    if (row) {
      row.el.classList.add('sel');
      // Keyboard navigation must keep the selection on screen without scrolling the page.
      row.el.scrollIntoView({ block: 'nearest' });
    }
  }

  /** Records a quote; the row is drawn at the next flush. */
  quote(quote: Quote): void {
    const row = this.rows.get(quote.symbol);
    if (!row) return;
    row.quote = quote;
    row.updates++;
    this.dirty.add(row);
  }

  /** Clears a row's quote, e.g. when the feed rejected the symbol. */
  markUnavailable(symbol: string, reason: string): void {
    const row = this.rows.get(symbol);
    if (!row) return;
    row.el.classList.add('unavailable');
    row.el.title = reason;
  }

  /** Re-reads names and decimals, once the symbol universe is known. */
  refreshMeta(): void {
    for (const row of this.rows.values()) {
      this.applyMeta(row);
      row.decimals = undefined;
      row.shown = [undefined, undefined, undefined];
      this.dirty.add(row);
    }
  }

  /** Turns the update counts of the last `elapsedMs` into per-symbol rates. */
  sampleRates(elapsedMs: number): void {
    for (const row of this.rows.values()) {
      const measured = (row.updates * 1000) / elapsedMs;
      row.updates = 0;
      // Light smoothing so that the column reads steadily rather than jumping between 9 and 11.
      const next = row.rate === 0 ? measured : row.rate * 0.5 + measured * 0.5;
      const rounded = next < 0.05 ? 0 : next;
      if (rounded !== row.rate) {
        row.rate = rounded;
        this.dirty.add(row);
      }
    }
  }

  quoteOf(symbol: string): Quote | undefined {
    return this.rows.get(symbol)?.quote;
  }

  decimalsOf(symbol: string): number {
    const row = this.rows.get(symbol);
    if (row?.decimals !== undefined) return row.decimals;
    const q = row?.quote;
    return priceDecimals(this.meta(symbol), q ? q.open || q.last : 0);
  }

  /** Draws the dirty rows; returns true while flashes still need frames to end. */
  flush(now: number): boolean {
    for (const row of this.dirty) this.render(row, now);
    this.dirty.clear();
    for (const row of this.flashing) {
      let active = false;
      for (const col of FLASHING) {
        const until = row.flashUntil[col];
        if (until === 0) continue;
        if (until <= now) {
          row.flashUntil[col] = 0;
          (row.cells[col] as HTMLElement).classList.remove('fu', 'fd');
        } else active = true;
      }
      if (!active) this.flashing.delete(row);
    }
    return this.flashing.size > 0;
  }

  private render(row: Row, now: number): void {
    const q = row.quote;
    if (q) {
      if (row.decimals === undefined) row.decimals = priceDecimals(this.meta(row.symbol), q.open || q.last);
      const d = row.decimals;
      this.renderPrice(row, Col.Bid, q.bid, d, now);
      this.renderPrice(row, Col.Ask, q.ask, d, now);
      this.renderPrice(row, Col.Last, q.last, d, now);
      const change = q.open ? q.last - q.open : undefined;
      const percent = change !== undefined && q.open ? (change / q.open) * 100 : undefined;
      setText(row, Col.Change, formatChange(change, d));
      setText(row, Col.Percent, formatPercent(percent));
      setText(row, Col.Volume, formatVolume(q.volume));
      const sign = change === undefined || Math.abs(change) < 0.5 * 10 ** -d ? 0 : change > 0 ? 1 : -1;
      if (sign !== row.sign) {
        row.sign = sign;
        for (const col of [Col.Change, Col.Percent]) {
          const cell = row.cells[col] as HTMLElement;
          cell.classList.toggle('pos', sign > 0);
          cell.classList.toggle('neg', sign < 0);
        }
      }
    }
    setText(row, Col.Rate, formatRate(row.rate));
  }

  private renderPrice(row: Row, col: PriceCol, value: number, d: number, now: number): void {
    const previous = row.shown[col];
    if (previous === value) return;
    row.shown[col] = value;
    setText(row, col, formatPrice(value, d));
    const dir = direction(previous, value);
    if (dir === 0) return;
    const cell = row.cells[col] as HTMLElement;
    cell.classList.toggle('fu', dir > 0);
    cell.classList.toggle('fd', dir < 0);
    row.flashUntil[col] = now + FLASH_MS;
    this.flashing.add(row);
    if (col === Col.Last && dir !== row.tick) {
      row.tick = dir;
      cell.classList.toggle('up', dir > 0);
      cell.classList.toggle('down', dir < 0);
    }
  }

  private createRow(symbol: string): Row {
    const el = document.createElement('div');
    el.className = 'row';
    el.dataset.symbol = symbol;
    el.draggable = true;

    const handle = cell('grip', '⋮⋮');
    handle.title = 'Drag to reorder (Alt+↑/↓)';
    handle.setAttribute('aria-hidden', 'true');
    const sym = cell('sym', '');
    const ticker = document.createElement('span');
    ticker.className = 'ticker';
    ticker.textContent = symbol;
    const nameEl = document.createElement('span');
    nameEl.className = 'name';
    sym.append(ticker, nameEl);
    el.append(handle, sym);

    const cells: HTMLElement[] = [];
    const texts: Text[] = [];
    for (const name of VALUE_COLUMNS) {
      const valueCell = cell(`num c-${name}`, '');
      const text = document.createTextNode(DASH);
      valueCell.append(text);
      cells.push(valueCell);
      texts.push(text);
      el.append(valueCell);
    }
    const actions = cell('act', '');
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'rm';
    remove.title = `Remove ${symbol} (Del)`;
    remove.setAttribute('aria-label', `Remove ${symbol}`);
    remove.textContent = '×';
    actions.append(remove);
    el.append(actions);

    const row: Row = {
      symbol,
      el,
      nameEl,
      cells,
      texts,
      quote: undefined,
      decimals: undefined,
      shown: [undefined, undefined, undefined],
      flashUntil: [0, 0, 0],
      sign: 0,
      tick: 0,
      updates: 0,
      rate: 0,
    };
    this.applyMeta(row);
    if (symbol === this.selectedSymbol) el.classList.add('sel');
    return row;
  }

  private applyMeta(row: Row): void {
    const meta = this.meta(row.symbol);
    row.nameEl.textContent = meta?.name ?? '';
    row.el.title = meta?.name ? `${row.symbol} · ${meta.name}` : row.symbol;
    if (meta?.assetClass) row.el.dataset.asset = meta.assetClass;
  }

  private rowSymbol(target: EventTarget | null): string | undefined {
    const row = target instanceof Element ? target.closest<HTMLElement>('.row') : null;
    return row?.dataset.symbol;
  }

  private onClick(e: MouseEvent): void {
    const symbol = this.rowSymbol(e.target);
    if (!symbol) return;
    if (e.target instanceof Element && e.target.closest('.rm')) {
      this.removeUnderPointer(symbol);
      return;
    }
    this.actions.select(symbol);
  }

  /**
   * Removes a row the pointer clicked away, leaving a gap of its height until the pointer leaves the
   * list: the next row never slides under the × and takes a second click meant for the first.
   */
  private removeUnderPointer(symbol: string): void {
    const el = this.rows.get(symbol)?.el;
    const height = el?.offsetHeight ?? 0;
    const next = el?.nextElementSibling ?? null;
    this.actions.remove(symbol);
    if (!el || height === 0 || this.rows.has(symbol)) return;
    const gap = document.createElement('div');
    gap.className = 'row-gap';
    gap.style.height = `${height}px`;
    this.body.insertBefore(gap, next?.isConnected ? next : null);
  }

  private clearGaps(): void {
    for (const gap of this.body.querySelectorAll('.row-gap')) gap.remove();
  }

  private onDragStart(e: DragEvent): void {
    const symbol = this.rowSymbol(e.target);
    if (!symbol || !e.dataTransfer) return;
    this.dragging = symbol;
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', symbol);
  }

  private onDragOver(e: DragEvent): void {
    const symbol = this.rowSymbol(e.target);
    if (!this.dragging || !symbol) return;
    e.preventDefault();
    const rowEl = this.rows.get(symbol)?.el;
    if (!rowEl) return;
    const rect = rowEl.getBoundingClientRect();
    const after = e.clientY > rect.top + rect.height / 2;
    this.clearDropMarks();
    rowEl.classList.add(after ? 'drop-after' : 'drop-before');
  }

  private onDrop(e: DragEvent): void {
    const target = this.rowSymbol(e.target);
    const dragged = this.dragging;
    this.dragging = null;
    this.clearDropMarks();
    if (!dragged || !target || dragged === target) return;
    e.preventDefault();
    const rowEl = this.rows.get(target)?.el;
    if (!rowEl) return;
    const rect = rowEl.getBoundingClientRect();
    const after = e.clientY > rect.top + rect.height / 2;
    const without = this.order.filter((s) => s !== dragged);
    const index = without.indexOf(target) + (after ? 1 : 0);
    this.actions.moveTo(dragged, index);
  }

  private clearDropMarks(): void {
    for (const el of this.body.querySelectorAll('.drop-before, .drop-after')) {
      el.classList.remove('drop-before', 'drop-after');
    }
  }
}

function setText(row: Row, col: Col, text: string): void {
  const node = row.texts[col] as Text;
  if (node.data !== text) node.data = text;
}

function cell(className: string, text: string): HTMLElement {
  const div = document.createElement('div');
  div.className = `c ${className}`;
  if (text) div.textContent = text;
  return div;
}
