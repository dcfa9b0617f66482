import type { AssetClass, SymbolInfo } from '@tickhub/protocol';
import { hashString, Rng } from './rng';

/** Default size of the symbol universe. */
export const DEFAULT_UNIVERSE_SIZE = 500;
/** Largest universe createUniverse builds (generated tickers have up to four letters). */
export const MAX_UNIVERSE_SIZE = 100_000;

// [ticker, name, reference price]
const EQUITIES: ReadonlyArray<readonly [string, string, number]> = [
  ['AAPL', 'Apple Inc.', 189.5],
  ['MSFT', 'Microsoft Corp.', 415.2],
  ['NVDA', 'NVIDIA Corp.', 124.8],
  ['AMZN', 'Amazon.com Inc.', 182.3],
  ['GOOGL', 'Alphabet Inc. Class A', 171.9],
  ['META', 'Meta Platforms Inc.', 498.6],
  ['TSLA', 'Tesla Inc.', 248.1],
  ['JPM', 'JPMorgan Chase & Co.', 201.4],
  ['V', 'Visa Inc.', 276.3],
  ['UNH', 'UnitedHealth Group Inc.', 521.7],
  ['XOM', 'Exxon Mobil Corp.', 113.6],
  ['JNJ', 'Johnson & Johnson', 154.2],
  ['WMT', 'Walmart Inc.', 68.9],
  ['MA', 'Mastercard Inc.', 462.5],
  ['PG', 'Procter & Gamble Co.', 166.8],
  ['HD', 'Home Depot Inc.', 352.4],
  ['CVX', 'Chevron Corp.', 157.3],
  ['LLY', 'Eli Lilly and Co.', 812.9],
  ['ABBV', 'AbbVie Inc.', 171.2],
  ['AVGO', 'Broadcom Inc.', 168.4],
  ['KO', 'Coca-Cola Co.', 63.1],
  ['PEP', 'PepsiCo Inc.', 171.6],
  ['COST', 'Costco Wholesale Corp.', 862.3],
  ['MRK', 'Merck & Co. Inc.', 126.7],
  ['BAC', 'Bank of America Corp.', 39.8],
  ['ADBE', 'Adobe Inc.', 512.6],
  ['CSCO', 'Cisco Systems Inc.', 47.9],
  ['CRM', 'Salesforce Inc.', 268.4],
  ['NFLX', 'Netflix Inc.', 652.1],
  ['AMD', 'Advanced Micro Devices Inc.', 158.7],
  ['INTC', 'Intel Corp.', 30.6],
  ['ORCL', 'Oracle Corp.', 139.2],
  ['TMO', 'Thermo Fisher Scientific Inc.', 578.4],
  ['ACN', 'Accenture plc', 318.5],
  ['MCD', "McDonald's Corp.", 262.7],
  ['DIS', 'Walt Disney Co.', 101.3],
  ['ABT', 'Abbott Laboratories', 106.2],
  ['WFC', 'Wells Fargo & Co.', 59.4],
  ['VZ', 'Verizon Communications Inc.', 40.7],
  ['CMCSA', 'Comcast Corp.', 38.9],
  ['NKE', 'Nike Inc.', 93.8],
  ['DHR', 'Danaher Corp.', 251.6],
  ['TXN', 'Texas Instruments Inc.', 196.4],
  ['PM', 'Philip Morris International Inc.', 101.9],
  ['NEE', 'NextEra Energy Inc.', 71.3],
  ['LIN', 'Linde plc', 437.8],
  ['UPS', 'United Parcel Service Inc.', 139.6],
  ['RTX', 'RTX Corp.', 104.2],
  ['QCOM', 'Qualcomm Inc.', 201.5],
  ['HON', 'Honeywell International Inc.', 203.7],
  ['IBM', 'International Business Machines Corp.', 172.6],
  ['AMGN', 'Amgen Inc.', 305.1],
  ['SBUX', 'Starbucks Corp.', 78.4],
  ['CAT', 'Caterpillar Inc.', 336.2],
  ['GS', 'Goldman Sachs Group Inc.', 462.9],
  ['MS', 'Morgan Stanley', 98.7],
  ['BA', 'Boeing Co.', 178.3],
  ['GE', 'GE Aerospace', 163.5],
  ['INTU', 'Intuit Inc.', 628.4],
  ['AMAT', 'Applied Materials Inc.', 228.6],
  ['ISRG', 'Intuitive Surgical Inc.', 402.3],
  ['BKNG', 'Booking Holdings Inc.', 3812.5],
  ['MDT', 'Medtronic plc', 81.6],
  ['PLD', 'Prologis Inc.', 109.8],
  ['BLK', 'BlackRock Inc.', 781.2],
  ['DE', 'Deere & Co.', 381.4],
  ['SPGI', 'S&P Global Inc.', 436.5],
  ['T', 'AT&T Inc.', 18.6],
  ['LOW', "Lowe's Companies Inc.", 224.3],
  ['GILD', 'Gilead Sciences Inc.', 65.7],
  ['ADP', 'Automatic Data Processing Inc.', 246.8],
  ['SYK', 'Stryker Corp.', 338.9],
  ['MMM', '3M Co.', 101.2],
  ['CVS', 'CVS Health Corp.', 59.3],
  ['MO', 'Altria Group Inc.', 45.6],
  ['C', 'Citigroup Inc.', 62.8],
  ['PYPL', 'PayPal Holdings Inc.', 63.4],
  ['UBER', 'Uber Technologies Inc.', 68.2],
  ['SHOP', 'Shopify Inc.', 66.9],
  ['ABNB', 'Airbnb Inc.', 148.7],
  ['SNOW', 'Snowflake Inc.', 132.5],
  ['PLTR', 'Palantir Technologies Inc.', 24.3],
  ['COIN', 'Coinbase Global Inc.', 221.6],
  ['MU', 'Micron Technology Inc.', 128.4],
  ['PFE', 'Pfizer Inc.', 28.7],
  ['F', 'Ford Motor Co.', 12.4],
  ['GM', 'General Motors Co.', 46.2],
  ['SPY', 'SPDR S&P 500 ETF Trust', 545.3],
  ['QQQ', 'Invesco QQQ Trust', 478.9],
];

