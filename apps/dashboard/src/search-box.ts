import type { SymbolInfo } from '@tickhub/protocol';
import { normalizeSymbol } from './settings';
import { searchSymbols } from './symbol-search';

const ASSET_LABEL = { equity: 'EQ', fx: 'FX', crypto: 'CR' } as const;

export interface SearchSource {
  universe(): readonly SymbolInfo[];
  has(symbol: string): boolean;
  add(symbol: string): void;
}

/** Type-ahead over the symbol universe: ↑/↓ to move, Enter to add, Esc to leave. */
export class SearchBox {
  private results: SymbolInfo[] = [];
  private active = 0;

  constructor(
    private readonly input: HTMLInputElement,
    private readonly list: HTMLElement,
    private readonly source: SearchSource,
  ) {
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', list.id);
    input.setAttribute('aria-expanded', 'false');
    input.addEventListener('input', () => this.update());
    input.addEventListener('focus', () => this.update());
    input.addEventListener('blur', () => this.close());
    input.addEventListener('keydown', (e) => this.onKey(e));
    // mousedown, not click: the pick must happen before the input's blur closes the list.
    list.addEventListener('mousedown', (e) => {
      const option = e.target instanceof Element ? e.target.closest<HTMLElement>('.opt') : null;
      if (!option?.dataset.symbol) return;
      e.preventDefault();
      this.pick(option.dataset.symbol);
    });
  }

  focus(): void {
    this.input.focus();
    this.input.select();
  }

  /** Re-runs the search, e.g. when the universe arrives while the list is open. */
  refresh(): void {
    if (document.activeElement === this.input) this.update();
  }

  private update(): void {
    this.results = searchSymbols(this.source.universe(), this.input.value, 8);
    this.active = Math.max(
      0,
      this.results.findIndex((r) => !this.source.has(r.symbol)),
    );
    this.render();
  }

  private render(): void {
    const query = this.input.value.trim();
    if (this.results.length === 0 && query.length > 0 && this.source.universe().length > 0) {
      // Said, not left blank: an empty list reads as "still loading" or "broken".
      const none = document.createElement('div');
      none.className = 'none';
      none.setAttribute('role', 'status');
      none.textContent = `No results for “${query}”`;
      this.list.replaceChildren(none);
      this.list.hidden = false;
      this.input.setAttribute('aria-expanded', 'false');
      this.input.removeAttribute('aria-activedescendant');
      return;
    }
    const items = this.results.map((info, i) => {
      const option = document.createElement('div');
      option.className = 'opt';
      option.dataset.symbol = info.symbol;
      option.id = `search-opt-${i}`;
      option.setAttribute('role', 'option');
      if (i === this.active) {
        option.classList.add('active');
        option.setAttribute('aria-selected', 'true');
      }
      const added = this.source.has(info.symbol);
      if (added) option.classList.add('added');
      const ticker = document.createElement('span');
      ticker.className = 'ticker';
      ticker.textContent = info.symbol;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = info.name;
      const tag = document.createElement('span');
      tag.className = `tag tag-${info.assetClass}`;
      tag.textContent = added ? 'added' : ASSET_LABEL[info.assetClass];
      option.append(ticker, name, tag);
      return option;
    });
    this.list.replaceChildren(...items);
    const open = items.length > 0;
    this.list.hidden = !open;
    this.input.setAttribute('aria-expanded', String(open));
    if (open) this.input.setAttribute('aria-activedescendant', `search-opt-${this.active}`);
    else this.input.removeAttribute('aria-activedescendant');
  }

  private close(): void {
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
  }

  private onKey(e: KeyboardEvent): void {
    switch (e.key) {
      case 'ArrowDown':
      case 'ArrowUp': {
        e.preventDefault();
        if (this.results.length === 0) return;
        const step = e.key === 'ArrowDown' ? 1 : -1;
        this.active = (this.active + step + this.results.length) % this.results.length;
        this.render();
        return;
      }
      case 'Enter': {
        e.preventDefault();
        const choice = this.results[this.active]?.symbol ?? normalizeSymbol(this.input.value);
        if (choice) this.pick(choice);
        return;
      }
      case 'Escape':
        e.preventDefault();
        this.input.value = '';
        this.input.blur();
        return;
    }
  }

  /** Adds the symbol and closes the list, so that it never hides the row that was just added. */
  private pick(symbol: string): void {
    this.source.add(symbol);
    this.input.value = '';
    this.results = [];
    this.close();
  }
}
