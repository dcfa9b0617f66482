import type { Candle, Quote, Timeframe } from '@tickhub/protocol';
import {
  AreaSeries,
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  createChart,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  LineStyle,
  type UTCTimestamp,
} from 'lightweight-charts';
import { type Bar, LiveBars } from './bars';
import { formatPrice } from './format';
import { type ChartMode, timeframeOf } from './settings';
import { theme } from './theme';

/** Candles asked for on every load: a screen and a half of history to scroll back into. */
const HISTORY_LIMIT = 300;
/** Width a candle gets on first draw; the visible range is the newest candles that fill the chart. */
const BAR_SPACING = 8;
/** Updates kept while a history request is in flight (the newest win). */
const MAX_BUFFERED = 2000;

export type HistoryLoader = (symbol: string, tf: Timeframe, limit: number) => Promise<Candle[]>;

/**
 * The chart of the selected symbol: candle history from the gateway on open, on a symbol or
 * timeframe change and on reload, extended live from its updates. Updates only mark it dirty;
 * `flush` pushes at most one bar per series per animation frame.
 */
export class ChartView {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<'Candlestick'>;
  private readonly area: ISeriesApi<'Area'>;
  private readonly volume: ISeriesApi<'Histogram'>;
  private symbol: string | null = null;
  private bars: LiveBars;
  /** Bumped by every load, so that an answer for a previous symbol or timeframe is dropped. */
  private generation = 0;
  private loading = false;
  private buffered: Quote[] = [];
  private changed: Bar | undefined;
  private lastTime = -1;
  // The chart library works in UTC; shifting by the local offset makes its axis read local time.
  private readonly tzShift = -new Date().getTimezoneOffset() * 60;

