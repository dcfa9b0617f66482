import {
  DEFAULT_SYMBOLS,
  defaultSettings,
  type KeyValueStore,
  loadSettings,
  moveSymbol,
  moveTo,
  STORAGE_KEY,
  saveSettings,
} from '../src/settings';

class MemoryStore implements KeyValueStore {
  readonly data = new Map<string, string>();
  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.data.set(key, value);
  }
}

describe('settings', () => {
  it('starts with the default watchlist on a first visit', () => {
    const { settings, firstVisit } = loadSettings(new MemoryStore());
    expect(firstVisit).toBe(true);
    expect(settings.symbols).toEqual(DEFAULT_SYMBOLS);
    expect(DEFAULT_SYMBOLS).toEqual(expect.arrayContaining(['AAPL', 'EURUSD', 'BTCUSD']));
  });

  it('round-trips through storage', () => {
    const store = new MemoryStore();
    const saved = { ...defaultSettings(), symbols: ['MSFT', 'AAPL'], maxHz: 10, selected: 'AAPL' };
    saveSettings(store, saved);
    expect(loadSettings(store)).toEqual({ settings: saved, firstVisit: false });
  });

  it('keeps valid fields and replaces invalid ones', () => {
    const store = new MemoryStore();
    store.setItem(
      STORAGE_KEY,
      JSON.stringify({
        symbols: [' aapl', 'AAPL', 3, '', 'eurusd'],
        maxHz: 7,
        chartMode: 'pie',
        barSeconds: 300,
      }),
    );
    const { settings } = loadSettings(store);
    expect(settings.symbols).toEqual(['AAPL', 'EURUSD']);
    expect(settings.maxHz).toBe(defaultSettings().maxHz);
    expect(settings.chartMode).toBe('candles');
    expect(settings.barSeconds).toBe(300);
  });

  it('survives corrupt JSON and failing storage', () => {
    const store = new MemoryStore();
    store.setItem(STORAGE_KEY, '{nope');
    expect(loadSettings(store).settings).toEqual(defaultSettings());
    const broken: KeyValueStore = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(loadSettings(broken).firstVisit).toBe(true);
    expect(() => saveSettings(broken, defaultSettings())).not.toThrow();
  });

  it('reorders symbols', () => {
    const list = ['A', 'B', 'C', 'D'];
    expect(moveSymbol(list, 'C', -1)).toEqual(['A', 'C', 'B', 'D']);
    expect(moveSymbol(list, 'A', -1)).toEqual(list);
    expect(moveSymbol(list, 'D', 5)).toEqual(list);
    expect(moveTo(list, 'A', 3)).toEqual(['B', 'C', 'D', 'A']);
    expect(moveTo(list, 'X', 0)).toEqual(list);
  });
});
