/**
 * fast-check's replay of a reported failure from the environment: `<NAME>_SEED` and `<NAME>_PATH`
 * (both printed by fast-check when a property fails), or nothing when no seed is set.
 */
export function replayOf(name: string): { seed?: number; path?: string } {
  const seed = process.env[`${name}_SEED`];
  if (!seed) return {};
  const path = process.env[`${name}_PATH`];
  return { seed: Number(seed), ...(path ? { path } : {}) };
}
