import type { DocumentStore } from "../document-store/port.js";
import type { Position } from "../event-store/position.js";
import { PAYMENT_CLIENT_SECRETS } from "../projections/payments/payment-plans.js";
import type { LotReach } from "../schemas/lot-reach.js";
import type {
  ActivityMinute,
  ControlCenterView,
  CouponView,
  ParkingLotDetail,
  ParkingLotView,
  ReservationView,
  TimelineView,
} from "../schemas/read-models.js";
import { ControlCenterQueries } from "./views/control-center-view.js";
import { LotQueries } from "./views/lot-view.js";
import { type PageOf, ReadContext, type ReadOptions } from "./views/read-context.js";
import { type IndexedReservationEvents, reservationEvents } from "./views/reservation-events-view.js";
import { ReservationQueries, type ReservationQuery } from "./views/reservation-view.js";

export type { ProjectionsInfo } from "./projections-info.js";
export {
  type PageOf,
  PositionBeyondHeadError,
  PositionNotReachedError,
  type ProgressSource,
  TooManyWaitingError,
} from "./views/read-context.js";
export { AT_RISK_LIMIT, statusFilters } from "./views/rules.js";

/**
 * Answers the queries from the read models: one module per view (lots, reservations, the control
 * center) over one ReadContext, which reads whichever generation of each projection is active (so
 * a replay can swap in rebuilt collections under running queries) and waits for the position a
 * caller asked to see.
 */
export class QueryService {
  private readonly context: ReadContext;
  private readonly lots: LotQueries;
  private readonly reservationQueries: ReservationQueries;
  private readonly controlCenterQueries: ControlCenterQueries;

  constructor(
    private readonly store: DocumentStore,
    options: ReadOptions,
  ) {
    this.context = new ReadContext(store, options);
    this.lots = new LotQueries(this.context);
    this.reservationQueries = new ReservationQueries(this.context, this.lots);
    this.controlCenterQueries = new ControlCenterQueries(this.context, this.lots);
  }

  /** What time it is for the views (the service's one clock). */
  now(): number {
    return this.context.now();
  }

  /** Waits (bounded) until the projection serving `logical` has applied `position`. */
  awaitPosition(logical: string, position: Position | null): Promise<void> {
    return this.context.awaitPosition(logical, position);
  }

  parkingLot(id: string, minPosition: Position | null = null): Promise<ParkingLotView | null> {
    return this.lots.parkingLot(id, minPosition);
  }

  parkingLots(options: {
    cursor?: string;
    limit: number;
    minPosition?: Position | null;
  }): Promise<PageOf<ParkingLotView>> {
    return this.lots.parkingLots(options);
  }

  parkingLotDetail(
    id: string,
    minPosition: Position | null = null,
    hours = 6,
  ): Promise<ParkingLotDetail | null> {
    return this.lots.parkingLotDetail(id, minPosition, hours);
  }

  timeline(
    id: string,
    range: { from?: number; until?: number; stepMinutes: number },
    minPosition: Position | null = null,
  ): Promise<TimelineView | null> {
    return this.lots.timeline(id, range, minPosition);
  }

  availability(
    id: string,
    from: number,
    until: number,
    minPosition: Position | null = null,
  ): ReturnType<LotQueries["availability"]> {
    return this.lots.availability(id, from, until, minPosition);
  }

  /** Where a reservation's events are in the log, as far as its index has applied (its history). */
  reservationEvents(reservationId: string): Promise<IndexedReservationEvents> {
    return reservationEvents(this.context, reservationId);
  }

  reservation(id: string, minPosition: Position | null = null): Promise<ReservationView | null> {
    return this.reservationQueries.reservation(id, minPosition);
  }

  /**
   * The PaymentIntent's client secret the payments process manager kept for a booking its customer
   * confirms with Stripe.js (issue 38); undefined for a booking paid with a saved method, or before it.
   */
  async paymentClientSecret(reservationId: string): Promise<string | undefined> {
    const [kept] = await this.store.find<{ _id: string; clientSecret: string }>(
      PAYMENT_CLIENT_SECRETS,
      { _id: reservationId },
      { limit: 1 },
    );
    return kept?.clientSecret;
  }

  reservations(options: ReservationQuery): Promise<PageOf<ReservationView>> {
    return this.reservationQueries.reservations(options);
  }

  /** The ids of the lots `within` reaches, at most `limit` (one index range per grant). */
  async lotIdsWithin(within: LotReach, limit: number): Promise<string[]> {
    const page = await this.lots.storedLots({ limit }, within);
    return page.items.map((lot) => lot.parkingLotId);
  }

  customerCoupons(
    customerId: string,
    options: { cursor?: string; limit: number; minPosition?: Position | null },
  ): Promise<PageOf<CouponView>> {
    return this.reservationQueries.customerCoupons(customerId, options);
  }

  controlCenter(options: {
    cursor?: string;
    limit: number;
    minPosition?: Position | null;
    within?: LotReach;
  }): Promise<ControlCenterView> {
    return this.controlCenterQueries.controlCenter(options);
  }

  /** Reservations and cancellations per minute from `from` to `until` (both minutes included), oldest first. */
  activity(from: Date, until: Date): Promise<ActivityMinute[]> {
    return this.controlCenterQueries.activity(from, until);
  }

  /** Each processor's (projections, then reactors) applied position and lag behind the head of the log. */
  projectionStatuses(): Promise<ControlCenterView["projections"]> {
    return this.controlCenterQueries.projectionStatuses();
  }
}
