import type { Document } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import { PAYMENT_CLIENT_SECRETS } from "../../projections/payments/payment-inbox.js";
import { CONTROL_CENTER } from "../../projections/read-models/control-center.js";
import { COUPONS } from "../../projections/read-models/customer-coupons.js";
import { RESERVATIONS } from "../../projections/read-models/reservations.js";
import type { PaymentView } from "../../schemas/payment-views.js";
import { fragmentRange, plateSuffixes } from "../../schemas/plates.js";
import type { CouponView, ReservationStatus, ReservationView } from "../../schemas/read-models.js";
import { statusAt } from "../../schemas/reservation-time.js";
import { couponSpendability } from "../../write-side/coupon/coupon.js";
import { mustLeaveBy, overstaySoFar, type RegisteredLot } from "../../write-side/parking-lot/decider.js";
import { statusIn } from "../../write-side/parking-lot/rules.js";
import { paymentStateOf } from "../../write-side/payment/payment-facts.js";
import type { LotQueries } from "./lot-view.js";
import { newestBelow, newestMerged, newestPage } from "./newest-merge.js";
import { newestPlateMatches } from "./plate-search.js";
import type { PageOf, ReadContext } from "./read-context.js";

/** What GET /reservations asks: filters, a page, and the position to wait for. */
export interface ReservationQuery {
  readonly parkingLotId?: string;
  /** Only these lots (a member of staff's): one bounded read per lot, merged newest first. */
  readonly parkingLotIds?: readonly string[];
  readonly customerId?: string;
  readonly carNumber?: string;
  readonly status?: ReservationStatus;
  readonly cursor?: string;
  readonly limit: number;
  readonly minPosition?: Position | null;
}

import { type StoredReservation, statusFilters, strip, type TimedView } from "./rules.js";

/**
 * The most reads of candidates one page of a status makes: past it, the page ends with the items
 * found and a cursor to go on from (only candidates that do not read the status take passes).
 */
const MAX_PASSES = 16;

/** A document's `seq` if it is a position (> 0), else 0: nothing to page below. */
const seqOf = (doc: { seq?: unknown } | undefined): number =>
  typeof doc?.seq === "number" && Number.isSafeInteger(doc.seq) && doc.seq > 0 ? doc.seq : 0;

/** Reservations and coupons, one or a page newest first, with the status the clock gives them now. */
export class ReservationQueries {
  constructor(
    private readonly ctx: ReadContext,
    private readonly lots: LotQueries,
  ) {}

  /**
   * The PaymentIntent's client secret the payments process manager kept for a booking its customer
   * confirms with Stripe.js (issue 38); undefined for a booking paid with a saved method, or before it.
   */
  async paymentClientSecret(reservationId: string): Promise<KeptSecrets | undefined> {
    const [kept] = await this.ctx.store.find<{ _id: string } & KeptSecrets>(
      PAYMENT_CLIENT_SECRETS,
      { _id: reservationId },
      { limit: 1 },
    );
    return kept && { clientSecret: kept.clientSecret, clientSecrets: kept.clientSecrets ?? [] };
  }

