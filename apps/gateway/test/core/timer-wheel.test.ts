import { ManualClock } from '../../src/core/clock';
import { TimerWheel } from '../../src/core/timer-wheel';

describe('TimerWheel', () => {
  it('fires entries at their slot with one timer, skipping cancelled and rescheduled ones', () => {
    const clock = new ManualClock(0);
    const fired: Array<[string, number]> = [];
    const wheel = new TimerWheel<{ dueSlot: number; name: string }>(clock, 5, (due, now) => {
      for (let i = 0; i < due.size; i++) fired.push([due.at(i).name, now]);
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

  it('fires many slots scheduled out of order in slot order and reports the slot that fired', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    const wheel = new TimerWheel<{ dueSlot: number; id: number }>(clock, 5, (due) => {
      for (let i = 0; i < due.size; i++) fired.push(due.at(i).id);
    });
    expect(wheel.firedSlot()).toBe(Number.NEGATIVE_INFINITY);
    const order = [37, 3, 90, 12, 12, 55, 1, 78, 23, 64, 8, 41];
    for (const [i, slot] of order.entries()) wheel.scheduleInSlot({ dueSlot: -1, id: slot * 100 + i }, slot);
    clock.advance(100);
    expect(wheel.firedSlot()).toBe(12); // the last slot that had entries, fired at 60 ms
    clock.advance(400);
    expect(fired).toEqual(
      [...order.entries()].sort((a, b) => a[1] - b[1] || a[0] - b[0]).map(([i, s]) => s * 100 + i),
    );
    expect(wheel.size()).toBe(0);
  });

  it('fires at epoch times on slot boundaries, and a deadline from before the wheel at once', () => {
    const clock = new ManualClock(1_700_000_000_003);
    const fired: Array<[string, number]> = [];
    const wheel = new TimerWheel<{ dueSlot: number; name: string }>(clock, 5, (due, now) => {
      for (let i = 0; i < due.size; i++) fired.push([due.at(i).name, now]);
    });
    wheel.schedule({ dueSlot: -1, name: 'late' }, 1_699_999_999_000);
    wheel.schedule({ dueSlot: -1, name: 'next' }, 1_700_000_000_012);
    clock.advance(20);
    expect(fired).toEqual([
      ['late', 1_700_000_000_003],
      ['next', 1_700_000_000_015],
    ]);
  });
});
