import type { DocumentStore } from "../../document-store/port.js";
import { ControlCenterQueries } from "./control-center-view.js";
import { GateReviewQueries } from "./gate-review-view.js";
import { LotSearchQueries } from "./lot-search.js";
import { LotQueries } from "./lot-view.js";
import { MoneyQueries } from "./money-view.js";
import { ReadContext, type ReadOptions } from "./read-context.js";
import { ReservationQueries } from "./reservation-view.js";

/** The views the query routes call: one module per view over one ReadContext. */
export interface Views {
  readonly context: ReadContext;
  readonly lots: LotQueries;
  /** Find a spot near a point. */
  readonly search: LotSearchQueries;
  readonly reservations: ReservationQueries;
  readonly controlCenter: ControlCenterQueries;
  readonly money: MoneyQueries;
  /** A lot's open gate reviews. */
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
