// The shape of the benchmarks' load, shared by run.mjs, saturation.mjs and the load generator: the named
// workloads, which symbols each client subscribes to, and how many updates a throttle lets through.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { DEFAULT_ZIPF_EXPONENT } = require('@tickhub/market-sim');

/** The phases of a named workload's run: 10 s windows, no idle step. */
const NAMED_PHASES = {
  seconds: 10,
  warmup: 3,
  settleSeconds: 3,
  idleCpuSeconds: 2,
  idle: [],
  idleTickhubExtra: [],
};

/**
 * Named workloads (`--workload`): the sizes of a run, on top of the mode's phases. Flags given after
 * it still override single values.
 */
export const WORKLOADS = {
  // The sizes of the earlier rounds' table: few symbols per connection, at 10 Hz.
  small: { clients: 200, symbols: 100, perClient: 10, hz: 10, rate: 5000, ...NAMED_PHASES },
  // A trading dashboard: a watchlist of 40 symbols per connection at 4 Hz, a busier market.
  dashboard: { clients: 500, symbols: 200, perClient: 40, hz: 4, rate: 10000, ...NAMED_PHASES },
};

/** The symbols client `index` subscribes to: `perClient` consecutive ones from its own offset. */
export function clientSymbols(index, symbols, perClient) {
  const mine = [];
  for (let k = 0; k < perClient; k++) mine.push(symbols[(index * 7 + k) % symbols.length]);
  return mine;
}

/**
 * Updates per second that a throttle of `hz` per (client, symbol) lets through to clients
 * `firstIndex`…`firstIndex + clients − 1`, for the simulated market at `rate` ticks/s over `symbols`
 * symbols: each interval of 1/hz delivers a symbol's update if the symbol ticked in it at least once.
 * The simulator picks each tick's symbol by a Zipf law (symbol k: 1/(k+1)^s), so symbol k ticks in an
 * interval with probability 1 − (1 − p_k)^(rate/hz).
 */
export function allowedUpdatesPerSec({ clients, firstIndex = 0, symbols, perClient, hz, rate }) {
  const n = symbols.length;
  let total = 0;
  for (let k = 0; k < n; k++) total += 1 / (k + 1) ** DEFAULT_ZIPF_EXPONENT;
  const perSymbol = new Map(
    symbols.map((s, k) => {
      const p = 1 / (k + 1) ** DEFAULT_ZIPF_EXPONENT / total;
      return [s, hz * (1 - (1 - p) ** (rate / hz))];
    }),
  );
  let allowed = 0;
  for (let i = firstIndex; i < firstIndex + clients; i++)
    for (const s of clientSymbols(i, symbols, perClient)) allowed += perSymbol.get(s);
  return allowed;
}