const CURRENCIES: Readonly<Record<string, string>> = {
  EUR: 'Euro',
  USD: 'US Dollar',
  GBP: 'British Pound',
  JPY: 'Japanese Yen',
  CHF: 'Swiss Franc',
  AUD: 'Australian Dollar',
  CAD: 'Canadian Dollar',
  NZD: 'New Zealand Dollar',
  SEK: 'Swedish Krona',
  NOK: 'Norwegian Krone',
  MXN: 'Mexican Peso',
  ZAR: 'South African Rand',
  SGD: 'Singapore Dollar',
  HKD: 'Hong Kong Dollar',
  CNH: 'Chinese Yuan (offshore)',
};

// [pair, reference price]
const FX: ReadonlyArray<readonly [string, number]> = [
  ['EURUSD', 1.0842],
  ['USDJPY', 151.37],
  ['GBPUSD', 1.2718],
  ['AUDUSD', 0.6612],
  ['USDCHF', 0.8864],
  ['USDCAD', 1.3671],
  ['NZDUSD', 0.6034],
  ['EURGBP', 0.8525],
  ['EURJPY', 164.12],
  ['GBPJPY', 192.51],
  ['EURCHF', 0.9611],
  ['AUDJPY', 100.08],
  ['EURAUD', 1.6397],
  ['USDSEK', 10.6215],
  ['USDNOK', 10.8342],
  ['USDMXN', 16.9421],
  ['USDZAR', 18.6733],
  ['USDSGD', 1.3498],
  ['USDHKD', 7.8231],
  ['USDCNH', 7.2512],
  ['EURCAD', 1.4822],
  ['CHFJPY', 170.76],
  ['CADJPY', 110.72],
  ['NZDJPY', 91.34],
  ['GBPCHF', 1.1273],
  ['EURNZD', 1.7968],
  ['GBPAUD', 1.9234],
  ['AUDNZD', 1.0958],
];

// [base asset, name, reference price in USD]
const CRYPTO: ReadonlyArray<readonly [string, string, number]> = [
  ['BTC', 'Bitcoin', 67250],
  ['ETH', 'Ether', 3480.5],
  ['SOL', 'Solana', 152.3],
  ['XRP', 'XRP', 0.5234],
  ['ADA', 'Cardano', 0.4512],
  ['DOGE', 'Dogecoin', 0.1563],
  ['AVAX', 'Avalanche', 35.42],
  ['DOT', 'Polkadot', 7.123],
  ['LINK', 'Chainlink', 17.35],
  ['LTC', 'Litecoin', 84.62],
  ['BCH', 'Bitcoin Cash', 472.8],
  ['ATOM', 'Cosmos', 8.914],
  ['UNI', 'Uniswap', 9.873],
  ['XLM', 'Stellar', 0.1102],
  ['ETC', 'Ethereum Classic', 27.41],
  ['FIL', 'Filecoin', 6.182],
  ['APT', 'Aptos', 9.205],
  ['ARB', 'Arbitrum', 1.0413],
  ['NEAR', 'NEAR Protocol', 6.874],
  ['SHIB', 'Shiba Inu', 0.00002431],
];