  async reservation(id: string, minPosition: Position | null = null): Promise<ReservationView | null> {
    // Its status is read on its lot's state, loaded from the event store (every write answered is there).
    await this.ctx.awaitPosition(RESERVATIONS, minPosition);
    const doc = strip<StoredReservation>(
      await this.ctx.store.findById(await this.ctx.collection(RESERVATIONS), id),
    );
    if (!doc) return null;
    const [view] = await this.asOf([doc], this.ctx.now());
    return view ?? null;
  }
  /**
   * Reservations as they stand at `now`, with the status their lot's decider gives them then
   * (`statusIn` on the lot's state, lots-at.ts): a window over without a check-in is NO_SHOW, a
   * car past its window OVERSTAYING, an open-ended booking still RESERVED when its lot's next closure
   * begins CANCELED, before the scheduler's events say so. An open-ended booking still to leave for a
   * closure says when (`mustLeaveBy`). One the state no longer holds has ended: its recorded status
   * is final (statusAt only turns a window over). The spans the projection keeps are not part of it.
   */
  private async asOf(docs: readonly StoredReservation[], now: number): Promise<ReservationView[]> {
    const active = docs.filter(
      (d) => d.status === "RESERVED" || d.status === "PENDING_PAYMENT" || d.status === "CHECKED_IN",
    );
    const lots = await this.lots.states.states([...new Set(active.map((d) => d.parkingLotId))]);
    return docs.map((doc) => viewAt(doc, lots.get(doc.parkingLotId), now));
  }
  /**
   * A page of reservations, newest first, each with the status its lot's decider gives it now; with
   * `status`, exactly those that read it. The store selects candidates by index (statusFilters: a
   * superset of those that read the status, each part one index range), and each candidate is
   * kept only if it reads the status: the only ones a store filter cannot tell (open-ended bookings
   * a closure's beginning cancels before the scheduler records it) are few and short-lived, so the
   * pages read past the answer only those.
   */
  async reservations(options: ReservationQuery): Promise<PageOf<ReservationView>> {
    const filter: Record<string, unknown> = {};
    if (options.parkingLotId) filter.parkingLotId = options.parkingLotId;
    if (options.customerId) filter.customerId = options.customerId;
    await this.ctx.awaitPosition(RESERVATIONS, options.minPosition ?? null);
    if (options.carNumber) return this.byPlate(options.carNumber, filter, options);
    const now = this.ctx.now();
    const newest = newestBelow(this.ctx.store, await this.ctx.collection(RESERVATIONS));
    const closing = options.status === "CANCELED" ? await this.lotsClosingUnrecorded(now) : [];
    // A member of staff scoped to lots reads each of theirs (an index range each); a condition on
    // the lots closing now keeps only those of them.
    const lots: { parkingLotId?: string }[] = options.parkingLotIds?.map((parkingLotId) => ({
      parkingLotId,
    })) ?? [{}];
    const conditions = statusFilters(options.status, now, closing)
      .filter((c) => !options.parkingLotId || !c.parkingLotId || closing.includes(options.parkingLotId))
      .flatMap((c) =>
        lots.flatMap((lot) =>
          lot.parkingLotId !== undefined &&
          c.parkingLotId !== undefined &&
          !closing.includes(lot.parkingLotId)
            ? []
            : [{ ...c, ...lot }],
        ),
      );
    // No lot to read (a scope of none: read-api/access.ts answers it before asking) is no page.
    if (conditions.length === 0) return { items: [], nextCursor: null };
    const items: ReservationView[] = [];
    let cursor = options.cursor;
    // Each pass reads strictly below the last (floor < cursor); a pass past MAX_PASSES ends the
    // page early with a cursor to go on from, as a plate search's page may.
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      // The page and one more, merged over the conditions' index ranges (each read lazily).
      const below = cursor === undefined ? undefined : Number(cursor);
      const all = conditions.map((c) => ({ ...c, ...filter }));
      const docs = await newestMerged(all, newest, below, options.limit + 1);
      // Complete down to the last document if it was cut (limit + 1 found).
      const floor = docs.length > options.limit ? seqOf(docs.at(-1)) : 0;
      const complete = docs.filter((d) => d.seq > floor);
      const views = await this.asOf(
        complete.map((d) => strip<StoredReservation>(d) as StoredReservation),
        now,
      );
      for (const [k, view] of views.entries()) {
        if (options.status !== undefined && view.status !== options.status) continue;
        items.push(view);
        if (items.length === options.limit) {
          const more = k < views.length - 1 || floor > 0;
          return { items, nextCursor: more ? String(complete[k]?.seq) : null };
        }
      }
      if (floor === 0 || (cursor !== undefined && floor + 1 >= Number(cursor))) {
        return { items, nextCursor: null };
      }
      cursor = String(floor + 1);
    }
    return { items, nextCursor: cursor ?? null };
  }
  /**
   * The lots with a closure begun that the scheduler has yet to record (its open-ended bookings
   * read CANCELED before any fact says so): the control center's closures still `due` by now.
   */
  private async lotsClosingUnrecorded(now: number): Promise<string[]> {
    const docs = await this.ctx.store.find(await this.ctx.collection(CONTROL_CENTER), {
      due: { $lte: new Date(now).toISOString() },
    });
    return [...new Set(docs.map((d) => String(d.parkingLotId)))];
  }
  /**
   * A page of the reservations whose plate holds `fragment`: the newest limit + 1 matches (an
   * index range, plate-search.ts), the first `limit` of them read by id and kept if they have the
   * status asked for. With a status, a page may hold fewer than `limit` items and still name a
   * next cursor: the cursor walks the matches, not the page.
   */
  private async byPlate(
    fragment: string,
    filter: Record<string, unknown>,
    options: ReservationQuery,
  ): Promise<PageOf<ReservationView>> {
    const now = this.ctx.now();
    const scope = { ...filter, ...(options.cursor ? { cursor: options.cursor } : {}) };
    // A member of staff scoped to lots searches each of theirs (the lot's plates' index range) and
    // pages the merged matches: a match on another lot is never read, so neither the page nor its
    // cursor says anything of one (issue 46).
    const scopes = options.parkingLotIds?.map((parkingLotId) => ({ ...scope, parkingLotId })) ?? [scope];
    const matches = (
      await Promise.all(scopes.map((s) => newestPlateMatches(this.ctx, fragment, s, options.limit + 1)))
    )
      .flat()
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit + 1);
    const examined = matches.slice(0, options.limit);
    if (examined.length === 0) return { items: [], nextCursor: null };
    const reservations = await this.ctx.collection(RESERVATIONS);
    // At most `limit` documents, read by id; the decider's status at `now` decides which are kept
    // (as in `reservations`), so no store filter restates the status rule.
    const docs = await this.ctx.store.find<Document & { seq: number }>(reservations, {
      _id: { $in: examined.map((m) => m.reservationId) },
    });
    docs.sort((a, b) => b.seq - a.seq);
    const views = await this.asOf(
      docs.map((d) => strip<StoredReservation>(d) as StoredReservation),
      now,
    );
    return {
      items: views.filter((view) => options.status === undefined || view.status === options.status),
      nextCursor: matches.length > options.limit ? String(examined.at(-1)?.seq) : null,
    };
  }
  /**
   * The reservation whose coupon this is (issue 47: a booking spending it finds the coupon's
   * stream so; what the coupon is, is then read from that stream), if the read model has it.
   */
  async couponReservation(couponId: string): Promise<string | undefined> {
    const doc = await this.ctx.store.findById<Document & { reservationId?: string }>(
      await this.ctx.collection(COUPONS),
      couponId,
    );
    return doc?.reservationId;
  }
  /**
   * A page of a customer's coupons, newest first; with `parkingLotIds` (a member of staff scoped to
   * lots) only those of these lots: one index range per lot, merged, so the page and its cursor
   * hold nothing of another lot.
   */
  async customerCoupons(
    customerId: string,
    options: {
      cursor?: string;
      limit: number;
      minPosition?: Position | null;
      parkingLotIds?: readonly string[];
    },
  ): Promise<PageOf<CouponView>> {
    const { parkingLotIds, ...page } = options;
    const filters = parkingLotIds?.map((parkingLotId) => ({ customerId, parkingLotId })) ?? [{ customerId }];
    const found = await newestPage<CouponView>(this.ctx, COUPONS, filters, page);
    const now = this.ctx.now();
    return { ...found, items: found.items.map((coupon) => spendableAt(coupon, now)) };
  }
}

