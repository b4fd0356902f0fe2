import { PLATE_SUFFIXES } from "../../projections/read-models/reservations.js";
import { fragmentRange } from "../../schemas/plates.js";
import { newestBelow } from "./newest-merge.js";
import type { ReadContext } from "./read-context.js";

/** A reservation a plate fragment matched: its id and `seq` (the list's order and cursor). */
export interface PlateMatch {
  readonly reservationId: string;
  readonly seq: number;
}

/**
 * The newest `want` reservations whose plate holds `fragment`, by prefix ranges over the plates'
 * suffixes: the work is the matches read, never the reservations whose plate does not match (a
 * plate holding the fragment twice is counted once).
 */
export async function newestPlateMatches(
  ctx: ReadContext,
  fragment: string,
  scope: { parkingLotId?: string; customerId?: string; cursor?: string },
  want: number,
): Promise<PlateMatch[]> {
  const collection = await ctx.collection(PLATE_SUFFIXES);
  const filter: Record<string, unknown> = { suffix: fragmentRange(fragment) };
  if (scope.parkingLotId) filter.parkingLotId = scope.parkingLotId;
  if (scope.customerId) filter.customerId = scope.customerId;
  const matches: PlateMatch[] = [];
  if (!Number.isSafeInteger(want) || want < 1) return matches;
  const seen = new Set<string>();
  let below = scope.cursor === undefined ? undefined : Number(scope.cursor);
  const chunk = Math.max(want * 2, 20);
  // Every pass below the first starts under the seq of every reservation seen, so its first row
  // is a new match: `want` passes find `want` matches, whatever the data.
  for (let pass = 0; pass < want; pass++) {
    const rows = await newestBelow(ctx.store, collection)(filter, below, chunk);
    for (const row of rows) {
      const reservationId = String(row.reservationId);
      if (seen.has(reservationId)) continue;
      seen.add(reservationId);
      matches.push({ reservationId, seq: row.seq });
      if (matches.length === want) return matches;
    }
    const last = rows.at(-1);
    // The rest of the last reservation's rows share its seq: continuing below it skips only them.
    if (rows.length < chunk || last === undefined) return matches;
    below = last.seq;
  }
  return matches;
}
