import { controlCenterProjection } from "./control-center.js";
import { customerCouponsProjection } from "./customer-coupons.js";
import { gateReviewsProjection } from "./gate-reviews.js";
import { lotMoneyProjection } from "./lot-money.js";
import { parkingLotsProjection } from "./parking-lots.js";
import type { Projection } from "./projection.js";
import { reservationEventsProjection } from "./reservation-events.js";
import { reservationsProjection } from "./reservations.js";

/** Every read-model projection the service runs, by name. */
export const PROJECTIONS: readonly Projection[] = [
  parkingLotsProjection,
  reservationsProjection,
  customerCouponsProjection,
  controlCenterProjection,
  reservationEventsProjection,
  lotMoneyProjection,
  gateReviewsProjection,
];

export const projectionByName = (name: string): Projection | undefined =>
  PROJECTIONS.find((p) => p.name === name);
