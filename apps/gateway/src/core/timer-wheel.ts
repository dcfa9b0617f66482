import type { Clock, TimerHandle } from './clock';
import { Stack } from './stack';

/** Something a TimerWheel can hold: it records the slot it is due in (-1 when not scheduled). */
export interface WheelEntry {
  dueSlot: number;
}

/**
 * One timer for many deadlines. Deadlines are rounded up to slots of `slotMs`, so entries due at about
 * the same time fire together (and, for the edge stage, subscribers at the same rate batch together).
 * Rescheduling or cancelling is O(1): stale bucket entries are skipped when their slot fires
 * (an entry is live in a bucket only while its `dueSlot` equals that slot).
 */
export class TimerWheel<T extends WheelEntry> {
  private readonly buckets = new Map<number, Stack<T>>();
  /** Emptied buckets, kept with their storage for the next slots (a few: slots come and go in turn). */
  private readonly spare: Stack<T>[] = [];
  private readonly due = new Stack<T>();
  /** The slots that have a bucket, as a binary min-heap: firing finds the due ones without a scan. */
  private readonly slots: number[] = [];
  private timer: TimerHandle | undefined;
  private armedSlot = Number.POSITIVE_INFINITY;
  private fired = Number.NEGATIVE_INFINITY;
  /**
   * Slots are counted from the wheel's creation: epoch-based slot numbers (about 3.5e11) are not small
   * integers to V8, and every bucket lookup and `dueSlot` store would handle a boxed double.
   */
  private readonly base: number;
  private live = 0;

  constructor(
    private readonly clock: Clock,
    private readonly slotMs: number,
    /** Receives the entries due at one moment, in slot order (a list reused after the call). */
    private readonly onDue: (entries: Stack<T>, now: number) => void,
  ) {
    if (!(slotMs > 0)) throw new RangeError('slotMs must be positive');
    this.base = Math.floor(clock.now() / slotMs);
  }

  /** The time at which an entry scheduled for `dueAt` will fire. */
  slotTime(dueAt: number): number {
    return Math.ceil(dueAt / this.slotMs) * this.slotMs;
  }

  /** The slot an entry scheduled for `dueAt` goes to. */
  slotOf(dueAt: number): number {
    // Deadlines from before the wheel existed are due at once, in its first slot.
    return Math.max(0, Math.ceil(dueAt / this.slotMs) - this.base);
  }

  /** The slot that is firing, or has fired, at `now`: later slots are still to come. */
  currentSlot(now: number): number {
    return Math.floor(now / this.slotMs) - this.base;
  }

  /** The latest slot that has fired: an entry put in it or an earlier one fires on its own, later. */
  firedSlot(): number {
    return this.fired;
  }

  schedule(entry: T, dueAt: number): void {
    this.scheduleInSlot(entry, this.slotOf(dueAt));
  }

  scheduleInSlot(entry: T, slot: number): void {
    if (entry.dueSlot === slot) return;
    if (entry.dueSlot < 0) this.live++;
    entry.dueSlot = slot;
    let bucket = this.buckets.get(slot);
    if (!bucket) {
      bucket = this.spare.pop() ?? new Stack<T>();
      this.buckets.set(slot, bucket);
      heapPush(this.slots, slot);
    }
    bucket.push(entry);
    if (slot < this.armedSlot) this.arm(slot);
  }

  cancel(entry: T): void {
    if (entry.dueSlot >= 0) {
      entry.dueSlot = -1;
      this.live--;
    }
  }

  /** Entries currently scheduled. */
  size(): number {
    return this.live;
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedSlot = Number.POSITIVE_INFINITY;
    for (const bucket of this.buckets.values()) {
      for (let i = 0; i < bucket.size; i++) bucket.at(i).dueSlot = -1;
    }
    this.buckets.clear();
    this.slots.length = 0;
    this.live = 0;
  }

  private arm(slot: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.armedSlot = slot;
    const delay = Math.max(0, (slot + this.base) * this.slotMs - this.clock.now());
    this.timer = this.clock.setTimeout(this.fire, delay);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedSlot = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    const current = this.currentSlot(now);
    if (current > this.fired) this.fired = current;
    const slots = this.slots;
    const due = this.due;
    while (slots.length > 0 && slots[0]! <= current) {
      const slot = heapPop(slots);
      const bucket = this.buckets.get(slot)!;
      this.buckets.delete(slot);
      for (let i = 0; i < bucket.size; i++) {
        const entry = bucket.at(i);
        if (entry.dueSlot !== slot) continue;
        entry.dueSlot = -1;
        this.live--;
        due.push(entry);
      }
      bucket.clear();
      if (this.spare.length < MAX_SPARE_BUCKETS) this.spare.push(bucket);
    }
    // Entries scheduled from inside onDue re-arm the timer themselves.
    if (slots.length > 0) this.arm(slots[0]!);
    if (due.size === 0) return;
    try {
      this.onDue(due, now);
    } finally {
      due.clear();
    }
  };
}

/** Buckets kept for reuse: about as many as slots are scheduled ahead at once (a second of 5 ms slots). */
const MAX_SPARE_BUCKETS = 256;

function heapPush(heap: number[], value: number): void {
  let i = heap.length;
  heap.push(value);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent]!;
    if (p <= value) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = value;
}

function heapPop(heap: number[]): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  const n = heap.length;
  if (n === 0) return top;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    const right = left + 1;
    const child = right < n && heap[right]! < heap[left]! ? right : left;
    if (heap[child]! >= last) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = last;
  return top;
}
