import { type Static, type TObject, type TProperties, type TSchema, Type } from "@sinclair/typebox";
import {
  Amount,
  CouponId,
  Currency,
  CustomerId,
  Identifier,
  PageLimit,
  ParkingLotId,
  PositionString,
  Reason,
  ReservationId,
  Timestamp,
} from "./common.js";
import { PaymentEventDataSchemas } from "./payment-events.js";

/**
 * Outbound webhooks (issue 35): the messages integrators receive (Standard Webhooks: a body
 * `{type, timestamp, data}`), one schema per type, named for integrators rather than for our
 * event classes, and the operations that manage endpoints.
 */

const strict = { additionalProperties: false } as const;
const ids = { reservationId: ReservationId, parkingLotId: ParkingLotId, customerId: CustomerId };

/** Why a reservation was canceled, for an integrator: who or what canceled it. */
export const CANCELLATION_REASONS = ["customer", "operator", "closure", "system"] as const;

/**
 * The payment facts of the log integrators hear (issue 47), each with what its message says. Each
 * `Payment<Verb>` is sent as `payment.<verb>` (snake case: `PaymentActionRequired` is
 * `payment.action_required`), its `data` the fact's own (its schema in payment-events.ts), its
 * `timestamp` the fact's `<verb>At` (`actionRequiredAt`): the names, schemas and the mapping
 * (projections/webhooks/messages.ts) are derived from this table and the log's schemas.
 */
