import type { AssetClass, Quote, SymbolInfo } from '@tickhub/protocol';
import { hashString, Rng } from './rng';
import { createUniverse, DEFAULT_UNIVERSE_SIZE, referencePrice } from './universe';

export interface MarketOptions {
  /** Same seed and same sequence of `now` values give the same ticks. Default 1. */
  seed?: number;
  /** The symbols to simulate, or the size of a `createUniverse` universe. Default 500. */
  symbols?: SymbolInfo[] | number;
  /** Time of the initial state (ms since the epoch); by default each symbol's clock starts at its first tick. */
  startTime?: number;
  /** Exponent s of the Zipf law giving symbol `k` (0-based) an activity of 1/(k+1)^s. Default 1.1. */
  zipfExponent?: number;
  /**
   * `seq` of each symbol's first tick (a positive safe integer). Default 1. A long-running source
   * starts from `firstSeqAt(Date.now())` of `@tickhub/protocol` so that a restart never goes back.
   */
  firstSeq?: number;
}

export const DEFAULT_ZIPF_EXPONENT = 1.1;

const DAY_MS = 86_400_000;
const SECONDS_PER_YEAR_EQUITY = 252 * 6.5 * 3600; // trading seconds
const SECONDS_PER_YEAR_ALWAYS_OPEN = 365 * 86_400;
/** A symbol idle for longer moves as if only this much time had passed (no jump after a long pause). */
const MAX_STEP_SECONDS = 300;
/**
 * A calm symbol enters a high-volatility regime on average once in this many seconds of its own time
 * (at ten ticks a second, 0.05 % per tick). Per second, not per tick: a symbol ticking fast would
 * otherwise live in regimes, and a simulated history run at a lower tick rate (the gateway's warm-up)
 * would look calmer than the live market that follows it.
 */
const REGIME_MEAN_GAP_SECONDS = 200;

interface ClassModel {
  /** Annualised volatility range [min, max); each symbol gets a stable value in it. */
  volMin: number;
  volMax: number;
  secondsPerYear: number;
  /** Chance that a tick is a trade (otherwise it only moves the book). */
  tradeProbability: number;
  /** Typical bid/ask spread in basis points of the price (at least one price increment). */
  spreadBps: number;
}

const MODELS: Readonly<Record<AssetClass, ClassModel>> = {
  equity: {
    volMin: 0.15,
    volMax: 0.6,
    secondsPerYear: SECONDS_PER_YEAR_EQUITY,
    tradeProbability: 0.35,
    spreadBps: 0.5,
  },
  fx: {
    volMin: 0.05,
    volMax: 0.15,
    secondsPerYear: SECONDS_PER_YEAR_ALWAYS_OPEN,
    tradeProbability: 0.15,
    spreadBps: 0.2,
  },
  crypto: {
    volMin: 0.4,
    volMax: 1.2,
    secondsPerYear: SECONDS_PER_YEAR_ALWAYS_OPEN,
    tradeProbability: 0.45,
    spreadBps: 0.5,
  },
};

const CLASS_EQUITY = 0;
const CLASS_FX = 1;
const CLASS_CRYPTO = 2;

function classIndex(assetClass: AssetClass): number {
  if (assetClass === 'fx') return CLASS_FX;
  if (assetClass === 'crypto') return CLASS_CRYPTO;
  return CLASS_EQUITY;
}

/** Decimals of sizes: crypto trades in fractions of a coin, the rest in whole units. */
function sizeDecimalsFor(assetClass: AssetClass, price: number): number {
  if (assetClass !== 'crypto') return 0;
  if (price >= 1000) return 4;
  if (price >= 1) return 2;
  return 0;
}

function checkNow(now: number): void {
  if (!Number.isFinite(now)) throw new RangeError(`now must be a finite time in ms, got ${now}`);
}

