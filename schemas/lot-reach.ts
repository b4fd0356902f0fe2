/**
 * Which parking lots a member of staff may act on and see. `admin` has every lot; an `operator` or
 * an `attendant` the lots their grant names: a lot id (`gangnam-1`), a prefix of ids ending in `*`
 * (`gangnam-*`), or `*` (every lot). A grant comes from a token claim (AUTH_LOTS_CLAIM with
 * AUTH_LOTS_PREFIX, e.g. Okta groups `lots:gangnam-*`). A caller with none of these roles is a
 * customer (no reach: only their own reservations).
 */
export type LotReach =
  | { readonly every: true }
  | { readonly every: false; readonly ids: readonly string[]; readonly prefixes: readonly string[] };

export const EVERY_LOT: LotReach = { every: true };

/** The characters of a lot id (schemas/common.ts's Identifier): a grant holding others is ignored. */
const GRANT = /^[A-Za-z0-9_.:-]{1,64}\*?$|^\*$/;

/** The lots `grants` reach (patterns that are not lot ids or prefixes are ignored). */
export function reachOfGrants(grants: readonly string[]): LotReach {
  const valid = grants.filter((g) => GRANT.test(g));
  if (valid.includes("*")) return EVERY_LOT;
  return {
    every: false,
    ids: [...new Set(valid.filter((g) => !g.endsWith("*")))].sort(),
    prefixes: [...new Set(valid.filter((g) => g.endsWith("*")).map((g) => g.slice(0, -1)))].sort(),
  };
}

/** Whether `reach` covers the lot `parkingLotId`. */
export const reaches = (reach: LotReach, parkingLotId: string): boolean =>
  reach.every || reach.ids.includes(parkingLotId) || reach.prefixes.some((p) => parkingLotId.startsWith(p));

/**
 * The conditions on `parkingLotId` that select the lots of a scoped reach: one equality per lot
 * and one index range per prefix (ids are ASCII, so every id with the prefix sorts below
 * `prefix` + U+FFFF). Empty: no lot.
 */
export function lotConditions(reach: Exclude<LotReach, { every: true }>): Record<string, unknown>[] {
  return [
    ...reach.ids.map((id) => ({ parkingLotId: id })),
    ...reach.prefixes.map((p) => ({ parkingLotId: { $gte: p, $lt: `${p}\uffff` } })),
  ];
}

/** A stable name of a reach (streams of the same reach share one view). */
export const reachKey = (reach: LotReach): string =>
  reach.every ? "*" : JSON.stringify([reach.ids, reach.prefixes]);
