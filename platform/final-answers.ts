/**
 * Answers computed once and kept, the most recently asked `max` of them; concurrent asks of one key
 * share one computation. An answer is kept only if its computation says it is `final` (time travel:
 * no later event can change it) and no `clear` happened while it ran (an erasure: issue 36).
 */
export class FinalAnswers {
  private readonly kept = new Map<string, unknown>();
  private readonly pending = new Map<string, Promise<unknown>>();
  /** Counts the clears: an answer computed across one is not kept (it may predate an erasure). */
  private generation = 0;
  constructor(private readonly max: number) {}

  clear(): void {
    this.kept.clear();
    this.pending.clear();
    this.generation++;
  }

  async answer<T>(key: string, compute: () => Promise<{ view: T; final: boolean }>): Promise<T> {
    if (this.kept.has(key)) {
      const view = this.kept.get(key) as T;
      this.kept.delete(key);
      this.kept.set(key, view);
      return view;
    }
    const running = this.pending.get(key);
    if (running) return (await running) as T;
    const generation = this.generation;
    const computed = compute().then(({ view, final }) => {
      if (final && generation === this.generation) {
        this.kept.set(key, view);
        if (this.kept.size > this.max) this.kept.delete(this.kept.keys().next().value as string);
      }
      return view;
    });
    this.pending.set(key, computed);
    try {
      return await computed;
    } finally {
      if (this.pending.get(key) === computed) this.pending.delete(key);
    }
  }
}
