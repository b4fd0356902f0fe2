import type { Position } from "../../event-store/position.js";
import type { ProcessorRuntime, ProcessorStatus } from "./processor-runtime.js";

/**
 * Several runtimes run as one: the projections and the reactors on runtimes of their own, so that
 * a read model's batch never waits for a reactor's effects; the group answers as one runtime does.
 */
export class ProcessorGroup {
  private readonly stop$ = new AbortController();
  constructor(readonly runtimes: readonly ProcessorRuntime[]) {}

  /** Aborted when stop() begins: tracked work that waits (for another process) gives up then. */
  get stopping(): AbortSignal {
    return this.stop$.signal;
  }

  /** Every processor's status, in the order of the runtimes (projections, then reactors). */
  status(): ProcessorStatus[] {
    return this.runtimes.flatMap((runtime) => runtime.status());
  }

  onAdvance(listener: (name: string, position: Position) => void): () => void {
    const offs = this.runtimes.map((runtime) => runtime.onAdvance(listener));
    return () => {
      for (const off of offs) off();
    };
  }

  /** Resolves once the runtime that runs `name` has committed `position` for it. */
  whenReached(name: string, position: Position, signal?: AbortSignal): Promise<void> {
    const runtime = this.runtimes.find((r) => r.status().some((s) => s.name === name)) ?? this.runtimes[0];
    if (!runtime) return Promise.reject(new Error(`no runtime runs ${name}`));
    return runtime.whenReached(name, position, signal);
  }

  /** Ties work to the group (the first runtime: the projections'); stop() waits for it. */
  track(work: Promise<unknown>): void {
    this.runtimes[0]?.track(work);
  }

  async stop(): Promise<void> {
    this.stop$.abort();
    await Promise.all(this.runtimes.map((runtime) => runtime.stop()));
  }
}
