import { describeEvent, MAX_MY_EVENTS, MyEvents } from '../src/my-events-model';

describe('My events', () => {
  const fill = { type: 'fill', orderId: 'o-7', symbol: 'AAPL', side: 'buy', qty: 120, price: 187.25, ts: 0 };

  it('spells out fills and keeps other events as one line of JSON', () => {
    expect(describeEvent(fill)).toEqual({
      text: `${new Date(0).toLocaleTimeString('en-GB')} BUY 120 AAPL @ 187.25 · o-7`,
      tone: 'buy',
    });
    expect(describeEvent({ ...fill, side: 'sell' }).tone).toBe('sell');
    expect(describeEvent({ type: 'alert', text: 'margin' })).toEqual({
      text: '{"type":"alert","text":"margin"}',
      tone: 'other',
    });
    expect(describeEvent({ ...fill, side: 'short' }).tone).toBe('other');
    expect(describeEvent(undefined)).toEqual({ text: 'undefined', tone: 'other' });
    expect(describeEvent('x'.repeat(500)).text).toHaveLength(200);
  });

  it('keeps the newest first, at most MAX_MY_EVENTS', () => {
    const events = new MyEvents();
    for (let i = 0; i < MAX_MY_EVENTS + 5; i++) events.add({ n: i });
    expect(events.lines).toHaveLength(MAX_MY_EVENTS);
    expect(events.lines[0]?.text).toBe(`{"n":${MAX_MY_EVENTS + 4}}`);
  });
});
