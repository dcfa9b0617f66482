import { Stack } from '../../src/core/stack';

describe('Stack', () => {
  it('pushes, reads in order, empties and keeps working after being emptied', () => {
    const s = new Stack<{ id: number }>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) s.push({ id: round * 10 + i });
      expect(Array.from({ length: s.size }, (_, i) => s.at(i).id)).toEqual(
        [0, 1, 2, 3, 4].map((i) => round * 10 + i),
      );
      s.clear();
      expect(s.size).toBe(0);
    }
  });

  it('retains the matching items in order', () => {
    const s = new Stack<number>();
    for (let i = 0; i < 10; i++) s.push(i);
    s.retain((n) => n % 3 === 0);
    expect(Array.from({ length: s.size }, (_, i) => s.at(i))).toEqual([0, 3, 6, 9]);
    s.push(42);
    expect(s.at(4)).toBe(42);
  });

  it('drops the first items and keeps the ones pushed after them', () => {
    const s = new Stack<number>();
    for (let i = 0; i < 6; i++) s.push(i);
    s.dropFirst(4);
    expect(Array.from({ length: s.size }, (_, i) => s.at(i))).toEqual([4, 5]);
    s.dropFirst(2);
    expect(s.size).toBe(0);
  });
});
