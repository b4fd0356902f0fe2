import {
  header,
  headerParameter,
  jsonResponse,
  type Operation,
  pathParameter,
} from "../../platform/http/operation.js";
import { ANY_ROLE, BOOKING_ROLES, OPERATOR } from "../../schemas/actor.js";
import {
  CapacityChangedResponse,
  ClosureAccepted,
  CouponRuleChangedResponse,
  CustomerErasureResponse,
  CustomerLimitChangedResponse,
  ParkingLotRegisteredResponse,
  PaymentTermsChangedResponse,
  PlaceChangedResponse,
  RateChangedResponse,
  ReservationAccepted,
  ReservationCanceledResponse,
  ReservationStepResponse,
} from "../../schemas/command-responses.js";
import {
  CancelReservationBody,
  ChangeCapacityBody,
  ChangeCouponRuleBody,
  ChangeCustomerLimitBody,
  ChangePaymentTermsBody,
  ChangePlaceBody,
  ChangeRateBody,
  CloseParkingLotBody,
  EraseCustomerBody,
  IdempotencyKey,
  OperatorCancelReservationBody,
  OperatorEraseCustomerBody,
  OperatorReserveParkingBody,
  RegisterParkingLotBody,
  ReserveParkingBody,
} from "../../schemas/commands.js";
import { CustomerId, ReservationId } from "../../schemas/common.js";
import { CUSTOMER_ID, LOT_ID, RESERVATION_ID } from "../../schemas/examples.js";
import {
  PaymentRefundAccepted,
  RefundPaymentBody,
  StripeSignature,
  StripeWebhookEvent,
  StripeWebhookReceived,
} from "../../schemas/payment-requests.js";
import { COMMAND, GATE_OPERATIONS, LOT_TERM, lotPath } from "./gate-operations.js";

const reservationPath = [lotPath, pathParameter("reservationId", ReservationId, RESERVATION_ID)];

const idempotencyKeyHeader = headerParameter(
  "Idempotency-Key",
  IdempotencyKey,
  `${IdempotencyKey.description} Scope: one parking lot and one customer (the reservation id is an HMAC of the lot, the customer and the key under a server secret): another customer's identical key is another booking and never sees this one. Kept as long as the reservation exists (keys never expire). A retry with the same key and the same body answers 200 with the original reservation and \`Idempotent-Replayed: true\`; the same key with a different car, amount or window answers 422. In what order: the request's schemas first (a body or header that breaks them is a 400 whatever the key), then the key (a reuse is answered 200 or 422 before any rule beyond the schemas is checked: a replay of a booking whose window has since passed is still its 200, a changed body still the 422), then those rules (400). Without a key every request books a new reservation. (Try it out on /docs sends a fresh key each time when the field is left empty: no example is given, so the field starts empty.)`,
);

const closureIdempotencyKeyHeader = headerParameter(
  "Idempotency-Key",
  IdempotencyKey,
  `${IdempotencyKey.description} Scope: one parking lot (the closure id is an HMAC of the lot and the key under a server secret), whichever operator retries. Kept while the closure is pending or in force. A retry with the same key and the same window answers 200 with \`Idempotent-Replayed: true\`, the same \`closureId\` and nothing closed again (its \`canceledReservations\` is empty: the first answer listed them); the same key with another window answers 422. Without a key every request closes the lot once more.`,
);

/** The examples' lot, and where it is. */
const LOT = { parkingLotId: LOT_ID, name: "강남역 공영주차장", capacity: 120 };
const PLACE = {
  location: { latitude: 37.4979, longitude: 127.0276 },
  address: "서울특별시 강남구 강남대로 396",
  timeZone: "Asia/Seoul",
};

/** What a reservation's command may meet first: its lot or itself unknown (a step: or itself ended). */
const KNOWN = ["parking-lot-not-found", "reservation-not-found"] as const;
const A_RESERVATION = [...KNOWN, "reservation-not-active"] as const;

