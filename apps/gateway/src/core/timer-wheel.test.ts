import { ManualClock } from './clock';
import { TimerWheel } from './timer-wheel';

describe('TimerWheel', () => {
  it('fires entries at their slot with one timer, skipping cancelled and rescheduled ones', () => {
    const clock = new ManualClock(0);
    const fired: Array<[string, number]> = [];
    const wheel = new TimerWheel<{ dueSlot: number; name: string }>(clock, 5, (due, now) => {
      for (const e of due) fired.push([e.name, now]);
    });
    const a = { dueSlot: -1, name: 'a' };
    const b = { dueSlot: -1, name: 'b' };
    const c = { dueSlot: -1, name: 'c' };
    wheel.schedule(a, 12); // slot at 15
    wheel.schedule(b, 14); // same slot
    wheel.schedule(c, 30);
    expect(clock.pendingTimers()).toBe(1);
    wheel.cancel(b);
    wheel.schedule(c, 40);
    clock.advance(100);
    expect(fired).toEqual([
      ['a', 15],
      ['c', 40],
    ]);
    expect(wheel.size()).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });
});
