import { OffsetCommitter, type PartitionOffset } from '../../src/core/offset-committer';

/** A commit that completes when the test says so, like a broker's answer. */
function broker() {
  const calls: PartitionOffset[][] = [];
  const answers: Array<(ok: boolean) => void> = [];
  const commit = (offsets: PartitionOffset[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push(offsets);
      answers.push((ok) => (ok ? resolve() : reject(new Error('coordinator moved'))));
    });
  const answer = async (ok = true) => {
    answers.shift()!(ok);
    // Let the committer see the answer and start its next commit.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { calls, commit, answer };
}

describe('OffsetCommitter', () => {
  it('commits at once, then the newest offsets noted meanwhile in one commit', async () => {
    const b = broker();
    const c = new OffsetCommitter(b.commit);
    c.note(0, '10');
    expect(b.calls).toEqual([[{ partition: 0, offset: '10' }]]);
    c.note(0, '20');
    c.note(1, '5');
    c.note(0, '30');
    expect(b.calls).toHaveLength(1);
    await b.answer();
    expect(b.calls[1]).toEqual([
      { partition: 0, offset: '30' },
      { partition: 1, offset: '5' },
    ]);
    await b.answer();
    expect(c.commits).toBe(2);
  });

  it('does not repeat a failed commit; the next offsets go out', async () => {
    const b = broker();
    const errors: unknown[] = [];
    const c = new OffsetCommitter(b.commit, (e) => errors.push(e));
    c.note(2, '7');
    c.note(2, '8');
    await b.answer(false);
    expect(errors).toHaveLength(1);
    expect(b.calls[1]).toEqual([{ partition: 2, offset: '8' }]);
    await b.answer();
    expect(b.calls).toHaveLength(2);
    expect(c.failures).toBe(1);
  });

  it('forgets partitions no longer owned, and flush waits for what was noted', async () => {
    const b = broker();
    const c = new OffsetCommitter(b.commit);
    c.note(0, '1');
    c.note(1, '2');
    c.note(2, '3');
    c.keepOnly([2]);
    let flushed = false;
    const flush = c.flush().then(() => {
      flushed = true;
    });
    await b.answer();
    expect(b.calls[1]).toEqual([{ partition: 2, offset: '3' }]);
    expect(flushed).toBe(false);
    await b.answer();
    await flush;
    expect(flushed).toBe(true);
  });
});