function validateSymbols(symbols: readonly SymbolInfo[]): void {
  if (symbols.length === 0) throw new RangeError('a market needs at least one symbol');
  const seen = new Set<string>();
  for (const info of symbols) {
    if (typeof info.symbol !== 'string' || info.symbol.length === 0) {
      throw new RangeError('every symbol needs a non-empty name');
    }
    if (seen.has(info.symbol)) throw new RangeError(`symbol ${info.symbol} appears twice`);
    seen.add(info.symbol);
    if (!Number.isInteger(info.priceDecimals) || info.priceDecimals < 0 || info.priceDecimals > 12) {
      throw new RangeError(`symbol ${info.symbol}: priceDecimals must be an integer in [0, 12]`);
    }
    if (!Object.hasOwn(MODELS, info.assetClass)) {
      throw new RangeError(`symbol ${info.symbol}: unknown asset class ${String(info.assetClass)}`);
    }
  }
}

/**
 * A simulated market. Each symbol follows a geometric Brownian motion (its own volatility, with
 * occasional high-volatility regimes) under a bid/ask book sized for its asset class; some ticks are
 * trades that move last, lastSize, volume and the day's high and low. Which symbol ticks next follows a
 * Zipf law over the symbol order, so a few symbols are far busier than the rest.
 *
 * State lives in typed arrays indexed by symbol: a tick allocates only the Quote it returns.
 */
export class Market {
  readonly symbols: readonly SymbolInfo[];

  private readonly rng: Rng;
  private readonly index = new Map<string, number>();
  private readonly cdf: Float64Array;
  private readonly klass: Uint8Array;
  private readonly priceScale: Float64Array; // 10^priceDecimals
  private readonly sizeScale: Float64Array; // 10^sizeDecimals
  private readonly sigma: Float64Array; // volatility per sqrt(second)
  private readonly tradeProbability: Float64Array;
  private readonly spreadFraction: Float64Array;
  private readonly mid: Float64Array;
  private readonly regime: Float64Array; // volatility multiplier, 1 when calm
  private readonly regimeUntil: Float64Array;
  private readonly lastTs: Float64Array;
  private readonly day: Float64Array;
  private readonly seq: Float64Array;
  // Book and trade state in integer units (price increments, size increments) so that sums stay exact.
  private readonly bidTicks: Float64Array;
  private readonly askTicks: Float64Array;
  private readonly bidSize: Float64Array;
  private readonly askSize: Float64Array;
  private readonly lastTicks: Float64Array;
  private readonly lastSize: Float64Array;
  private readonly volume: Float64Array;
  private readonly openTicks: Float64Array;
  private readonly highTicks: Float64Array;
  private readonly lowTicks: Float64Array;
  private readonly unitNotional: Float64Array; // reference notional of one size unit, for crypto sizing

  constructor(options: MarketOptions = {}) {
    const seed = options.seed ?? 1;
    if (!Number.isFinite(seed)) throw new RangeError('seed must be a finite number');
    const zipf = options.zipfExponent ?? DEFAULT_ZIPF_EXPONENT;
    if (!Number.isFinite(zipf) || zipf < 0) throw new RangeError('zipfExponent must be a finite number >= 0');
    const startTime = options.startTime;
    if (startTime !== undefined && !Number.isFinite(startTime)) {
      throw new RangeError('startTime must be a finite number');
    }
    const firstSeq = options.firstSeq ?? 1;
    if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) {
      throw new RangeError(`firstSeq must be a safe integer >= 1, got ${firstSeq}`);
    }
    const spec = options.symbols ?? DEFAULT_UNIVERSE_SIZE;
    const symbols = typeof spec === 'number' ? createUniverse(spec) : spec.map((s) => ({ ...s }));
    validateSymbols(symbols);
    this.symbols = Object.freeze(symbols.map((s) => Object.freeze(s)));