export const HEARD_PAYMENT_FACTS = {
  PaymentAuthorized:
    "The provider authorized the booking's payment (`amount` held on the card): the booking is RESERVED, and `reservation.reserved` follows.",
  PaymentActionRequired:
    "The hold before a far stay asked for the customer (3-D Secure): the customer's app is to bring them back to complete it, with the client secret on GET /reservations/{reservationId}, before `deadline` (the stay's start); `payment.authorized` follows, or else `payment.failed` and `reservation.canceled`.",
  PaymentHoldLapsed:
    "The provider no longer holds the booking's authorization (a card hold lapses seven days after it is made, or it was canceled at the provider: `because` says who found it): the booking keeps its spot, nothing is held (its view reads `lapsed`), and what it owes is charged off-session to the saved card at its end.",
  PaymentFailed:
    "The booking's payment failed: declined (`code`, the provider's decline code) or its hold ran out (`reason: expired`); `reservation.canceled` follows.",
  PaymentCaptured:
    "The provider captured `amount` of the authorization: the stay's price at check-out, a late cancel's fee, a no-show's fee.",
  PaymentReleased: "The provider let go of `amount` of the authorization: never charged.",
  PaymentRefunded: "The provider refunded `amount` of what was captured (an operator's refund).",
} as const satisfies Partial<Record<keyof typeof PaymentEventDataSchemas, string>>;
export type HeardPaymentFact = keyof typeof HEARD_PAYMENT_FACTS;
type Snake<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}`
  : S;
type VerbOf<F extends string> = F extends `Payment${infer Verb}` ? Snake<Uncapitalize<Verb>> : never;
/** The webhook type a heard payment fact is sent as: `PaymentCaptured` → `payment.captured`. */
export type PaymentWebhookType<F extends HeardPaymentFact = HeardPaymentFact> = `payment.${VerbOf<F>}`;
export const paymentVerb = <F extends HeardPaymentFact>(fact: F): VerbOf<F> =>
  fact
    .slice("Payment".length)
    .replace(/^[A-Z]/, (c) => c.toLowerCase())
    .replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) as VerbOf<F>;
export const paymentWebhookType = <F extends HeardPaymentFact>(fact: F): PaymentWebhookType<F> =>
  `payment.${paymentVerb(fact)}`;

/** A fact's data properties as a message's schema, its card (`method`) left out. */
type WithoutCard<P> = Omit<P, "method"> extends infer O extends TProperties ? TObject<O> : never;

/**
 * A fact's data schema as a message's `data` (its `$id` is the fact's, not the message's), but for
 * the card (`method`, issue 71): the service's own to charge later, nothing an integrator is told.
 */
const asMessageData = <T extends TObject>(schema: T, description: string): WithoutCard<T["properties"]> => {
  const { method: _card, ...properties } = schema.properties;
  return Type.Object(properties, { ...strict, description }) as unknown as WithoutCard<T["properties"]>;
};

type PaymentDataSchemas = {
  readonly [F in HeardPaymentFact as PaymentWebhookType<F>]: WithoutCard<
    (typeof PaymentEventDataSchemas)[F]["properties"]
  >;
};
const PAYMENT_DATA_SCHEMAS = Object.fromEntries(
  (Object.keys(HEARD_PAYMENT_FACTS) as HeardPaymentFact[]).map((fact) => [
    paymentWebhookType(fact),
    asMessageData(PaymentEventDataSchemas[fact], HEARD_PAYMENT_FACTS[fact]),
  ]),
) as unknown as PaymentDataSchemas;

/** Each webhook event type with the schema of its `data`. */
export const WebhookDataSchemas = {
  "reservation.reserved": Type.Object(
    {
      ...ids,
      status: Type.Literal("RESERVED", {
        description: "The booking's status: sent only once it is RESERVED.",
      }),
      reservedAt: {
        ...Timestamp,
        description:
          "When it became RESERVED: when it was accepted, or, with payments on, when its payment was authorized.",
      },
      amount: { ...Amount, description: "What it costs (0: an open-ended stay, priced at check-out)." },
      startsAt: Type.Optional(Timestamp),
      endsAt: Type.Optional(Timestamp),
      payment: Type.Optional(
        Type.Object(
          {
            state: Type.Union([Type.Literal("authorized"), Type.Literal("card-saved")]),
            amount: {
              ...Amount,
              description:
                "Authorized (held on the customer's card); `card-saved` (a stay beyond a hold's seven days): to be held off-session before the stay, nothing held yet.",
            },
            currency: Currency,
          },
          {
            ...strict,
            description: "Payments on: its payment, authorized or its card saved (absent: nothing to pay).",
          },
        ),
      ),
    },
    {
      ...strict,
      description:
        "A reservation is RESERVED (no `startsAt`/`endsAt`: open-ended). With payments on, once its payment is authorized (after `payment.authorized`); a booking whose payment fails is never sent as reserved.",
    },
  ),
  "reservation.canceled": Type.Object(
    {
      ...ids,
      canceledAt: Timestamp,
      reason: Type.Union(
        CANCELLATION_REASONS.map((r) => Type.Literal(r)),
        { description: "Who or what canceled it: its customer, an operator, a lot closure, or the service." },
      ),
      note: Type.Optional({ ...Reason, description: "The reason as given (an operator's words)." }),
    },
    { ...strict, description: "A reservation was canceled." },
  ),
  "reservation.checked_in": Type.Object(
    { ...ids, checkedInAt: Timestamp },
    { ...strict, description: "The car arrived." },
  ),
  "reservation.checked_out": Type.Object(
    {
      ...ids,
      checkedOutAt: Timestamp,
      charges: Type.Object(
        { amount: Type.Optional(Amount), overstayCharge: Type.Optional(Amount) },
        {
          ...strict,
          description:
            "What the check-out fixed: `amount` the price of an open-ended stay, `overstayCharge` the time past `endsAt` (absent: nothing more).",
        },
      ),
    },
    { ...strict, description: "The car left; the reservation is completed." },
  ),
  "reservation.overstaying": Type.Object(
    { ...ids, endsAt: Timestamp, checkedInAt: Timestamp },
    { ...strict, description: "The car is still in the lot after its window ended (`endsAt`): sent once." },
  ),
  "reservation.no_show": Type.Object(
    { ...ids, startsAt: Timestamp, endsAt: Timestamp },
    { ...strict, description: "The window ended without a check-in." },
  ),
  "coupon.issued": Type.Object(
    { ...ids, couponId: CouponId, issuedAt: Timestamp },
    { ...strict, description: "The booking made its customer a coupon recipient." },
  ),
  "coupon.revoked": Type.Object(
    { ...ids, couponId: CouponId, revokedAt: Timestamp },
    {
      ...strict,
      description: "The coupon was revoked (its reservation was canceled, missed, or its stay too short).",
    },
  ),
  "lot.closure_announced": Type.Object(
    { parkingLotId: ParkingLotId, closureId: Identifier, from: Timestamp, until: Timestamp, reason: Reason },
    {
      ...strict,
      description: "A lot will be closed over [from, until); reservations it overlaps are canceled.",
    },
  ),
  "lot.closure_began": Type.Object(
    {
      parkingLotId: ParkingLotId,
      closureId: Identifier,
      from: Timestamp,
      until: Timestamp,
      carsInLot: Type.Array(ReservationId, { maxItems: 100_000 }),
    },
    {
      ...strict,
      description: "A closure began; `carsInLot` lists the reservations whose cars are still in.",
    },
  ),
  ...PAYMENT_DATA_SCHEMAS,
  "payment.charge_failed": Type.Object(
    {
      reservationId: ReservationId,
      parkingLotId: ParkingLotId,
      step: Type.Union([Type.Literal("capture"), Type.Literal("overstay")], {
        description:
          "`overstay`: what the hold could not cover, charged off-session (an overstay, an open-ended price above the deposit, a fee of a booking whose card is saved but not held); `capture`: the hold's capture (a lapsed hold's amount charged off-session instead).",
      }),
      reason: Type.Union([Type.Literal("authentication_required"), Type.Literal("declined")], {
        description:
          "`authentication_required`: the card asks for its customer (3-D Secure), who must come back; `declined`: the card or the provider refused it.",
      }),
      code: Type.String({
        description: "The step's failure code (the provider's decline code, or `authorization_lapsed`).",
      }),
      declineCode: Type.Optional(
        Type.String({ description: "The card's decline code when it is not `code`." }),
      ),
      message: Type.String({ description: "The provider's words, and what is left to collect." }),
      amount: { ...Amount, description: "What was to be charged and was not: left to collect." },
      currency: Currency,
      settlementId: Type.String(),
      intentId: Type.Optional(
        Type.String({
          description:
            "The provider's intent the customer may complete on session to pay it: its client secret is on GET /reservations/{reservationId}, for the booking's customer only.",
        }),
      ),
      failedAt: Timestamp,
    },
    {
      ...strict,
      description:
        "A charge at the booking's end failed (PaymentStepFailed of a capture or an off-session charge): nothing is charged again automatically; `authentication_required` asks the customer's app to bring them back.",
    },
  ),
} as const satisfies Record<string, TSchema>;

export type WebhookEventType = keyof typeof WebhookDataSchemas;
export const WEBHOOK_EVENT_TYPES = Object.keys(WebhookDataSchemas) as WebhookEventType[];
export type WebhookData<T extends WebhookEventType> = Static<(typeof WebhookDataSchemas)[T]>;

/** A message's body, per Standard Webhooks: its type, when it happened, its data. */
export const webhookMessageSchema = (type: WebhookEventType) =>
  Type.Object(
    {
      type: Type.Literal(type),
      timestamp: Timestamp,
      data: WebhookDataSchemas[type],
    },
    strict,
  );

export interface WebhookMessage<T extends WebhookEventType = WebhookEventType> {
  readonly type: T;
  readonly timestamp: string;
  readonly data: WebhookData<T>;
}

export const WebhookEventTypeSchema = Type.Union(
  WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t)),
  { description: "A webhook event type." },
);

export const WebhookEndpointId = Type.String({
  pattern: "^we_[A-Za-z0-9]{1,40}$",
  description: "Webhook endpoint identifier.",
  examples: ["we_5Xq8eYb2kP0Jm3Tn"],
});

export const MAX_WEBHOOK_ENDPOINTS = 50;

export const CreateWebhookEndpointBody = Type.Object(
  {
    url: Type.String({
      minLength: 9,
      maxLength: 2048,
      description:
        "Where messages are POSTed: an https URL (http and private addresses only with WEBHOOK_ALLOW_PRIVATE).",
      examples: ["https://example.com/webhooks/parking"],
    }),
    eventTypes: Type.Array(WebhookEventTypeSchema, {
      minItems: 1,
      maxItems: WEBHOOK_EVENT_TYPES.length,
      uniqueItems: true,
      description: "The event types sent to it.",
    }),
    description: Type.Optional(Type.String({ maxLength: 500, description: "What it is for (yours)." })),
  },
  { ...strict, $id: "CreateWebhookEndpointBody" },
);
export type CreateWebhookEndpointBody = Static<typeof CreateWebhookEndpointBody>;

export const WebhookEndpointView = Type.Object(
  {
    id: WebhookEndpointId,
    url: Type.String(),
    eventTypes: Type.Array(WebhookEventTypeSchema),
    description: Type.String(),
    status: Type.Union([Type.Literal("enabled"), Type.Literal("disabled")]),
    disabledReason: Type.Optional(Type.String({ description: "Why it stopped being sent to." })),
    disabledAt: Type.Optional(Timestamp),
    createdAt: Timestamp,
    secretRotatedAt: Type.Optional(Timestamp),
    pending: Type.Integer({ minimum: 0, description: "Deliveries still to send (at most 10000 counted)." }),
  },
  { ...strict, $id: "WebhookEndpointView" },
);
export type WebhookEndpointView = Static<typeof WebhookEndpointView>;

const Secret = Type.String({
  pattern: "^whsec_[A-Za-z0-9+/=]+$",
  description: "The signing secret (Standard Webhooks' `whsec_<base64>`): shown this once, keep it.",
});

export const WebhookEndpointCreated = Type.Object(
  { ...WebhookEndpointView.properties, secret: Secret },
  { ...strict, $id: "WebhookEndpointCreated" },
);

export const WebhookSecretRotated = Type.Object(
  {
    id: WebhookEndpointId,
    secret: Secret,
    previousSecretExpiresAt: {
      ...Timestamp,
      description: "Until then messages carry a signature by the previous secret too.",
    },
  },
  { ...strict, $id: "WebhookSecretRotated" },
);

export const WebhookEndpointPage = Type.Object(
  { items: Type.Array(WebhookEndpointView) },
  { ...strict, $id: "WebhookEndpointPage" },
);

export const WebhookAttemptView = Type.Object(
  {
    webhookId: Type.String({ description: "The message's `webhook-id` (the same on every attempt)." }),
    eventType: WebhookEventTypeSchema,
    parkingLotId: Type.Optional({
      ...ParkingLotId,
      description:
        "The lot the message's fact concerns (its `data.parkingLotId`), so its time can be shown on that lot's clock. Absent for a message that names no lot, and for attempts recorded before this field was added.",
    }),
    position: Type.Optional(PositionString),
    at: Timestamp,
    attempt: Type.Integer({ minimum: 1 }),
    outcome: Type.Union([Type.Literal("delivered"), Type.Literal("failed")]),
    statusCode: Type.Optional(Type.Integer()),
    latencyMs: Type.Integer({ minimum: 0 }),
    error: Type.Optional(Type.String()),
  },
  { ...strict, $id: "WebhookAttemptView" },
);
export type WebhookAttemptView = Static<typeof WebhookAttemptView>;

export const WebhookAttemptPage = Type.Object(
  {
    items: Type.Array(WebhookAttemptView),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
      description: "Pass as `cursor` to get older attempts; null on the last page.",
    }),
  },
  { ...strict, $id: "WebhookAttemptPage" },
);

export const WebhookDeliveriesQuery = Type.Object(
  {
    limit: Type.Optional(PageLimit),
    cursor: Type.Optional(Type.String({ maxLength: 200, pattern: "^[A-Za-z0-9_:.-]+$" })),
  },
  strict,
);

export const ReplayWebhooksBody = Type.Object(
  { fromPosition: PositionString },
  { ...strict, $id: "ReplayWebhooksBody" },
);

export const WebhookReplayAccepted = Type.Object(
  {
    enqueued: Type.Integer({ minimum: 0, description: "Messages queued again for this endpoint." }),
    nextFromPosition: Type.Union([PositionString, Type.Null()], {
      description: "Where to replay from next when this request stopped at its bound; null when done.",
    }),
  },
  { ...strict, $id: "WebhookReplayAccepted" },
);