/**
 * A payment as its booking's customer sees it, with the client secrets kept for them: while it
 * waits for them (pending, action-required) the latest, on the payment; issue 71: else, on each
 * refused charge, its own intent's (a client secret begins with its intent's id, Stripe's
 * `pi_…_secret_…`; an older version kept the latest only), to pay it.
 */
export function withClientSecret(payment: PaymentView, kept: KeptSecrets): PaymentView {
  if (payment.state === "pending" || payment.state === "action-required")
    return { ...payment, clientSecret: kept.clientSecret };
  const secretOf = (intentId?: string) =>
    intentId === undefined
      ? undefined
      : [kept.clientSecret, ...(kept.clientSecrets ?? [])].find((s) => s.startsWith(`${intentId}_secret_`));
  const failures = payment.failures.map((f) => {
    const clientSecret = secretOf(f.intentId);
    return clientSecret ? { ...f, clientSecret } : f;
  });
  return { ...payment, failures };
}

/** A booking's client secrets as the payments process kept them: the latest, and every one (older: the latest only). */
export type KeptSecrets = { readonly clientSecret: string; readonly clientSecrets?: readonly string[] };

/**
 * A stored reservation as it stands at `now` on its lot's state (null: none read, the lot's
 * unregistered or the booking no longer active): see ReservationQueries.asOf.
 */
