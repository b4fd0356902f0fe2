/** Thrown when an awaited call took longer than its bound. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** Resolves or rejects as `promise` does, or rejects with TimeoutError after `ms`; the timer never outlives the race. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
