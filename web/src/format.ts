import type { ParkingLotView } from "./api.js";

const numbers = new Intl.NumberFormat(undefined);
export const count = (n: number | null | undefined): string => (n == null ? "—" : numbers.format(n));

const times = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
export const when = (iso: string | undefined): string => (iso ? times.format(new Date(iso)) : "—");

const minutes = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });
const day = new Intl.DateTimeFormat(undefined, { dateStyle: "short" });
/** A range of time, to the minute: its end's date left out when it is the same day. */
export const range = (from: string, until: string): string => {
  const a = new Date(from);
  const b = new Date(until);
  return day.format(a) === day.format(b)
    ? `${minutes.format(a)} – ${hours.format(b)}`
    : `${minutes.format(a)} – ${minutes.format(b)}`;
};

export const money = (amount: number): string => numbers.format(amount);

/** How many digits a currency's minor unit has (KRW 0, USD 2), as the browser's Intl knows it. */
const minorDigits = (currency: string): number => {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits as number;
  } catch {
    return 0;
  }
};
/** An amount in a currency's minor unit, written in its major unit without the code: `1,500`, `12.50`. */
export const majorAmount = (amount: number, currency: string): string => {
  const digits = minorDigits(currency);
  const major = new Intl.NumberFormat(undefined, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return major.format(amount / 10 ** digits);
};
/** An amount in a currency's minor unit, in its major unit with its code: `1,500 KRW`, `12.50 USD`. */
export const moneyIn = (amount: number, currency: string): string =>
  `${majorAmount(amount, currency)} ${currency}`;
/** What an operator types in a currency's major unit (`12.5` USD), in its minor unit (1250). */
export const minorAmount = (major: number, currency: string): number =>
  Math.round(major * 10 ** minorDigits(currency));
/** The smallest step of a currency's major unit (KRW 1, USD 0.01), for a number input. */
export const majorStep = (currency: string): number => 10 ** -minorDigits(currency);

/** Hours and minutes of an instant, in the browser's time zone (the next hours of a lot). */
const hours = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
export const hourOf = (iso: string): string => hours.format(new Date(iso));

/**
 * Share of a lot's spots not free, 0–1, from what the API says is free at this moment
 * (`availableSpots`: windows holding a spot now, check-outs and closures counted; a lot closed now
 * has none free). A lot without capacity counts as full.
 */
export const taken = (capacity: number, free: number): number =>
  capacity > 0 ? Math.min(1, Math.max(0, (capacity - free) / capacity)) : 1;

/** Occupied share of a lot now, 0–1 (see taken). */
export const occupancy = (lot: Pick<ParkingLotView, "capacity" | "availableSpots">): number =>
  taken(lot.capacity, lot.availableSpots);

/** The tone of an occupancy bar. */
export const tone = (share: number): "full" | "busy" | "calm" =>
  share >= 0.9 ? "full" : share >= 0.6 ? "busy" : "calm";

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