function viewAt(
  { heldFrom: _f, heldUntil: _u, mustLeaveBy: told, ...stored }: StoredReservation,
  lot: RegisteredLot | null | undefined,
  now: number,
): ReservationView {
  // Issue 38: the payment's state as the decider reads it from what was recorded.
  const paid = stored.payment
    ? { ...stored, payment: { ...stored.payment, state: paymentStateOf(stored.payment) } }
    : stored;
  // Issue 71: whether its coupon is spendable now, as the coupon's decider says.
  const view = paid.coupon ? { ...paid, coupon: spendableAt(paid.coupon, now) } : paid;
  const record = lot?.reservations.get(view.reservationId);
  if (!lot || !record) {
    const status = statusAt({ ...view, mustLeaveBy: told } as TimedView, now);
    return { ...view, status, ...(told && status === "RESERVED" ? { mustLeaveBy: told } : {}) };
  }
  const status = statusIn(lot, view.reservationId, record, now);
  const leave = status === "RESERVED" ? mustLeaveBy(lot, view.reservationId) : undefined;
  const over = status === "OVERSTAYING" ? overstaySoFar(lot, view.reservationId, now) : undefined;
  return {
    ...view,
    status,
    ...(leave ? { mustLeaveBy: leave } : {}),
    ...(over ? { overstay: { minutes: over.minutes, chargeSoFar: over.charge } } : {}),
  };
}

/**
 * Time travel's table of one lot as of a moment: the reservations the lot's state holds then (those
 * booked in the period holding the moment, and those its opening carries: able to hold a spot, or
 * ended within the idempotency window), each as that state records it with the status the decider
 * gives it at `now` (viewAt, as the live table), by reservation id; `cursor` is the place in the
 * state's sorted reservations the next page goes on from (the same moment is the same state), so a
 * page costs its rows and what its filter passes over. What only a reservation's own facts hold
 * (its booking's instant and position, its steps' times but a car's check-in while it is in, its
 * payment and coupon) is left out: GET /reservations/{id}?asOf= folds them.
 */
export function heldReservations(
  lot: RegisteredLot,
  now: number,
  query: Pick<ReservationQuery, "customerId" | "carNumber" | "status" | "cursor" | "limit">,
): PageOf<ReservationView> {
  const plate = query.carNumber === undefined ? undefined : fragmentRange(query.carNumber);
  const items: ReservationView[] = [];
  const from = query.cursor === undefined ? 0 : Number(query.cursor);
  let at = from - 1; // the index of the entry looked at
  for (const [reservationId, record] of lot.reservations.entriesFrom(from)) {
    at++;
    if (query.customerId !== undefined && record.customerId !== query.customerId) continue;
    if (plate && !plateSuffixes(record.carNumber).some((s) => s >= plate.$gte && s < plate.$lt)) continue;
    // The decider's status first (viewAt reads the same): only the page's rows are made.
    if (query.status !== undefined && statusIn(lot, reservationId, record, now) !== query.status) continue;
    // The next match after a full page: the next page starts with it.
    if (items.length === query.limit) return { items, nextCursor: String(at) };
    const { customerId, carNumber, amount, status, startsAt, endsAt, overstayCharge } = record;
    const car = lot.inLot.get(reservationId);
    const rate = lot.checkOutRates.get(reservationId);
    const stored: StoredReservation = {
      reservationId,
      parkingLotId: lot.parkingLotId,
      customerId,
      carNumber,
      amount,
      status,
      ...(startsAt !== undefined && endsAt !== undefined ? { startsAt, endsAt } : {}),
      ...(overstayCharge ? { overstayCharge } : {}),
      ...(car ? { checkedInAt: new Date(car.checkedInAt).toISOString() } : {}),
      ...(rate !== undefined ? { hourlyRate: rate } : {}),
    };
    items.push(viewAt(stored, lot, now));
  }
  return { items, nextCursor: null };
}

/** A stored coupon with whether it is spendable at `now` (issue 71: the coupon decider's rule). */
function spendableAt<C extends { status: CouponView["status"]; spendableFrom?: string | undefined }>(
  coupon: C,
  now: number,
): C & { spendable: boolean } {
  const { spendableFrom: _stored, ...rest } = coupon;
  return { ...rest, ...couponSpendability(coupon, now) } as C & { spendable: boolean };
}