/** What the service checks of a time zone beyond its shape. */
const TIME_ZONE_RULE =
  "`timeZone`: a zone the service's runtime knows (its IANA names and their links, such as `Asia/Calcutta`; not an offset such as `+09:00`).";

/**
 * The command API, one row per operation: its request and answers, who may send it and the problems
 * it answers. The access check, the 405 and OPTIONS answers and the OpenAPI document are generated
 * from these rows (app/surface/).
 */
export const COMMAND_OPERATIONS = [
  {
    method: "post",
    path: "/parking-lots",
    operationId: "registerParkingLot",
    ...COMMAND,
    allow: OPERATOR,
    summary: "Register a parking lot",
    description:
      "Registering the same id with the same name and capacity again changes nothing (200); another name or capacity is refused (409). `location`, `address` and `timeZone` place the lot (customers find it near a point: GET /parking-lots?near=); without a `timeZone` it keeps UTC, and the zone is stored as the runtime names it (case fixed).",
    body: {
      schema: RegisterParkingLotBody,
      required: true,
      example: { ...LOT, ...PLACE },
    },
    rules: [TIME_ZONE_RULE],
    problems: ["parking-lot-id-taken"],
    responses: {
      "201": jsonResponse(
        "Registered; Location names the lot.",
        ParkingLotRegisteredResponse,
        { Location: header("Location") },
        { ...LOT, maxActivePerCustomer: 4, ...PLACE, position: "42" },
      ),
      "200": jsonResponse(
        "The same registration was already done; nothing changed.",
        ParkingLotRegisteredResponse,
        { Location: header("Location") },
      ),
    },
  },
  {
    method: "post",
    path: "/parking-lots/{parkingLotId}/reservations",
    operationId: "reserveParking",
    ...COMMAND,
    allow: BOOKING_ROLES,
    summary: "Reserve a spot",
    parameters: [lotPath, idempotencyKeyHeader],
    body: {
      schema: ReserveParkingBody,
      required: true,
      // A customer leaves customerId out (it is the token's subject; another one is 403).
      example: { carNumber: "10더8612", amount: 5000 },
      byRole: { customer: ReserveParkingBody, operator: OperatorReserveParkingBody },
    },
    rules: [
      "`startsAt`: at most 5 minutes before now (the server's clock) and at most 90 days ahead.",
      "`endsAt`: after `startsAt`, at least 15 minutes after it and at most 24 hours after it, and at least 15 minutes after now.",
      "`amount`: required on a lot without an hourly rate; on a lot with one, left out of an open-ended booking (it is priced at check-out), and for a window left out or equal to the quote (another amount is 409 `price-changed`).",
      "`customerId`: required when an operator books (OperatorReserveParkingBody); a customer leaves it out or sends their own (another is 403).",
      "`couponId`: one of the booking customer's own coupons, ISSUED (another's or an unknown one is 400 `coupon-not-found`; a revoked or spent one 409 `coupon-not-spendable`), on a lot with a coupon discount and a booking priced now (else 409 `coupon-not-accepted`); the answer's `amount` is the price after the discount.",
    ],
    problems: [
      "parking-lot-not-found",
      "parking-lot-full",
      "parking-lot-closed",
      "too-many-active-reservations",
      "price-changed",
      "amount-below-minimum",
      "idempotency-key-reused",
      "coupon-not-found",
      "coupon-not-spendable",
      "coupon-not-accepted",
    ],
    responses: {
      "201": jsonResponse(
        "Reserved; Location names the reservation.",
        ReservationAccepted,
        { Location: header("Location") },
        {
          reservationId: RESERVATION_ID,
          parkingLotId: LOT_ID,
          customerId: CUSTOMER_ID,
          carNumber: "10더8612",
          amount: 5000,
          status: "RESERVED",
          position: "43",
        },
      ),
      "200": jsonResponse(
        "A retry with the same Idempotency-Key: the original reservation, nothing new booked.",
        ReservationAccepted,
        { Location: header("Location"), "Idempotent-Replayed": header("Idempotent-Replayed") },
      ),
    },
  },
  {
    method: "delete",
    path: "/parking-lots/{parkingLotId}/reservations/{reservationId}",
    operationId: "cancelReservation",
    ...COMMAND,
    allow: BOOKING_ROLES,
    summary: "Cancel a reservation (canceling twice changes nothing)",
    parameters: reservationPath,
    body: {
      schema: CancelReservationBody,
      required: false,
      example: { reason: "일정 변경" },
      byRole: { customer: CancelReservationBody, operator: OperatorCancelReservationBody },
    },
    rules: [
      "`reason`: required when an operator cancels (OperatorCancelReservationBody: the body is then required); optional for the reservation's customer.",
    ],
    problems: [...A_RESERVATION, "reservation-checked-in"],
    responses: { "200": jsonResponse("Canceled.", ReservationCanceledResponse) },
  },
  {
    method: "post",
    path: "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-in",
    operationId: "checkIn",
    ...COMMAND,
    allow: ANY_ROLE,
    summary: "Check in (the customer who owns it, or staff of its lot: an attendant, operator or admin)",
    parameters: reservationPath,
    problems: [...A_RESERVATION, "check-in-too-early", "payment-pending"],
    responses: { "200": jsonResponse("Done (doing it twice changes nothing).", ReservationStepResponse) },
  },
  {
    method: "post",
    path: "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-out",
    operationId: "checkOut",
    ...COMMAND,
    allow: ANY_ROLE,
    summary: "Check out: frees the spot from now on",
    parameters: reservationPath,
    problems: [...A_RESERVATION, "not-checked-in", "stay-price-too-high"],
    responses: { "200": jsonResponse("Done (doing it twice changes nothing).", ReservationStepResponse) },
  },
  ...GATE_OPERATIONS,
  {
    method: "post",
    path: "/parking-lots/{parkingLotId}/closures",
    operationId: "closeParkingLot",
    ...COMMAND,
    allow: OPERATOR,
    summary:
      "Close the lot over [from, until) (operator): refuses bookings overlapping it, cancels the windows it overlaps now and, when it begins, the open-ended bookings not checked in",
    parameters: [lotPath, closureIdempotencyKeyHeader],
    body: {
      schema: CloseParkingLotBody,
      required: true,
      example: { from: "2026-11-23T13:00:00+09:00", until: "2026-11-23T15:00:00+09:00", reason: "repaving" },
    },
    rules: [
      "`until`: after `from`, not in the past (the server's clock), and at most 31 days after `from`.",
      "`from`: at most 90 days ahead.",
    ],
    problems: ["parking-lot-not-found", "too-many-closures", "idempotency-key-reused"],
    responses: {
      "201": jsonResponse(
        "Closed; the canceled reservations are listed. Location names the lot, whose `closures` lists this one by `closureId` (read it with `minPosition` = `position` to see it at once).",
        ClosureAccepted,
        { Location: header("Location") },
      ),
      "200": jsonResponse(
        "A retry with the same Idempotency-Key and window: the closure already made, nothing closed or canceled again.",
        ClosureAccepted,
        { Location: header("Location"), "Idempotent-Replayed": header("Idempotent-Replayed") },
      ),
    },
  },
  {
    ...LOT_TERM,
    path: "/parking-lots/{parkingLotId}/capacity",
    operationId: "changeCapacity",
    summary: "Change the lot's capacity (operator); a reduction that would overbook names the instant",
    body: { schema: ChangeCapacityBody, required: true, example: { capacity: 10 } },
    problems: ["parking-lot-not-found", "capacity-too-low"],
    responses: { "200": jsonResponse("Changed.", CapacityChangedResponse) },
  },
  {
    ...LOT_TERM,
    path: "/parking-lots/{parkingLotId}/rate",
    operationId: "changeRate",
    summary: "Change the lot's hourly rate (operator) for bookings made from now on",
    description:
      "Windows booked before keep the amount they were quoted and open-ended stays the rate they were booked at; a client that still sends the old quote gets `price-changed` naming both. An overstay is charged at the rate in force when the car leaves. The same rate again changes nothing.",
    body: { schema: ChangeRateBody, required: true, example: { hourlyRate: 3000 } },
    responses: { "200": jsonResponse("Changed.", RateChangedResponse) },
  },
  {
    ...LOT_TERM,
    path: "/parking-lots/{parkingLotId}/place",
    operationId: "changePlace",
    summary: "Set where the lot is and its time zone (operator)",
    description:
      "The whole place: `location` (WGS 84), an optional `address` (left out: none) and the IANA `timeZone` the lot keeps (stored as the runtime names it). A lot registered without them reads as UTC with no place until this sets them. The same place again changes nothing; a change is in the lot's audit trail. No booking changes: times are instants.",
    body: { schema: ChangePlaceBody, required: true, example: PLACE },
    rules: [TIME_ZONE_RULE],
    responses: { "200": jsonResponse("Changed (or already so).", PlaceChangedResponse) },
  },
  {
    ...LOT_TERM,
    path: "/parking-lots/{parkingLotId}/coupon-rule",
    operationId: "changeCouponRule",
    summary:
      "Change the lot's coupon rule (operator): which stays keep their coupon, and a coupon's discount",
    description:
      "From now on: a check-out keeps the coupon its booking got when the stay lasted `minStayMinutes` (or paid `minPaidAmount`), else revokes it; a booking spending a coupon (`couponId`) takes `discount` (`{amount}` or `{percent}`) off its price (without `discount` the lot takes no coupons). Bookings made before keep their price. The same rule again changes nothing.",
    body: {
      schema: ChangeCouponRuleBody,
      required: true,
      example: { minStayMinutes: 15, discount: { amount: 1000 } },
    },
    responses: { "200": jsonResponse("Changed.", CouponRuleChangedResponse) },
  },
  {
    ...LOT_TERM,
    path: "/parking-lots/{parkingLotId}/customer-limit",
    operationId: "changeCustomerLimit",
    summary: "Change how many active reservations one customer may hold in the lot (operator)",
    description:
      "Applies to bookings made from now on: a customer already over a lowered limit keeps their reservations and cannot book more until under it. The same limit again changes nothing.",
    body: { schema: ChangeCustomerLimitBody, required: true, example: { maxActivePerCustomer: 4 } },
    responses: { "200": jsonResponse("Changed.", CustomerLimitChangedResponse) },
  },
  {
    ...LOT_TERM,
    path: "/parking-lots/{parkingLotId}/payment-terms",
    operationId: "changePaymentTerms",
    summary:
      "Change what the lot asks to be paid (operator): currency, deposit, cancellation policy, no-show fee",
    description:
      "Applies to bookings made from now on (each keeps the terms it was made under). Amounts are integers in the currency's minor unit (KRW has none). An open-ended booking authorizes `deposit` (its price is known at check-out); a customer's cancel is free until `cancellation.freeUntilMinutesBefore` minutes before the window's start, then costs `cancellation.feePercent` of what was authorized; a no-show pays `noShowFee` (at most what was authorized). An operator's cancel and a closure cost the customer nothing. A lot that never set terms has KRW and no fees. The same terms again change nothing.",
    body: {
      schema: ChangePaymentTermsBody,
      required: true,
      example: {
        currency: "KRW",
        deposit: 10000,
        cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
        noShowFee: 5000,
      },
    },
    responses: { "200": jsonResponse("Changed.", PaymentTermsChangedResponse) },
  },
  {
    method: "post",
    path: "/customers/{customerId}/erasure",
    operationId: "eraseCustomer",
    ...COMMAND,
    allow: BOOKING_ROLES,
    summary:
      "Erase a customer's personal data (the customer themself, or an operator of every lot with a reason)",
    description:
      "Crypto-shredding: deletes the customer's data keys and records an erasure fact. From then on every view, the audit trail, time travel, webhooks and rebuilds show `erased` in place of the customer's id and plates; reservations, capacity and amounts stay as they were. It cannot be undone. Erasing again records another fact and changes nothing else. A customer erases only themself (another id is 403); an operator must reach every lot (an admin, or a grant of `*`) and give a reason. A drive-up (a car let in at a gate without a booking) is its own customer, `drive-up:{reservationId}`: erasing that id erases that one stay's plate.",
    // No example: Try it out must not erase a real customer by default.
    parameters: [pathParameter("customerId", CustomerId)],
    body: {
      schema: EraseCustomerBody,
      byRole: { customer: EraseCustomerBody, operator: OperatorEraseCustomerBody },
      required: false,
      example: { reason: "the customer asked by mail (ticket 4711)" },
    },
    problems: [],
    responses: { "200": jsonResponse("Erased.", CustomerErasureResponse) },
  },
  {
    method: "post",
    path: "/parking-lots/{parkingLotId}/reservations/{reservationId}/refund",
    operationId: "refundPayment",
    ...COMMAND,
    allow: OPERATOR,
    summary: "Refund (part of) a booking's captured payment (operator of its lot), with a reason",
    description:
      "Decides the refund (PaymentSettlementDecided, `because: refund`); the payments process manager then asks the provider with a key derived from that fact and records PaymentRefunded, or PaymentStepFailed when the provider refuses. Never more than what was taken (the capture and every off-session charge) less what was refunded or is being refunded; one decision per charge it reaches, each refunded from that charge.",
    parameters: reservationPath,
    body: {
      schema: RefundPaymentBody,
      required: true,
      example: { amount: 3000, reason: "the gate was broken for an hour" },
    },
    problems: [...KNOWN, "refund-exceeds-captured", "not-paid", "refund-window-passed"],
    responses: { "200": jsonResponse("Refund decided.", PaymentRefundAccepted) },
  },
  {
    method: "post",
    path: "/payments/webhooks/stripe",
    operationId: "stripeWebhook",
    ...COMMAND,
    allow: "anonymous",
    summary: "Stripe's webhook endpoint (PAYMENTS=stripe; signed by Stripe, no bearer token)",
    description:
      "Point a Stripe webhook endpoint here (docs/operations.md). The `Stripe-Signature` header is checked with the Stripe SDK against the raw body and STRIPE_WEBHOOK_SECRET: a missing or bad signature is 400 and nothing is applied. `payment_intent.amount_capturable_updated` authorizes the booking named by the intent's `metadata.reservationId` and `metadata.parkingLotId`, `payment_intent.payment_failed` fails it (the booking is canceled, `payment-failed`); other types are acknowledged and ignored. Each is decided by the lot, so a repeat, an event that arrives before the API call's answer, or events out of order change nothing twice. With PAYMENTS=none: 404.",
    parameters: [
      headerParameter(
        "Stripe-Signature",
        StripeSignature,
        "Stripe's signature of the raw body (`t=...,v1=...`). Required: without it the answer is 400.",
      ),
    ],
    body: { schema: StripeWebhookEvent, required: true },
    rules: [
      "`Stripe-Signature`: required, and Stripe's signature of this very body under STRIPE_WEBHOOK_SECRET, made within the last 5 minutes (else 400, nothing applied).",
    ],
    problems: ["not-found"],
    responses: { "200": jsonResponse("Received (applied, or nothing to apply).", StripeWebhookReceived) },
  },
] as const satisfies readonly Operation[];

export type CommandOperationId = (typeof COMMAND_OPERATIONS)[number]["operationId"];
