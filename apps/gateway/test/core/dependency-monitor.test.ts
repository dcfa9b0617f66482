import { type DependencyChange, DependencyMonitor } from '../../src/core/dependency-monitor';

describe('DependencyMonitor', () => {
  it('reports connected once, then each loss and recovery with how long the previous state lasted', () => {
    let now = 1000;
    let kafka: string | undefined = 'not joined';
    const changes: DependencyChange[] = [];
    const monitor = new DependencyMonitor(
      [
        { name: 'kafka', problem: () => kafka },
        { name: 'redis', problem: () => undefined },
      ],
      () => now,
      (c) => changes.push(c),
    );
    expect(monitor.allUp()).toBe(false);
    expect(changes.map((c) => `${c.kind}:${c.status.name}`)).toEqual(['connected:redis']);

    now = 1500;
    kafka = undefined;
    expect(monitor.allUp()).toBe(true);
    now = 4000;
    kafka = 'no fetch answered by the brokers for 3100 ms';
    const states = monitor.evaluate();
    expect(states[0]).toMatchObject({ name: 'kafka', up: false, since: 4000, reason: kafka });
    now = 9000;
    kafka = undefined;
    monitor.evaluate();
    monitor.evaluate();
    expect(changes.map((c) => c.kind)).toEqual(['connected', 'connected', 'lost', 'reconnected']);
    expect(changes[2]).toMatchObject({ kind: 'lost', upMs: 2500 });
    expect(changes[3]).toMatchObject({ kind: 'reconnected', downMs: 5000 });
    expect(monitor.evaluate()[0]).toMatchObject({ up: true, since: 9000, reason: undefined });
  });
});
