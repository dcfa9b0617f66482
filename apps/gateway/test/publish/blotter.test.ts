import { type FillEvent, PRIVATE_EVENT_TARGET } from '@tickhub/protocol';
import { OrderBlotter } from '../../src/publish/blotter';
import { parseHubMessage } from '../../src/publish/hub-message';

describe('OrderBlotter', () => {
  it('publishes valid fills for its users on the market hub, prices walking by at most 0.5 %', () => {
    const blotter = new OrderBlotter(['alice', 'bob'], ['AAPL', 'MSFT']);
    const last = new Map<string, number>();
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const message = parseHubMessage(JSON.parse(JSON.stringify(blotter.next(1_000))));
      expect(message).toMatchObject({ hub: 'markethub', to: { kind: 'user' }, target: PRIVATE_EVENT_TARGET });
      if (message.to.kind === 'user') seen.add(message.to.id);
      const fill = message.arguments[0] as FillEvent;
      expect(fill).toMatchObject({ type: 'fill', orderId: `o-${i + 1}`, ts: 1_000 });
      expect(['buy', 'sell']).toContain(fill.side);
      expect(fill.qty % 10).toBe(0);
      const before = last.get(fill.symbol);
      if (before !== undefined) expect(Math.abs(fill.price / before - 1)).toBeLessThanOrEqual(0.0051);
      last.set(fill.symbol, fill.price);
    }
    expect([...seen].sort()).toEqual(['alice', 'bob']);
    expect([...last.keys()].sort()).toEqual(['AAPL', 'MSFT']);
  });
});
