/** One hour in milliseconds: windows are bucketed and priced by the hour. */
export const HOUR_MS = 3_600_000;

/**
 * The longest reservation window (docs/domain.md). The decider refuses longer ones; the read side
 * relies on it too: a window holding a spot at an instant started less than this before it.
 */
export const MAX_WINDOW_MS = 24 * HOUR_MS;

/**
 * The price of a window at an hourly rate: ceil(duration × rate / 1 hour), i.e. pro rata to the
 * millisecond and rounded up to the next minor unit (a 90-minute stay at 3000/h costs 4500,
 * 61 minutes at 1000/h costs 1017). The write side charges it; the availability query quotes it.
 */
export const quote = (hourlyRate: number, startsAt: number, endsAt: number): number =>
  Math.ceil(((endsAt - startsAt) * hourlyRate) / HOUR_MS);