  constructor(
    private readonly container: HTMLElement,
    private readonly loadHistory: HistoryLoader,
    private mode: ChartMode,
    private barSeconds: number,
    private readonly onError: (message: string) => void,
  ) {
    this.bars = new LiveBars(barSeconds);
    this.chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: theme.panel },
        textColor: theme.muted,
        fontFamily: theme.monoFont,
        fontSize: 11,
      },
      grid: { vertLines: { color: theme.grid }, horzLines: { color: theme.grid } },
      crosshair: {
        mode: CrosshairMode.Normal,
        vertLine: { color: theme.crosshair, style: LineStyle.Dashed, labelBackgroundColor: theme.raised },
        horzLine: { color: theme.crosshair, style: LineStyle.Dashed, labelBackgroundColor: theme.raised },
      },
      rightPriceScale: { borderColor: theme.border, scaleMargins: { top: 0.08, bottom: 0.22 } },
      timeScale: {
        borderColor: theme.border,
        timeVisible: true,
        secondsVisible: true,
        rightOffset: 4,
        barSpacing: BAR_SPACING,
        minBarSpacing: 1,
      },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: theme.up,
      downColor: theme.down,
      borderUpColor: theme.up,
      borderDownColor: theme.down,
      wickUpColor: theme.up,
      wickDownColor: theme.down,
      priceLineStyle: LineStyle.Dotted,
    });
    this.area = this.chart.addSeries(AreaSeries, {
      lineColor: theme.accent,
      topColor: theme.accentFill,
      bottomColor: 'rgba(0,0,0,0)',
      lineWidth: 2,
      priceLineStyle: LineStyle.Dotted,
      priceLineColor: theme.accent,
    });
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceScaleId: 'volume',
      priceFormat: { type: 'volume' },
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.82, bottom: 0 }, visible: false });
    this.applyMode();
  }

  /**
   * Shows `symbol` with prices at `decimals` (the watchlist's grouping on the axis too); loads its
   * history unless it is shown already.
   */
  show(symbol: string | null, decimals: number): void {
    const minMove = 10 ** -decimals;
    this.candles.applyOptions({ priceFormat: { type: 'price', precision: decimals, minMove } });
    this.area.applyOptions({ priceFormat: { type: 'price', precision: decimals, minMove } });
    this.chart.applyOptions({ localization: { priceFormatter: (p: number) => formatPrice(p, decimals) } });
    if (symbol === this.symbol && this.generation > 0) return;
    this.symbol = symbol;
    this.load();
  }

  setMode(mode: ChartMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.applyMode();
    this.draw();
  }

  setBarSeconds(seconds: number): void {
    if (seconds === this.barSeconds) return;
    this.barSeconds = seconds;
    this.load();
  }

  /** An update of any symbol; cheap, called for every quote. */
  quote(quote: Quote): void {
    if (quote.symbol !== this.symbol) return;
    if (this.loading) {
      this.buffered.push(quote);
      if (this.buffered.length > MAX_BUFFERED) this.buffered.splice(0, this.buffered.length - MAX_BUFFERED);
      return;
    }
    const bar = this.bars.add(quote.ts, quote.last, quote.volume);
    if (bar) this.changed = bar;
  }

  /** Pushes the bar updates changed, at most once per frame. */
  flush(): void {
    const bar = this.changed;
    if (!bar) return;
    this.changed = undefined;
    this.pushBar(bar);
  }

  /** How many bars the chart holds: lets tests and the status line tell that it draws. */
  get pointCount(): number {
    return this.bars.size;
  }

  /** (Re)loads the history of the shown symbol and timeframe; the chart is empty until it comes. */
  private load(): void {
    const generation = ++this.generation;
    this.bars = new LiveBars(this.barSeconds);
    this.buffered = [];
    this.changed = undefined;
    this.draw();
    const symbol = this.symbol;
    const tf = timeframeOf(this.barSeconds);
    if (symbol === null || tf === undefined) {
      this.loading = false;
      return;
    }
    this.loading = true;
    this.container.dataset.loading = 'true';
    this.loadHistory(symbol, tf, HISTORY_LIMIT).then(
      (candles) => {
        if (generation !== this.generation) return;
        this.bars.load(candles);
        this.loaded();
      },
      (error: unknown) => {
        if (generation !== this.generation) return;
        // Live updates still draw; the history comes with the next symbol or timeframe change.
        this.onError(`No history for ${symbol}: ${error instanceof Error ? error.message : String(error)}`);
        this.loaded();
      },
    );
  }

  private loaded(): void {
    this.loading = false;
    delete this.container.dataset.loading;
    for (const q of this.buffered) this.bars.add(q.ts, q.last, q.volume);
    this.buffered = [];
    this.draw();
    // A full screen of the newest candles, whatever the width of the chart.
    const n = this.bars.size;
    const visible = Math.max(20, Math.floor(this.container.clientWidth / BAR_SPACING));
    if (n > 0) this.chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, n - visible), to: n + 3 });
  }

  private pushBar(bar: Bar): void {
    const time = (bar.time + this.tzShift) as UTCTimestamp;
    if (time < this.lastTime) return;
    this.lastTime = time;
    if (this.mode === 'candles') {
      this.candles.update({ time, open: bar.open, high: bar.high, low: bar.low, close: bar.close });
    } else {
      this.area.update({ time, value: bar.close });
    }
    this.volume.update({
      time,
      value: bar.volume,
      color: bar.close >= bar.open ? theme.upVolume : theme.downVolume,
    });
    this.container.dataset.points = String(this.bars.size);
  }

  private draw(): void {
    const bars = this.bars.bars;
    const shift = this.tzShift;
    if (this.mode === 'candles') {
      this.candles.setData(
        bars.map((b) => ({
          time: (b.time + shift) as UTCTimestamp,
          open: b.open,
          high: b.high,
          low: b.low,
          close: b.close,
        })),
      );
      this.area.setData([]);
    } else {
      this.area.setData(bars.map((b) => ({ time: (b.time + shift) as UTCTimestamp, value: b.close })));
      this.candles.setData([]);
    }
    this.volume.setData(
      bars.map((b) => ({
        time: (b.time + shift) as UTCTimestamp,
        value: b.volume,
        color: b.close >= b.open ? theme.upVolume : theme.downVolume,
      })),
    );
    const last = bars[bars.length - 1];
    this.lastTime = last ? last.time + shift : -1;
    this.container.dataset.points = String(bars.length);
    this.container.dataset.symbol = this.symbol ?? '';
    this.container.dataset.seconds = String(this.barSeconds);
  }

  private applyMode(): void {
    this.candles.applyOptions({ visible: this.mode === 'candles' });
    this.area.applyOptions({ visible: this.mode === 'line' });
  }
}
