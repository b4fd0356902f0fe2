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
import { type StoredReservation, statusFilters, strip, type TimedView } from "./rules.js";

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

/** A listing's lot (or every lot) and customer (or every customer). */
type Scope = { readonly parkingLotId?: string; readonly customerId?: string };

/** Bound on the candidate reads of one page of a status: past it, the page ends with a cursor. */
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

  /** The client secrets kept for a booking confirmed with Stripe.js (none for a saved method). */
  async paymentClientSecret(reservationId: string): Promise<KeptSecrets | null> {
    const kept = await this.ctx.store.findById<Document & KeptSecrets>(PAYMENT_CLIENT_SECRETS, reservationId);
    return kept && { clientSecret: kept.clientSecret, clientSecrets: kept.clientSecrets ?? [] };
  }

  async reservation(id: string, minPosition: Position | null = null): Promise<ReservationView | null> {
    await this.ctx.awaitPosition(RESERVATIONS, minPosition);
    const doc = await this.ctx.store.findById(await this.ctx.collection(RESERVATIONS), id);
    if (!doc) return null;
    const [view] = await this.asOf([doc], this.ctx.now());
    return view ?? null;
  }
  /**
   * Reservations with the status their lot's decider gives them at `now`, ahead of the scheduler's
   * events (NO_SHOW, OVERSTAYING, CANCELED by a closure begun); one the state no longer holds has ended.
   */
  private async asOf(found: readonly Document[], now: number): Promise<ReservationView[]> {
    const docs = found.map((d) => strip<StoredReservation>(d) as StoredReservation);
    const active = docs.filter(
      (d) => d.status === "RESERVED" || d.status === "PENDING_PAYMENT" || d.status === "CHECKED_IN",
    );
    const lots = await this.lots.states.states([...new Set(active.map((d) => d.parkingLotId))]);
    return docs.map((doc) => viewAt(doc, lots.get(doc.parkingLotId), now));
  }
  /**
   * A page newest first; with `status`, the store's index ranges give a superset (statusFilters) and
   * the decider's status keeps the rest: what no store filter can tell is few and short-lived.
   */
  async reservations(options: ReservationQuery): Promise<PageOf<ReservationView>> {
    await this.ctx.awaitPosition(RESERVATIONS, options.minPosition ?? null);
    // The lot asked for, else a member of staff's lots (one bounded read each), else every lot.
    const customer = options.customerId ? { customerId: options.customerId } : {};
    const lots: Scope[] = (options.parkingLotId ? [options.parkingLotId] : options.parkingLotIds)?.map(
      (parkingLotId) => ({ parkingLotId, ...customer }),
    ) ?? [customer];
    if (options.carNumber) return this.byPlate(options.carNumber, lots, options);
    const now = this.ctx.now();
    const newest = newestBelow(this.ctx.store, await this.ctx.collection(RESERVATIONS));
    const closing = options.status === "CANCELED" ? await this.lotsClosingUnrecorded(now) : [];
    // A condition on the lots closing (statusFilters) holds only for a lot asked for that is one of them.
    const conditions = statusFilters(options.status, now, closing).flatMap((c) =>
      lots.flatMap((lot) =>
        lot.parkingLotId !== undefined && c.parkingLotId !== undefined && !closing.includes(lot.parkingLotId)
          ? []
          : [{ ...c, ...lot }],
      ),
    );
    if (conditions.length === 0) return { items: [], nextCursor: null };
    const items: ReservationView[] = [];
    let cursor = options.cursor;
    // Each pass reads strictly below the last (floor < cursor).
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const below = cursor === undefined ? undefined : Number(cursor);
      const docs = await newestMerged(conditions, newest, below, options.limit + 1);
      // Complete down to the last document if it was cut (limit + 1 found).
      const floor = docs.length > options.limit ? seqOf(docs.at(-1)) : 0;
      const complete = docs.filter((d) => d.seq > floor);
      const views = await this.asOf(complete, now);
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
  /** Lots with a closure begun the scheduler has yet to record: their open-ended bookings read CANCELED. */
  private async lotsClosingUnrecorded(now: number): Promise<string[]> {
    const docs = await this.ctx.store.find(await this.ctx.collection(CONTROL_CENTER), {
      due: { $lte: new Date(now).toISOString() },
    });
    return [...new Set(docs.map((d) => String(d.parkingLotId)))];
  }
  /** With a status, a page may hold fewer than `limit` items and a next cursor: it walks the matches. */
  private async byPlate(
    fragment: string,
    lots: readonly Scope[],
    options: ReservationQuery,
  ): Promise<PageOf<ReservationView>> {
    const now = this.ctx.now();
    const cursor = options.cursor ? { cursor: options.cursor } : {};
    // Staff scoped to lots search each of theirs: a match on another lot is never read, so neither
    // the page nor its cursor says anything of one.
    const matches = (
      await Promise.all(
        lots.map((lot) => newestPlateMatches(this.ctx, fragment, { ...lot, ...cursor }, options.limit + 1)),
      )
    )
      .flat()
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit + 1);
    const examined = matches.slice(0, options.limit);
    if (examined.length === 0) return { items: [], nextCursor: null };
    const reservations = await this.ctx.collection(RESERVATIONS);
    // The decider's status decides which are kept: no store filter restates the status rule.
    const docs = await this.ctx.store.find<Document & { seq: number }>(reservations, {
      _id: { $in: examined.map((m) => m.reservationId) },
    });
    docs.sort((a, b) => b.seq - a.seq);
    const views = await this.asOf(docs, now);
    return {
      items: views.filter((view) => options.status === undefined || view.status === options.status),
      nextCursor: matches.length > options.limit ? String(examined.at(-1)?.seq) : null,
    };
  }
  /** The reservation whose coupon this is: a booking spending it finds the coupon's stream so. */
  async couponReservation(couponId: string): Promise<string | undefined> {
    const doc = await this.ctx.store.findById<Document & { reservationId?: string }>(
      await this.ctx.collection(COUPONS),
      couponId,
    );
    return doc?.reservationId;
  }
  /** A customer's coupons, newest first; scoped to lots, the page and its cursor hold nothing of another. */
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
 * A payment with its client secrets: while it waits the latest, else each refused charge its own
 * intent's (Stripe's secret begins with its intent's id, `pi_…_secret_…`).
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

