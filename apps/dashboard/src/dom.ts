import type { QuoteHeaderElements } from './quote-header';
import type { StatusElements } from './status-view';
import type { TapeElements } from './tape-view';

/** The elements of index.html the dashboard drives, looked up once. */
export interface Dom {
  rows: HTMLElement;
  empty: HTMLElement;
  count: HTMLElement;
  chart: HTMLElement;
  header: QuoteHeaderElements;
  tape: TapeElements;
  status: StatusElements;
  searchInput: HTMLInputElement;
  searchResults: HTMLElement;
  rateButtons: HTMLButtonElement[];
  modeButtons: HTMLButtonElement[];
  barButtons: HTMLButtonElement[];
  help: HTMLElement;
  helpButton: HTMLButtonElement;
  toast: HTMLElement;
}

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html lacks #${id}`);
  return el as T;
}

function all(selector: string): HTMLButtonElement[] {
  return [...document.querySelectorAll<HTMLButtonElement>(selector)];
}

export function findDom(): Dom {
  return {
    rows: byId('rows'),
    empty: byId('empty'),
    count: byId('count'),
    chart: byId('chart'),
    header: {
      symbol: byId('q-symbol'),
      name: byId('q-name'),
      last: byId('q-last'),
      change: byId('q-change'),
      bid: byId('q-bid'),
      ask: byId('q-ask'),
      spread: byId('q-spread'),
      open: byId('q-open'),
      high: byId('q-high'),
      low: byId('q-low'),
    },
    tape: {
      root: byId('tape'),
      symbol: byId('tape-symbol'),
      rows: byId('tape-rows'),
      low: byId('range-low'),
      high: byId('range-high'),
      fill: byId('range-fill'),
      mark: byId('range-mark'),
    },
    status: {
      root: byId('status'),
      label: byId('status-label'),
      rtt: byId('status-rtt'),
      rate: byId('status-rate'),
      server: byId('status-server'),
      banner: byId('banner'),
      bannerText: byId('banner-text'),
    },
    searchInput: byId<HTMLInputElement>('search'),
    searchResults: byId('search-results'),
    rateButtons: all('[data-hz]'),
    modeButtons: all('[data-mode]'),
    barButtons: all('[data-seconds]'),
    help: byId('help'),
    helpButton: byId<HTMLButtonElement>('help-button'),
    toast: byId('toast'),
  };
}