    this.rng = new Rng(seed);
    const n = symbols.length;
    this.klass = new Uint8Array(n);
    this.priceScale = new Float64Array(n);
    this.sizeScale = new Float64Array(n);
    this.sigma = new Float64Array(n);
    this.tradeProbability = new Float64Array(n);
    this.spreadFraction = new Float64Array(n);
    this.mid = new Float64Array(n);
    this.regime = new Float64Array(n).fill(1);
    this.regimeUntil = new Float64Array(n);
    this.lastTs = new Float64Array(n).fill(startTime ?? Number.NaN);
    this.day = new Float64Array(n).fill(
      startTime === undefined ? Number.NaN : Math.floor(startTime / DAY_MS),
    );
    this.seq = new Float64Array(n).fill(firstSeq - 1);
    this.bidTicks = new Float64Array(n);
    this.askTicks = new Float64Array(n);
    this.bidSize = new Float64Array(n);
    this.askSize = new Float64Array(n);
    this.lastTicks = new Float64Array(n);
    this.lastSize = new Float64Array(n);
    this.volume = new Float64Array(n);
    this.openTicks = new Float64Array(n);
    this.highTicks = new Float64Array(n);
    this.lowTicks = new Float64Array(n);
    this.unitNotional = new Float64Array(n);

    this.cdf = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += 1 / (i + 1) ** zipf;
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += 1 / (i + 1) ** zipf / total;
      this.cdf[i] = acc;
    }
    this.cdf[n - 1] = 1;

    for (let i = 0; i < n; i++) {
      const info = symbols[i]!;
      this.index.set(info.symbol, i);
      const model = MODELS[info.assetClass];
      const price = referencePrice(info);
      const scale = 10 ** info.priceDecimals;
      const sizeDecimals = sizeDecimalsFor(info.assetClass, price);
      this.klass[i] = classIndex(info.assetClass);
      this.priceScale[i] = scale;
      this.sizeScale[i] = 10 ** sizeDecimals;
      const h = hashString(info.symbol) / 4294967296;
      const annualVol = model.volMin + (model.volMax - model.volMin) * h;
      this.sigma[i] = annualVol / Math.sqrt(model.secondsPerYear);
      this.tradeProbability[i] = model.tradeProbability;
      this.spreadFraction[i] = model.spreadBps * 1e-4;
      this.unitNotional[i] = price / this.sizeScale[i]!;
      this.mid[i] = price;
      this.quoteBook(i);
      const lastTicks = Math.max(1, Math.round(price * scale));
      this.lastTicks[i] = lastTicks;
      this.openTicks[i] = lastTicks;
      this.highTicks[i] = lastTicks;
      this.lowTicks[i] = lastTicks;
    }
  }

  /** Advances the symbol picked by activity and returns its new state (a fresh object). */
  nextTick(now: number): Quote {
    checkNow(now);
    return this.advance(this.pick(), now);
  }

  /**
   * `count` ticks at time `now` into `out` (its length becomes `count`). With `weight` > 1 each tick
   * stands for that many (a history simulated at a lower rate than the live market): its trade adds
   * `weight` times its size to the day volume.
   */
  fill(now: number, count: number, out: Quote[], weight = 1): void {
    checkNow(now);
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(`count must be an integer >= 0, got ${count}`);
    }
    if (!(weight >= 1)) throw new RangeError(`weight must be >= 1, got ${weight}`);
    out.length = count;
    for (let i = 0; i < count; i++) out[i] = this.advance(this.pick(), now, weight);
  }

  /** The current state of a symbol (seq `firstSeq - 1` before its first tick), or undefined for an unknown symbol. */
  quote(symbol: string): Quote | undefined {
    const i = this.index.get(symbol);
    if (i === undefined) return undefined;
    const ts = this.lastTs[i]!;
    return this.toQuote(i, Number.isNaN(ts) ? 0 : ts);
  }

  private pick(): number {
    const u = this.rng.float();
    const cdf = this.cdf;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (cdf[m]! > u) hi = m;
      else lo = m + 1;
    }
    return lo;
  }

  /** Rebuilds the book around the mid: spread from the asset class, widened in a volatile regime. */
  private quoteBook(i: number): void {
    const rng = this.rng;
    const scale = this.priceScale[i]!;
    const midTicks = this.mid[i]! * scale;
    const spread = Math.max(
      1,
      Math.round(midTicks * this.spreadFraction[i]! * (1 + rng.float()) * this.regime[i]!),
    );
    let bid = Math.floor(midTicks - spread / 2);
    if (bid < 1) bid = 1;
    this.bidTicks[i] = bid;
    this.askTicks[i] = bid + spread;
    this.bidSize[i] = this.bookSize(i);
    this.askSize[i] = this.bookSize(i);
  }

  /** A resting size in size units. */
  private bookSize(i: number): number {
    const rng = this.rng;
    switch (this.klass[i]) {
      case CLASS_FX:
        return (1 + rng.int(20)) * 1_000_000;
      case CLASS_CRYPTO:
        return this.cryptoSize(i, 2_000 + rng.float() * 250_000);
      default:
        return (1 + rng.int(30)) * 100;
    }
  }

  /** A trade size in size units. */
  private tradeSize(i: number): number {
    const rng = this.rng;
    switch (this.klass[i]) {
      case CLASS_FX:
        return (1 + rng.int(50)) * 100_000;
      case CLASS_CRYPTO:
        return this.cryptoSize(i, 100 + rng.float() * 50_000);
      default:
        // Roughly a third of equity prints are odd lots.
        return rng.float() < 0.3 ? 1 + rng.int(99) : (1 + rng.int(10)) * 100;
    }
  }

  /** Size units worth about `notional` USD at the reference price (at least one unit). */
  private cryptoSize(i: number, notional: number): number {
    return Math.max(1, Math.round(notional / this.unitNotional[i]!));
  }

  private advance(i: number, now: number, weight = 1): Quote {
    const rng = this.rng;

    const day = Math.floor(now / DAY_MS);
    if (day !== this.day[i]) {
      if (!Number.isNaN(this.day[i]!)) {
        this.volume[i] = 0;
        const last = this.lastTicks[i]!;
        this.openTicks[i] = last;
        this.highTicks[i] = last;
        this.lowTicks[i] = last;
      }
      this.day[i] = day;
    }

    const prev = this.lastTs[i]!;
    let dt = Number.isNaN(prev) || prev >= now ? 0 : (now - prev) / 1000;
    if (dt > MAX_STEP_SECONDS) dt = MAX_STEP_SECONDS;

    if (this.regime[i] !== 1) {
      if (now >= this.regimeUntil[i]!) this.regime[i] = 1;
    } else if (rng.float() < 1 - Math.exp(-dt / REGIME_MEAN_GAP_SECONDS)) {
      this.regime[i] = 2.5 + 2.5 * rng.float();
      this.regimeUntil[i] = now + 10_000 + rng.float() * 50_000;
    }

    if (!(prev >= now)) {
      if (dt > 0) {
        const s = this.sigma[i]! * this.regime[i]! * Math.sqrt(dt);
        // Drift -s²/2 keeps the expected price constant (a martingale), as a driftless GBM should.
        this.mid[i] = this.mid[i]! * Math.exp(s * rng.normal() - 0.5 * s * s);
      }
      this.lastTs[i] = now;
    }

    this.quoteBook(i);

    if (rng.float() < this.tradeProbability[i]!) {
      const price = rng.float() < 0.5 ? this.bidTicks[i]! : this.askTicks[i]!;
      const size = this.tradeSize(i);
      this.lastTicks[i] = price;
      this.lastSize[i] = size;
      this.volume[i] = this.volume[i]! + size * weight;
      if (price > this.highTicks[i]!) this.highTicks[i] = price;
      if (price < this.lowTicks[i]!) this.lowTicks[i] = price;
    }

    this.seq[i] = this.seq[i]! + 1;
    return this.toQuote(i, now);
  }

  private toQuote(i: number, ts: number): Quote {
    const ps = this.priceScale[i]!;
    const ss = this.sizeScale[i]!;
    return {
      symbol: this.symbols[i]!.symbol,
      seq: this.seq[i]!,
      ts,
      bid: this.bidTicks[i]! / ps,
      ask: this.askTicks[i]! / ps,
      bidSize: this.bidSize[i]! / ss,
      askSize: this.askSize[i]! / ss,
      last: this.lastTicks[i]! / ps,
      lastSize: this.lastSize[i]! / ss,
      volume: this.volume[i]! / ss,
      open: this.openTicks[i]! / ps,
      high: this.highTicks[i]! / ps,
      low: this.lowTicks[i]! / ps,
    };
  }
}
