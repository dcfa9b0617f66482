import { type FillEvent, PRIVATE_EVENT_TARGET } from '@tickhub/protocol';
import type { HubMessage } from './hub-message';

/**
 * A toy order blotter for demos: fills of random orders for a few users, on the market hub, keyed
 * so that each user's fills arrive in order. Prices are a random walk per symbol, not the feed's.
 */
export class OrderBlotter {
  private readonly prices = new Map<string, number>();
  private seq = 0;

  constructor(
    private readonly users: readonly string[],
    private readonly symbols: readonly string[],
    private readonly random: () => number = Math.random,
  ) {
    if (users.length === 0 || symbols.length === 0)
      throw new RangeError('the blotter needs users and symbols');
  }

  next(now = Date.now()): HubMessage {
    const pick = <T>(list: readonly T[]): T => list[Math.floor(this.random() * list.length)] as T;
    const user = pick(this.users);
    const symbol = pick(this.symbols);
    const last = this.prices.get(symbol) ?? 50 + this.random() * 200;
    const price = Math.round(last * (1 + (this.random() - 0.5) / 100) * 100) / 100;
    this.prices.set(symbol, price);
    const fill: FillEvent = {
      type: 'fill',
      orderId: `o-${++this.seq}`,
      symbol,
      side: this.random() < 0.5 ? 'buy' : 'sell',
      qty: (1 + Math.floor(this.random() * 20)) * 10,
      price,
      ts: now,
    };
    return {
      hub: 'markethub',
      to: { kind: 'user', id: user },
      target: PRIVATE_EVENT_TARGET,
      arguments: [fill],
    };
  }
}
