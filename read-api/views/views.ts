import type { DocumentStore } from "../../document-store/port.js";
import { ControlCenterQueries } from "./control-center-view.js";
import { GateReviewQueries } from "./gate-review-view.js";
import { LotSearchQueries } from "./lot-search.js";
import { LotQueries } from "./lot-view.js";
import { MoneyQueries } from "./money-view.js";
import { ReadContext, type ReadOptions } from "./read-context.js";
import { ReservationQueries } from "./reservation-view.js";

/**
 * The views the query routes call directly: one module per view (lots, reservations, the control
 * center) over one ReadContext, which reads whichever generation of each projection is active (so
 * a replay can swap in rebuilt collections under running queries), waits for the position a
 * caller asked to see and holds the clock. A new view is a module here and one entry below.
 */
export interface Views {
  readonly context: ReadContext;
  readonly lots: LotQueries;
  /** Find a spot near a point (issue 49). */
  readonly search: LotSearchQueries;
  readonly reservations: ReservationQueries;
  readonly controlCenter: ControlCenterQueries;
  readonly money: MoneyQueries;
  /** A lot's open gate reviews (issue 49). */
  readonly gateReviews: GateReviewQueries;
}

export function readViews(store: DocumentStore, options: ReadOptions): Views {
  const context = new ReadContext(store, options);
  const lots = new LotQueries(context);
  const money = new MoneyQueries(context, lots);
  return {
    context,
    lots,
    search: new LotSearchQueries(context, lots),
    reservations: new ReservationQueries(context, lots),
    controlCenter: new ControlCenterQueries(context, lots, money),
    money,
    gateReviews: new GateReviewQueries(context),
  };
}
