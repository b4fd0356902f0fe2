import { type Static, Type } from "@sinclair/typebox";
import { Actor } from "./actor.js";
import { Identifier } from "./common.js";
import { COUPON_EVENTS } from "./coupon-events.js";
import { CUSTOMER_EVENTS } from "./customer-events.js";
import { byType, type EventStream } from "./event-definition.js";
import { GATE_EVENTS } from "./gate-events.js";
import { LOT_EVENTS } from "./lot-events.js";
import { LOT_PERIOD_VIEW_EVENTS } from "./lot-period-view-events.js";
import { PAYMENT_EVENTS } from "./payment-events.js";
import { PAYMENT_REQUEST_EVENTS } from "./payment-request-events.js";
import { PAYMENT_UPGRADE_EVENTS } from "./payment-upgrade-events.js";

export {
  CouponIssuedData,
  CouponRedeemedData,
  CouponReturnedData,
  CouponRevokedData,
} from "./coupon-events.js";
export { CustomerErasedData } from "./customer-events.js";
export { GateEventRecordedData } from "./gate-events.js";
export {
  BookingPayment,
  ParkingLotCapacityChangedData,
  ParkingLotClosedData,
  ParkingLotClosureBeganData,
  ParkingLotCouponRuleChangedData,
  ParkingLotCustomerLimitChangedData,
  ParkingLotPaymentTermsChangedData,
  ParkingLotPlaceChangedData,
  ParkingLotRateChangedData,
  ParkingLotRegisteredData,
  ParkingReservedData,
  ReservationCanceledData,
  ReservationCheckedInData,
  ReservationCheckedOutData,
  ReservationNoShowData,
} from "./lot-events.js";
export { DriveUpAdmittedData, ParkingLotGateConfidenceChangedData } from "./lot-gate-events.js";
export { LotBooksClosedData, LotPeriodOpenedData } from "./lot-period-events.js";
export { LotPeriodViewRecordedData } from "./lot-period-view-events.js";
export {
  OverstayChargedData,
  PaymentAuthorizedData,
  PaymentCapturedData,
  PaymentFailedData,
  PaymentRefundedData,
  PaymentReleasedData,
  PaymentSettlementDecidedData,
  PaymentStepFailedData,
} from "./payment-events.js";

/**
 * Every event type's definition (schemas/event-definition.ts), by type: the one registry the rest
 * is derived from (a type defined in two files throws at load). Its order is the order the API
 * document lists the types in.
 */
export const EVENT_DEFINITIONS = byType(
  ...Object.values(LOT_EVENTS),
  ...Object.values(PAYMENT_EVENTS),
  ...Object.values(PAYMENT_REQUEST_EVENTS),
  ...Object.values(PAYMENT_UPGRADE_EVENTS),
  ...Object.values(COUPON_EVENTS),
  ...Object.values(CUSTOMER_EVENTS),
  ...Object.values(LOT_PERIOD_VIEW_EVENTS),
  ...Object.values(GATE_EVENTS),
);

type Definitions = typeof EVENT_DEFINITIONS;
export type EventType = keyof Definitions;
export const EVENT_TYPES = Object.keys(EVENT_DEFINITIONS) as EventType[];

/** Event type name → payload schema. The one table every codec and projector reads from. */
export const EventDataSchemas = Object.fromEntries(
  EVENT_TYPES.map((type) => [type, EVENT_DEFINITIONS[type].schema]),
) as { readonly [K in EventType]: Definitions[K]["schema"] };

/** A domain event: its type and its validated payload, as a discriminated union. */
export type DomainEvent = {
  [K in EventType]: { readonly type: K; readonly data: Static<Definitions[K]["schema"]> };
}[EventType];

export type EventOfType<K extends EventType> = Extract<DomainEvent, { type: K }>;

/** The event types appended to an aggregate's stream (its definitions say which). */
export type EventTypeOfStream<S extends EventStream> = {
  [K in EventType]: Definitions[K]["stream"] extends S ? K : never;
}[EventType];
/** The events of an aggregate's stream, as a discriminated union: its decider's `evolve` folds these. */
export type EventOfStream<S extends EventStream> = EventOfType<EventTypeOfStream<S>>;

/** The event types of a stream, as a set (for filtering a read of the log). */
export const eventTypesOfStream = <S extends EventStream>(stream: S): ReadonlySet<EventTypeOfStream<S>> =>
  new Set(EVENT_TYPES.filter((type) => EVENT_DEFINITIONS[type].stream === stream) as EventTypeOfStream<S>[]);

/** Metadata carried by every event. */
export const EventMetadata = Type.Object(
  {
    correlationId: Identifier,
    causationId: Identifier,
    schemaVersion: Type.Integer({ minimum: 1, maximum: 1000 }),
    /** Who acted (events written before authentication have none). */
    actor: Type.Optional(Actor),
    /**
     * Since issue 22: the W3C trace context of the request that caused it, so that the processors
     * continue its trace (events written before have none).
     */
    traceparent: Type.Optional(Type.String({ pattern: "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$" })),
  },
  { additionalProperties: true, $id: "EventMetadata" },
);
export type EventMetadata = Static<typeof EventMetadata>;

/**
 * 2: issue 68, a period's opening carries the lot's domain summary; 3: that summary's bookings in
 * columns, each customer's personal values sealed as one (schemas/upcasters.ts).
 */
export const CURRENT_SCHEMA_VERSION = 3;