/** A stored reservation at `now` on its lot's state (none: it has ended, its status is the recorded one). */
function viewAt(
  { heldFrom: _f, heldUntil: _u, mustLeaveBy: told, ...stored }: StoredReservation,
  lot: RegisteredLot | null | undefined,
  now: number,
): ReservationView {
  const paid = stored.payment
    ? { ...stored, payment: { ...stored.payment, state: paymentStateOf(stored.payment) } }
    : stored;
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
 * Time travel's table of one lot as of a moment, from the reservations its state holds then;
 * `cursor` is an index in them (the same moment is the same state), so a page costs its rows. What
 * only a reservation's own facts hold is left out: GET /reservations/{id}?asOf= folds them.
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
  for (const [reservationId, record] of lot.reservations.entries(from)) {
    at++;
    if (query.customerId !== undefined && record.customerId !== query.customerId) continue;
    if (plate && !plateSuffixes(record.carNumber).some((s) => s >= plate.$gte && s < plate.$lt)) continue;
    if (query.status !== undefined && statusIn(lot, reservationId, record, now) !== query.status) continue;
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

/** A stored coupon with whether it is spendable at `now`, by the coupon decider's rule. */
function spendableAt<C extends { status: CouponView["status"]; spendableFrom?: string | undefined }>(
  coupon: C,
  now: number,
): C & { spendable: boolean } {
  const { spendableFrom: _stored, ...rest } = coupon;
  return { ...rest, ...couponSpendability(coupon, now) } as C & { spendable: boolean };
}
