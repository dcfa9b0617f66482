/** Something the gateway needs (Kafka, Redis): why it cannot be used at `now`, or undefined while it can. */
export interface DependencyProbe {
  readonly name: string;
  problem(now: number): string | undefined;
}

export interface DependencyStatus {
  readonly name: string;
  up: boolean;
  /** When `up` last changed (or when watching started). */
  since: number;
  /** Why it is down; undefined while up. */
  reason: string | undefined;
  /** True once it has been up: a later loss is a loss, not a slow start. */
  everUp: boolean;
}

export type DependencyChange =
  | { kind: 'connected'; status: DependencyStatus }
  | { kind: 'lost'; status: DependencyStatus; upMs: number }
  | { kind: 'reconnected'; status: DependencyStatus; downMs: number };

/**
 * Turns the probes of the gateway's dependencies into up/down states with the time of the last change,
 * and reports each change once, so that readiness, metrics and logs tell the same story.
 */
export class DependencyMonitor {
  private readonly states: DependencyStatus[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly probes: ReadonlyArray<DependencyProbe>,
    private readonly now: () => number,
    private readonly onChange: (change: DependencyChange) => void = () => undefined,
  ) {
    const at = now();
    this.states = probes.map((p) => ({
      name: p.name,
      up: false,
      since: at,
      reason: 'not checked yet',
      everUp: false,
    }));
  }

  /** Probes every dependency now; the states after it. */
  evaluate(): ReadonlyArray<DependencyStatus> {
    const now = this.now();
    this.probes.forEach((probe, i) => {
      const state = this.states[i]!;
      const reason = probe.problem(now);
      const up = reason === undefined;
      state.reason = reason;
      if (up === state.up) return;
      const heldMs = now - state.since;
      state.up = up;
      state.since = now;
      if (up && !state.everUp) {
        state.everUp = true;
        this.onChange({ kind: 'connected', status: state });
      } else if (up) this.onChange({ kind: 'reconnected', status: state, downMs: heldMs });
      else this.onChange({ kind: 'lost', status: state, upMs: heldMs });
    });
    return this.states;
  }

  allUp(): boolean {
    return this.evaluate().every((s) => s.up);
  }

  /** Probes every `intervalMs`, so that a change is logged even when nobody asks for readiness. */
  watch(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.evaluate(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
