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
import { aggregate, type Bar, type BarHistory, latestAggregate } from './bars';
import type { ChartMode } from './settings';
import { theme } from './theme';

/**
 * The chart of the selected symbol, drawn from the one-second bars the page builds out of updates.
 * Updates only mark it dirty; `flush` pushes at most one bar per series per animation frame.
 */
export class ChartView {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<'Candlestick'>;
  private readonly area: ISeriesApi<'Area'>;
  private readonly volume: ISeriesApi<'Histogram'>;
  private symbol: string | null = null;
  private dirty = false;
  private points = 0;
  private lastTime = -1;
  // The chart library works in UTC; shifting by the local offset makes its axis read local time.
  private readonly tzShift = -new Date().getTimezoneOffset() * 60;

  constructor(
    private readonly container: HTMLElement,
    private readonly history: (symbol: string) => BarHistory | undefined,
    private mode: ChartMode,
    private barSeconds: number,
  ) {
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
        rightOffset: 6,
        barSpacing: 10,
        minBarSpacing: 2,
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

  /** Shows `symbol` with prices at `decimals`; redraws its whole history. */
  show(symbol: string | null, decimals: number): void {
    this.symbol = symbol;
    const minMove = 10 ** -decimals;
    this.candles.applyOptions({ priceFormat: { type: 'price', precision: decimals, minMove } });
    this.area.applyOptions({ priceFormat: { type: 'price', precision: decimals, minMove } });
    this.reload();
    this.chart.timeScale().scrollToRealTime();
  }

  setMode(mode: ChartMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.applyMode();
    this.reload();
  }

  setBarSeconds(seconds: number): void {
    if (seconds === this.barSeconds) return;
    this.barSeconds = seconds;
    this.reload();
    this.chart.timeScale().scrollToRealTime();
  }

  /** Notes that `symbol` has a new update; cheap, called for every quote. */
  touched(symbol: string): void {
    if (symbol === this.symbol) this.dirty = true;
  }

  /** Pushes the latest bar of the shown symbol, at most once per frame. */
  flush(): void {
    if (!this.dirty || !this.symbol) return;
    this.dirty = false;
    const bars = this.history(this.symbol)?.bars;
    if (!bars || bars.length === 0) return;
    const bar = latestAggregate(bars, this.barSeconds);
    if (!bar) return;
    if (bar.time + this.tzShift < this.lastTime) return;
    if (this.points === 0) {
      this.reload();
      return;
    }
    this.pushBar(bar);
  }

  /** How many bars the chart holds: lets tests and the status line tell that it draws. */
  get pointCount(): number {
    return this.points;
  }

  private pushBar(bar: Bar): void {
    const time = (bar.time + this.tzShift) as UTCTimestamp;
    if (time > this.lastTime) this.points++;
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
    this.container.dataset.points = String(this.points);
  }

  private reload(): void {
    const bars = this.symbol ? aggregate(this.history(this.symbol)?.bars ?? [], this.barSeconds) : [];
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
    this.points = bars.length;
    const last = bars[bars.length - 1];
    this.lastTime = last ? last.time + shift : -1;
    this.container.dataset.points = String(this.points);
    this.container.dataset.symbol = this.symbol ?? '';
  }

  private applyMode(): void {
    this.candles.applyOptions({ visible: this.mode === 'candles' });
    this.area.applyOptions({ visible: this.mode === 'line' });
  }
}
