/**
 * Runs tasks one at a time per key, in arrival order; different keys run concurrently.
 * Commands on one lot queue here instead of racing each other into optimistic-concurrency
 * retries; the store's expected revision still guards against writers in other processes.
 */
export class KeyedLanes {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  get activeKeys(): number {
    return this.tails.size;
  }
}