const NAME_FIRST = [
  'Apex',
  'Bluewater',
  'Cedar',
  'Delta',
  'Evergreen',
  'Falcon',
  'Granite',
  'Harbor',
  'Ironwood',
  'Juniper',
  'Keystone',
  'Lakeshore',
  'Meridian',
  'Northwind',
  'Orion',
  'Pinnacle',
  'Quarry',
  'Redwood',
  'Summit',
  'Tidewater',
  'Union',
  'Vanguard',
  'Westfield',
  'Yellowstone',
  'Zenith',
  'Atlas',
  'Beacon',
  'Cobalt',
  'Frontier',
  'Horizon',
  'Liberty',
  'Pioneer',
  'Silverline',
  'Sterling',
  'Titan',
  'Vertex',
];
const NAME_SECOND = [
  'Holdings',
  'Systems',
  'Therapeutics',
  'Energy',
  'Financial',
  'Technologies',
  'Industries',
  'Logistics',
  'Semiconductor',
  'Biosciences',
  'Networks',
  'Materials',
  'Brands',
  'Motors',
  'Pharmaceuticals',
  'Capital',
  'Robotics',
  'Foods',
  'Aerospace',
  'Software',
  'Utilities',
  'Realty',
  'Media',
  'Analytics',
];
const NAME_SUFFIX = ['Inc.', 'Corp.', 'Group', 'plc', 'Co.', 'Ltd.'];

function entry(
  symbol: string,
  name: string,
  assetClass: AssetClass,
  priceDecimals: number,
  currency: string,
) {
  return { symbol, name, assetClass, priceDecimals, currency };
}

/** Display decimals for a crypto price: more decimals the smaller the price. */
function cryptoDecimals(price: number): number {
  if (price >= 1000) return 2;
  if (price >= 10) return 3;
  if (price >= 1) return 4;
  if (price >= 0.01) return 5;
  return 8;
}

const REFERENCE_PRICES = new Map<string, number>();
for (const [symbol, , price] of EQUITIES) REFERENCE_PRICES.set(symbol, price);
for (const [symbol, price] of FX) REFERENCE_PRICES.set(symbol, price);
for (const [base, , price] of CRYPTO) REFERENCE_PRICES.set(`${base}USD`, price);

/**
 * The price a symbol starts the simulation at: a real-looking level for well-known symbols, otherwise one
 * derived from the symbol's name (so it does not depend on the seed or on the universe size).
 */
export function referencePrice(info: SymbolInfo): number {
  const known = REFERENCE_PRICES.get(info.symbol);
  if (known !== undefined) return known;
  const u = hashString(info.symbol) / 4294967296;
  switch (info.assetClass) {
    case 'fx':
      return 0.5 + u * 2; // 0.5 .. 2.5
    case 'crypto':
      return 10 ** (-2 + u * 5); // 0.01 .. 1000, log-uniform
    default:
      return 10 ** (0.7 + u * 2.3); // about 5 .. 1000, log-uniform
  }
}

function buildNamed(): SymbolInfo[] {
  const equities = EQUITIES.map(([s, n]) => entry(s, n, 'equity', 2, 'USD'));
  const fx = FX.map(([pair]) => {
    const base = pair.slice(0, 3);
    const quote = pair.slice(3);
    return entry(pair, `${CURRENCIES[base]} / ${CURRENCIES[quote]}`, 'fx', quote === 'JPY' ? 3 : 5, quote);
  });
  const crypto = CRYPTO.map(([base, name, price]) =>
    entry(`${base}USD`, `${name} / US Dollar`, 'crypto', cryptoDecimals(price), 'USD'),
  );
  // Interleaved so that the most active ranks (the start of the list) mix all three asset classes.
  const out: SymbolInfo[] = [];
  let e = 0;
  let f = 0;
  let c = 0;
  while (e < equities.length || f < fx.length || c < crypto.length) {
    for (let k = 0; k < 3 && e < equities.length; k++) out.push(equities[e++]!);
    if (f < fx.length) out.push(fx[f++]!);
    if (c < crypto.length) out.push(crypto[c++]!);
  }
  return out;
}

const NAMED = buildNamed();

/**
 * A deterministic universe of `size` symbols: well-known equities, FX pairs and crypto first (the most
 * active ranks), then generated equities with unique, real-looking tickers and names.
 */
export function createUniverse(size: number = DEFAULT_UNIVERSE_SIZE): SymbolInfo[] {
  if (!Number.isInteger(size) || size < 1 || size > MAX_UNIVERSE_SIZE) {
    throw new RangeError(`universe size must be an integer in [1, ${MAX_UNIVERSE_SIZE}], got ${size}`);
  }
  const out = NAMED.slice(0, size).map((s) => ({ ...s }));
  if (out.length === size) return out;

  const taken = new Set(NAMED.map((s) => s.symbol));
  // A fixed seed: the universe is the same for every market seed, so all processes agree on it.
  const rng = new Rng(0x7ac4b0b);
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  while (out.length < size) {
    const length = out.length < 8000 ? 3 + rng.int(2) : 4;
    let ticker = '';
    for (let i = 0; i < length; i++) ticker += letters[rng.int(26)];
    if (taken.has(ticker)) continue;
    taken.add(ticker);
    const first = NAME_FIRST[rng.int(NAME_FIRST.length)]!;
    const second = NAME_SECOND[rng.int(NAME_SECOND.length)]!;
    const suffix = NAME_SUFFIX[rng.int(NAME_SUFFIX.length)]!;
    out.push(entry(ticker, `${first} ${second} ${suffix}`, 'equity', 2, 'USD'));
  }
  return out;
}
