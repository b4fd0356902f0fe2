import type { EventStore } from "../event-store/port.js";
import { formatPosition, type Position } from "../event-store/position.js";
import { controlCenterProjection } from "../projections/read-models/control-center.js";
import { parkingLotsProjection } from "../projections/read-models/parking-lots.js";
import { reservationsProjection } from "../projections/read-models/reservations.js";
import type { Cut } from "../read-api/time-travel/as-of.js";
import { FoldState } from "../read-api/time-travel/fold-state.js";
import { readViews, type Views } from "../read-api/views/views.js";
import { decodeEvent } from "../schemas/event-codec.js";
import { stampMsOfRaw } from "../schemas/event-stamps.js";
import type { LotReach } from "../schemas/lot-reach.js";
import type { ReservationView } from "../schemas/read-models.js";
import { parkingLotOfStream } from "../write-side/parking-lot/decider.js";
import { foldedLots } from "./folded-lots.js";

/**
 * A view as the live service shows it over the same log, independent of time travel's
 * checkpoints, books, periods and loader: the whole log up to the cut folded into read models and
 * each lot's decider state (every event of the lot's streams, with `evolve`), read by the views,
 * with the moment it reflects. The reference time travel's answers are held to.
 */
export async function liveAt<T extends object>(
  store: EventStore,
  cut: Cut,
  ask: (views: Views) => Promise<T | null>,
): Promise<(T & { asOf: { position: string | null; at: string } }) | null> {
  const state = new FoldState([parkingLotsProjection, reservationsProjection, controlCenterProjection]);
  let last: Position | null = null;
  let stampMs = Number.NEGATIVE_INFINITY;
  const lots = foldedLots();
  for await (const raw of store.readAll()) {
    const stamp = stampMsOfRaw(raw.type, raw.data);
    if (cut.kind === "position" ? raw.position.commit > cut.commit : stamp > cut.ms) break;
    const decoded = decodeEvent(raw);
    state.apply(decoded);
    // The lot's own streams' events only (a payment's stream names its lot too).
    if (parkingLotOfStream(raw.streamId) !== undefined) lots.add(decoded.event);
    last = raw.position;
    stampMs = Math.max(stampMs, stamp);
  }
  const nowMs = cut.kind === "instant" ? cut.ms : last ? stampMs : Date.parse("2000-01-01T00:00:00Z");
  const views = readViews(state.materialize(last), {
    readYourWritesTimeoutMs: 0,
    now: () => nowMs,
    lots: lots.lots,
  });
  const view = await ask(views);
  return (
    view && { ...view, asOf: { position: last && formatPosition(last), at: new Date(nowMs).toISOString() } }
  );
}

/**
 * A lot's view without what the lot as of a moment leaves out (issue 68: it is the lot's state
 * then, which keeps no such thing): when a fact last changed it, its closures' reasons and the
 * cars in the lot when each began; and its list of closures when none is in force or ahead (the
 * state forgets ended ones).
 */
export function lotAsOfShows<T extends object>(lot: T): T {
  const { updatedAt: _, closures, ...rest } = lot as T & { updatedAt?: string; closures?: object[] };
  const plain = closures?.map((c) => {
    const { reason: _r, carsInLot: _c, ...closure } = c as { reason?: string; carsInLot?: string[] };
    return closure;
  });
  return { ...rest, ...(plain?.length ? { closures: plain } : {}) } as T;
}

/**
 * A reservation's row as a lot's table as of a moment shows it (issue 68: the reservations its
 * state holds then, by id, each as the state records it: read-api/views/reservation-view.ts,
 * heldReservations): no booking instant or position, no step's time but a car's check-in while it
 * is in, no payment nor coupon.
 */
export function tableRowAsOfShows(r: ReservationView): ReservationView {
  const { reservedAt: _r, position: _p, checkedOutAt: _o, canceledAt: _c, cancelReason: _w, ...row } = r;
  const { payment: _pay, coupon: _coupon, spentCoupon: _s, couponDue: _d, checkedInAt, ...shown } = row;
  const inLot = r.status === "CHECKED_IN" || r.status === "OVERSTAYING";
  return { ...shown, ...(inLot && checkedInAt ? { checkedInAt } : {}) };
}

/** A page of a lot's table as a table as of a moment shows it: each row so (tableRowAsOfShows), by id. */
export function tableAsOfShows<T extends { items: ReservationView[] }>(page: T): T {
  const items = page.items.map(tableRowAsOfShows);
  return { ...page, items: items.sort((a, b) => (a.reservationId < b.reservationId ? -1 : 1)) };
}

/** A control center's answer with each lot as a lot as of a moment shows it (lotAsOfShows). */
export function controlCenterAsOfShows<T extends { parkingLots: object[] }>(view: T): T {
  return { ...view, parkingLots: view.parkingLots.map(lotAsOfShows) };
}

/** The control center as the live service shows it over the same log (liveAt), each lot as of a moment shows it. */
export async function liveControlCenterAt(
  store: EventStore,
  cut: Cut,
  page: { readonly limit: number; readonly within?: LotReach },
): Promise<unknown> {
  const view = await liveAt(store, cut, (views) => views.controlCenter.controlCenter(page));
  return view && controlCenterAsOfShows(view);
}
