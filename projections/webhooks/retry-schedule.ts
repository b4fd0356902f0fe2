/**
 * When a failed delivery is tried again: about three days from the first attempt, 13 attempts in
 * all, each delay spread by ±20 % (so the retries to an endpoint that comes back spread out).
 */
export const RETRY_DELAYS_MS: readonly number[] = [
  5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 43_200_000,
  86_400_000, 75_600_000,
];

/** The delay before attempt `attempt + 1` after `attempt` attempts failed; undefined: give up. */
export function retryDelayMs(
  attempt: number,
  scale: number,
  random: () => number = Math.random,
): number | undefined {
  const base = RETRY_DELAYS_MS[attempt - 1];
  if (base === undefined) return undefined;
  return Math.round(base * scale * (0.8 + 0.4 * random()));
}
