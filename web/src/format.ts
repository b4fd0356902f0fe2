import type { ParkingLotView } from "./api.js";

const numbers = new Intl.NumberFormat(undefined);
export const count = (n: number | null | undefined): string => (n == null ? "—" : numbers.format(n));

const times = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
export const when = (iso: string | undefined): string => (iso ? times.format(new Date(iso)) : "—");

export const money = (amount: number): string => numbers.format(amount);

/** Occupied share of a lot, 0–1 (a lot without capacity counts as full). */
export const occupancy = (lot: ParkingLotView): number =>
  lot.capacity > 0 ? Math.min(1, Math.max(0, (lot.capacity - lot.availableSpots) / lot.capacity)) : 1;

export type SortKey = "name" | "free" | "occupancy" | "capacity" | "id";

export const SORTS: Record<
  SortKey,
  { label: string; compare: (a: ParkingLotView, b: ParkingLotView) => number }
> = {
  name: { label: "Name", compare: (a, b) => a.name.localeCompare(b.name) },
  free: { label: "Fewest free spots", compare: (a, b) => a.availableSpots - b.availableSpots },
  occupancy: { label: "Fullest first", compare: (a, b) => occupancy(b) - occupancy(a) },
  capacity: { label: "Largest first", compare: (a, b) => b.capacity - a.capacity },
  id: { label: "Lot id", compare: (a, b) => (a.parkingLotId < b.parkingLotId ? -1 : 1) },
};

/** Lots whose name or id contains `search` (case- and width-insensitive), sorted by `sort`. */
export function visibleLots(
  lots: readonly ParkingLotView[],
  search: string,
  sort: SortKey,
): ParkingLotView[] {
  const needle = search.normalize("NFKC").trim().toLocaleLowerCase();
  const matching = needle
    ? lots.filter(
        (l) =>
          l.name.normalize("NFKC").toLocaleLowerCase().includes(needle) ||
          l.parkingLotId.toLocaleLowerCase().includes(needle),
      )
    : [...lots];
  return matching.sort(SORTS[sort].compare);
}
