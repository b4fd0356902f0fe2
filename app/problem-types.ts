import { defineProblemTypes, HTTP_PROBLEM_TYPES } from "../platform/http/problem.js";

/**
 * The problems of this service's domain, beside those of HTTP that platform/http/problem.ts
 * defines: what the decider refuses, what the read side answers while a view catches up, the caps
 * of live updates. Each has a stable `type` served as documentation at GET /problems/{name}.
 */
export const SERVICE_PROBLEM_TYPES = {
  "parking-lot-not-found": {
    status: 404,
    title: "Parking lot not found",
    help: "Register the lot first (POST /parking-lots) or check its id.",
  },
  "reservation-not-found": {
    status: 404,
    title: "Reservation not found",
    help: "Check the reservation id and the lot it belongs to.",
  },
  "customer-erased": {
    status: 403,
    title: "This customer's personal data was erased",
    help: "The customer was erased (POST /customers/{customerId}/erasure, or the retention period): their tokens and sessions are refused on every route, and nothing is booked, canceled or read for them again. A person who comes back needs a new customer id from the identity provider; staff act on the erased customer's bookings with their own tokens.",
  },
  "parking-lot-full": {
    status: 409,
    title: "The parking lot is full",
    help: "`at` names the first instant of the asked span at which every spot is held (in the request's offset); try another time (the lot's timeline shows when spots are free) or another lot.",
  },
  "parking-lot-id-taken": {
    status: 409,
    title: "A parking lot with this id already exists",
    help: "Choose another id, or omit it to get a generated one.",
  },
  "idempotency-key-reused": {
    status: 422,
    title: "Idempotency-Key reused with a different request",
    help: "Use a new Idempotency-Key for a different reservation.",
  },
  "reservation-not-active": {
    status: 409,
    title: "The reservation is no longer active",
    help: "It has been canceled or completed (checked out, or its window ended); `status` says which.",
  },
  "not-checked-in": {
    status: 409,
    title: "The reservation has not been checked in",
    help: "Check in first (POST .../check-in), or cancel the reservation instead.",
  },
  "stay-price-too-high": {
    status: 409,
    title: "The stay costs more than one check-out can charge",
    help: "A very long stay at a high rate: `price` (booked amount or stay, plus overstay) passes `maximum`. Settle it at the lot; an operator ends the stay by canceling the reservation (reason required).",
  },
  "check-in-too-early": {
    status: 409,
    title: "The reservation's window has not started yet",
    help: "Check in from `opensAt` on (a few minutes before `startsAt`).",
  },
  "amount-below-minimum": {
    status: 422,
    title: "The booking's payment is below the smallest card payment the provider takes",
    help: "`amount` is what the booking would pay, `minimum` the smallest card payment in `currency` (Stripe's minimum charge); book a longer window.",
  },
  "price-changed": {
    status: 409,
    title: "The price of this window is not the amount sent",
    help: "Send the quoted `amount` (or none, to accept the quote); see GET /parking-lots/{id}/availability.",
  },
  "coupon-not-found": {
    status: 400,
    title: "The booking names a coupon its customer does not hold",
    help: "`couponId` must be one of the customer's own coupons (GET /customers/{customerId}/coupons), status ISSUED.",
  },
  "coupon-not-spendable": {
    status: 409,
    title: "The coupon was revoked, already spent, or not earned yet",
    help: "`couponStatus` says which: a REVOKED coupon is gone; a REDEEMED one comes back (ISSUED) if the booking it was spent on is canceled before it starts; a PENDING one is ISSUED but its own stay has not earned it yet (`spendable: false` on the coupon; spendable once that stay has lasted the lot's minimum stay, `spendableFrom`, or checked out keeping it). Book without `couponId`, or with another coupon that reads `spendable: true`.",
  },
  "coupon-not-accepted": {
    status: 409,
    title: "This booking takes no coupon",
    help: "The lot has no coupon discount (`couponRule.discount`), or the booking is open-ended on a lot with a rate (priced at check-out). Book without `couponId`, or a window.",
  },
  "too-many-active-reservations": {
    status: 409,
    title: "The customer holds the most active reservations allowed in this lot",
    help: "Cancel or complete one of them first; `limit` is the lot's maximum per customer.",
  },
  "parking-lot-closed": {
    status: 409,
    title: "The parking lot is closed for part of this window",
    help: "Choose a window outside the closure [`from`, `until`).",
  },
  "reservation-checked-in": {
    status: 409,
    title: "The car is in the lot: the reservation cannot be canceled by its customer",
    help: "Check out instead (POST …/check-out); an operator may cancel it, with a reason.",
  },
  "too-many-closures": {
    status: 409,
    title: "The lot already has the most closures that have not ended",
    help: "`limit` closures may be pending at once; wait for one to end.",
  },
  "capacity-too-low": {
    status: 409,
    title: "Reservations already hold more spots than the new capacity",
    help: "At the instant `at`, `held` spots are reserved; choose a capacity of at least that, or cancel some first.",
  },
  "payment-pending": {
    status: 409,
    title: "The reservation is waiting for its payment",
    help: "A booking on a paid lot is RESERVED once its payment is authorized; until `holdUntil` it waits for it. Retry the check-in once it is authorized (GET /reservations/{id} shows `payment.state`).",
  },
  "not-paid": {
    status: 409,
    title: "The reservation has no captured payment",
    help: "Only money the provider captured can be refunded; a booking settled at the lot (PAYMENTS=none) or not yet settled has none.",
  },
  "refund-exceeds-captured": {
    status: 409,
    title: "The refund is more than what can still be refunded",
    help: "`refundable` is what was taken (the capture and every off-session charge) less what was refunded or is being refunded; refund at most that.",
  },
  "refund-window-passed": {
    status: 409,
    title: "The booking's refund window has passed",
    help: "A refund may be asked until 180 days after the booking ended (its settlement was decided); after that the service no longer keeps its payment. Refund the customer outside the service, from the provider's dashboard (Stripe: the PaymentIntent in `payment.intentId`), if the provider still accepts it.",
  },
  "concurrency-conflict": {
    status: 503,
    title: "Too much contention on this parking lot",
    help: "Retry after the time in Retry-After.",
  },
  "too-many-streams": {
    status: 429,
    title: "Too many live-update streams open for this caller",
    help: "Close another stream of the same account (another tab or window) first; `max` is the cap per caller (LIVE_MAX_STREAMS_PER_PRINCIPAL). Retry after the time in Retry-After.",
  },
  "webhook-endpoint-not-found": {
    status: 404,
    title: "Webhook endpoint not found",
    help: "List the endpoints (GET /webhook-endpoints) and check the id; a deleted endpoint is gone.",
  },
  "too-many-webhook-endpoints": {
    status: 409,
    title: "Too many webhook endpoints",
    help: "Delete an endpoint you no longer use first (`max` is the cap), or subscribe one endpoint to more event types.",
  },
  "gate-review-not-found": {
    status: 404,
    title: "No open gate review of this lot has this event id",
    help: "List the lot's reviews (GET /parking-lots/{id}/gate-reviews) and resolve one of their `eventId`s; a read the gate decided (open or deny) has no review.",
  },
  "gate-review-resolved": {
    status: 409,
    title: "This gate review is already resolved",
    help: "Another attendant settled it (the lot's audit trail says how); reload the review list.",
  },
  "position-not-reached": {
    status: 503,
    title: "The view has not caught up to the requested position yet",
    help: "Retry after the time in Retry-After, or ask without minPosition.",
  },
} as const;

declare module "../platform/http/problem.js" {
  interface ApplicationProblemTypes extends Record<keyof typeof SERVICE_PROBLEM_TYPES, true> {}
}

defineProblemTypes(SERVICE_PROBLEM_TYPES);

/** Every problem type the service answers: HTTP's, then the service's own. */
export const PROBLEM_TYPES = { ...HTTP_PROBLEM_TYPES, ...SERVICE_PROBLEM_TYPES };
