/** What every scenario gets from the runner. */
export interface BenchContext {
  readonly quick: boolean;
}

/** One target of the issue and how this run did against it. */
export interface Check {
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean;
}

/** What a scenario measured: its checks and every figure. */
export interface ScenarioOutcome {
  readonly checks: readonly Check[];
  /** Every figure, for latest.json and BENCHMARKS.md. */
  readonly figures: Readonly<Record<string, unknown>>;
}

/** An outcome as the runner reports it. */
export interface ScenarioResult extends ScenarioOutcome {
  readonly name: string;
  readonly title: string;
  readonly elapsedSec?: number;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** Run only when `--only` names it (too long for every run). */
  readonly onlyWhenNamed?: boolean;
  run(ctx: BenchContext): Promise<ScenarioOutcome>;
}
