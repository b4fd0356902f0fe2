import type { ReservationView } from "./api.js";
import { count } from "./format.js";
import { type MessageId, t } from "./i18n.js";

/** What announcing a closure [from, until) would do, as docs/domain.md "Closures" says. */
export interface ClosurePreview {
  /** When it begins: its `from`, or now if that is past (it then begins in the same append). */
  readonly beginsAt: number;
  /** Windows overlapping it and still RESERVED: canceled at once (reason `lot-closed`). */
  readonly canceledNow: readonly ReservationView[];
  /** Open-ended bookings still RESERVED: canceled when it begins unless the car has checked in. */
  readonly canceledWhenItBegins: readonly ReservationView[];
  /** Cars in the lot whose stay reaches into it: never canceled, listed for operators. */
  readonly carsInLot: readonly ReservationView[];
}

const ms = (iso: string | undefined): number => (iso === undefined ? Number.NaN : Date.parse(iso));

/**
 * The preview of a closure, from the lot's reservations as the page read them (statuses as the
 * service's clock gives them). A reservation whose window does not overlap the closure keeps its
 * spot; an open-ended one is canceled when the closure begins (at once if it begins now).
 */
export function previewClosure(
  reservations: readonly ReservationView[],
  from: number,
  until: number,
  now: number,
): ClosurePreview {
  const beginsAt = Math.max(from, now);
  const overlaps = (r: ReservationView) => ms(r.startsAt) < until && ms(r.endsAt) > from;
  const windowed = (r: ReservationView) => r.startsAt !== undefined;
  const canceledNow: ReservationView[] = [];
  const canceledWhenItBegins: ReservationView[] = [];
  const carsInLot: ReservationView[] = [];
  for (const r of reservations) {
    if (r.status === "RESERVED") {
      if (windowed(r)) {
        if (overlaps(r)) canceledNow.push(r);
      } else if (beginsAt <= now) canceledNow.push(r);
      else canceledWhenItBegins.push(r);
    } else if (r.status === "CHECKED_IN" || r.status === "OVERSTAYING") {
      if (!windowed(r) || r.status === "OVERSTAYING" || overlaps(r)) carsInLot.push(r);
    }
  }
  const byStart = (a: ReservationView, b: ReservationView) =>
    (a.startsAt ?? a.reservedAt ?? "").localeCompare(b.startsAt ?? b.reservedAt ?? "");
  return {
    beginsAt,
    canceledNow: canceledNow.sort(byStart),
    canceledWhenItBegins: canceledWhenItBegins.sort(byStart),
    carsInLot: carsInLot.sort(byStart),
  };
}

/** How many a closure cancels now, cancels when it begins, and leaves in the lot. */
export interface ClosureCounts {
  readonly canceledNow: number;
  readonly canceledWhenItBegins: number;
  readonly carsInLot: number;
}

/**
 * A closure's effect in words, the one wording of both its preview and its result message (the
 * result's `canceledNow` is the count the service answered), so the two say the same thing.
 */
export function describeClosure(counts: ClosureCounts): string {
  const words = (id: MessageId, n: number) => t(id, { count: n, n: count(n) });
  return [
    words("closures.effectNow", counts.canceledNow),
    words("closures.effectBegins", counts.canceledWhenItBegins),
    words("closures.effectCars", counts.carsInLot),
  ].join(", ");
}

/** The counts of a preview. */
export const countsOf = (preview: ClosurePreview): ClosureCounts => ({
  canceledNow: preview.canceledNow.length,
  canceledWhenItBegins: preview.canceledWhenItBegins.length,
  carsInLot: preview.carsInLot.length,
});
