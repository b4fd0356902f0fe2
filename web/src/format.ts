import { instantOfWall, offsetAt } from "../../platform/local-time.js";
import { currencyRule, PAYMENT_CURRENCIES } from "../../schemas/currencies.js";
import type { ParkingLotView } from "./api.js";
import { locale, type MessageId } from "./i18n.js";

const numbers = new Intl.NumberFormat(locale);
export const count = (n: number | null | undefined): string => (n == null ? "—" : numbers.format(n));

export const money = (amount: number): string => numbers.format(amount);

const days = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" });
/** A local day (YYYY-MM-DD, already the lot's) in the page's language: `Nov 29, 2026`, `2026. 11. 29.`. */
export const dayInWords = (day: string): string => days.format(new Date(`${day}T12:00:00Z`));

const percents = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
/** A share, 0–1, as a percentage in the page's language (`42%`). */
export const percentOf = (share: number): string => percents.format(share);

/**
 * The abbreviation people use for a zone at an instant (KST, EDT, CET, IST, AEDT, UTC): the
 * runtime's short name (CLDR's) in the English locale of a country that has one, else the initials
 * of its long name ("Korean Standard Time": KST, "Japan Standard Time": JST), else its offset
 * (GMT+5:45). One answer per zone and offset, kept.
 */
const ABBREVIATION_LOCALES = ["en-US", "en-GB", "en-IN", "en-AU", "en-NZ", "en-CA", "en-IE", "en-ZA"];
const abbreviations = new Map<string, string>();
const zoneName = (locale: string, timeZone: string, style: "short" | "long", at: number): string =>
  new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: style })
    .formatToParts(new Date(at))
    .find((p) => p.type === "timeZoneName")?.value ?? timeZone;
const initialsOf = (long: string): string =>
  long
    .split(/\s+/)
    .map((w) => w[0])
    .join("")
    .toUpperCase();
/**
 * Whether another offset the zone keeps within a year of `at` has a long name with the same
 * initials ("Chile Summer Time" and "Chile Standard Time" are both CST): then the initials would
 * read two instants of a repeated hour alike, and the offset (GMT-3, GMT-4) names them instead.
 */
function initialsTaken(at: number, timeZone: string, initials: string): boolean {
  const offset = offsetAt(at, timeZone);
  for (let k = -12; k <= 12; k++) {
    const other = at + k * 30 * 86_400_000;
    if (
      offsetAt(other, timeZone) !== offset &&
      initialsOf(zoneName("en-US", timeZone, "long", other)) === initials
    )
      return true;
  }
  return false;
}
export function abbreviationOf(at: number, timeZone: string): string {
  const key = `${timeZone} ${offsetAt(at, timeZone)}`;
  let found = abbreviations.get(key);
  if (found === undefined) {
    const short = ABBREVIATION_LOCALES.map((l) => zoneName(l, timeZone, "short", at)).find((n) =>
      /^[A-Z]{2,5}$/.test(n),
    );
    const long = zoneName("en-US", timeZone, "long", at);
    const initials = initialsOf(long);
    found =
      short ??
      (/^(GMT|UTC|Coordinated)/.test(long) || !/ Time$/.test(long) || initialsTaken(at, timeZone, initials)
        ? zoneName("en-US", timeZone, "short", at)
        : initials);
    abbreviations.set(key, found);
  }
  return found;
}

/**
 * A lot's clock (issue 49): every time the page shows of a lot, in the lot's time zone with its
 * abbreviation, whatever the browser's zone is; and the wall-clock times an operator types (a
 * closure's from and until) read in that zone.
 */
export interface Clock {
  /** The IANA zone, as the lot keeps it. */
  readonly zone: string;
  /** Date and time to the second: `2026. 11. 27. 15:04:05 KST` (the browser's locale, the lot's zone). */
  when(iso: string | undefined): string;
  /** A range to the minute, its end's date left out when it is the same local day. */
  range(from: string, until: string): string;
  /** Hours and minutes with the abbreviation: `15:00 KST`. */
  hour(iso: string): string;
  /** The zone's abbreviation at an instant (now by default). */
  abbreviation(at?: number): string;
  /** An instant as a datetime-local input of the lot shows it (`YYYY-MM-DDTHH:MM`, the lot's wall clock). */
  toInput(at: number): string;
  /** What a datetime-local input holds, read as the lot's wall clock, as an instant (ms). */
  fromInput(value: string): number;
}

const clocks = new Map<string, Clock>();
/** The clock of a zone (UTC for a lot without one); one per zone. */
export function clockOf(timeZone = "UTC"): Clock {
  const kept = clocks.get(timeZone);
  if (kept) return kept;
  const format = (options: Intl.DateTimeFormatOptions) =>
    new Intl.DateTimeFormat(locale, { ...options, timeZone });
  const times = format({
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  const minutes = format({
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  const hours = format({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const day = format({ year: "numeric", month: "2-digit", day: "2-digit" });
  const abbreviation = (at: number = Date.now()) => abbreviationOf(at, timeZone);
  const clock: Clock = {
    zone: timeZone,
    when: (iso) => (iso ? `${times.format(new Date(iso))} ${abbreviation(Date.parse(iso))}` : "—"),
    range: (from, until) => {
      const a = new Date(from);
      const b = new Date(until);
      const [x, y] = [abbreviation(a.getTime()), abbreviation(b.getTime())];
      const start = x === y ? minutes.format(a) : `${minutes.format(a)} ${x}`;
      return day.format(a) === day.format(b)
        ? `${start} – ${hours.format(b)} ${y}`
        : `${start} – ${minutes.format(b)} ${y}`;
    },
    hour: (iso) => `${hours.format(new Date(iso))} ${abbreviation(Date.parse(iso))}`,
    abbreviation,
    toInput: (at) => new Date(at + offsetAt(at, timeZone)).toISOString().slice(0, 16),
    fromInput: (value) => instantOfWall(Date.parse(`${value.slice(0, 16)}:00.000Z`), timeZone),
  };
  clocks.set(timeZone, clock);
  return clock;
}

/**
 * How many digits a currency's minor unit has in the API's amounts (KRW 0, USD 2, KWD 3): Stripe's
 * count (schemas/currencies.ts) where it takes the currency, so ISK and HUF (whole units to the
 * browser's Intl, two decimals in Stripe's amounts) are not shown 100 times too large (issue 71);
 * else the browser's Intl.
 */
const minorDigits = (currency: string): number => {
  if (PAYMENT_CURRENCIES.includes(currency.toUpperCase())) return currencyRule(currency).digits;
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
  const major = new Intl.NumberFormat(locale, {
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
  { label: MessageId; compare: (a: ParkingLotView, b: ParkingLotView) => number }
> = {
  name: { label: "lots.sort.name", compare: (a, b) => a.name.localeCompare(b.name, locale) },
  free: { label: "lots.sort.free", compare: (a, b) => a.availableSpots - b.availableSpots },
  occupancy: { label: "lots.sort.occupancy", compare: (a, b) => occupancy(b) - occupancy(a) },
  capacity: { label: "lots.sort.capacity", compare: (a, b) => b.capacity - a.capacity },
  id: { label: "lots.sort.id", compare: (a, b) => (a.parkingLotId < b.parkingLotId ? -1 : 1) },
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
