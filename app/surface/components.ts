import type { TSchema } from "@sinclair/typebox";
import {
  RevokeSessionsBody,
  SessionsRevoked,
  SignInConfig,
  StartSessionBody,
} from "../../platform/auth/sign-in-schemas.js";
import { CORRELATION_ID_PATTERN } from "../../platform/http/middleware.js";
import { type Json, plain } from "../../platform/http/operation.js";
import { WEBHOOK_COMPONENTS } from "../../read-api/webhooks/operations.js";
import {
  CapacityChangedResponse,
  ClosureAccepted,
  CustomerErasureResponse,
  CustomerLimitChangedResponse,
  ParkingLotRegisteredResponse,
  PaymentTermsChangedResponse,
  RateChangedResponse,
  ReservationAccepted,
  ReservationCanceledResponse,
  ReservationStepResponse,
} from "../../schemas/command-responses.js";
import {
  CancelReservationBody,
  ChangeCapacityBody,
  ChangeCustomerLimitBody,
  ChangePaymentTermsBody,
  ChangeRateBody,
  CloseParkingLotBody,
  EraseCustomerBody,
  OperatorCancelReservationBody,
  OperatorEraseCustomerBody,
  OperatorReserveParkingBody,
  RegisterParkingLotBody,
  ReserveParkingBody,
} from "../../schemas/commands.js";
import { HistoryPage } from "../../schemas/history.js";
import {
  PaymentRefundAccepted,
  RefundPaymentBody,
  StripeWebhookEvent,
  StripeWebhookReceived,
} from "../../schemas/payment-requests.js";
import {
  AvailabilityView,
  ControlCenterView,
  CouponView,
  Page,
  ParkingLotDetail,
  ParkingLotView,
  Problem,
  ReservationPage,
  ReservationView,
  TimelineView,
} from "../../schemas/read-models.js";

/**
 * The OpenAPI document's shared components: the schemas operations name by `$ref`, the headers and
 * parameters every operation shares, and the bearer scheme.
 */

/** Named component schemas: generated from the schemas that validate and answer. */
const COMPONENT_SCHEMAS: Record<string, TSchema> = {
  Problem,
  RegisterParkingLotBody,
  ReserveParkingBody,
  OperatorReserveParkingBody,
  CancelReservationBody,
  OperatorCancelReservationBody,
  CloseParkingLotBody,
  ChangeCapacityBody,
  ChangeRateBody,
  ChangeCustomerLimitBody,
  ChangePaymentTermsBody,
  EraseCustomerBody,
  OperatorEraseCustomerBody,
  ReservationStepResponse,
  ClosureAccepted,
  CapacityChangedResponse,
  CustomerErasureResponse,
  RateChangedResponse,
  CustomerLimitChangedResponse,
  PaymentTermsChangedResponse,
  ParkingLotRegisteredResponse,
  ReservationAccepted,
  ReservationCanceledResponse,
  RefundPaymentBody,
  PaymentRefundAccepted,
  StripeWebhookEvent,
  StripeWebhookReceived,
  ParkingLotDetail,
  AvailabilityView,
  TimelineView,
  ParkingLotPage: Page(ParkingLotView),
  ReservationView,
  ReservationPage,
  CouponPage: Page(CouponView),
  ControlCenterView,
  SignInConfig,
  HistoryPage,
  StartSessionBody,
  RevokeSessionsBody,
  SessionsRevoked,
  ...WEBHOOK_COMPONENTS,
};

export const COMPONENTS: Json = {
  schemas: {
    ...Object.fromEntries(Object.entries(COMPONENT_SCHEMAS).map(([name, s]) => [name, plain(s)])),
  },
  parameters: {
    CorrelationId: {
      name: "X-Correlation-Id",
      in: "header",
      required: false,
      description:
        "Your id for this request (e.g. `checkout-7f3a`), echoed in the response and the logs (else one is made). An ill-formed one is refused with 400 `validation` naming `header.X-Correlation-Id`.",
      schema: { type: "string", minLength: 1, maxLength: 64, pattern: CORRELATION_ID_PATTERN },
      // No example to pre-fill: Try it out on /docs sends a fresh id each time the field is empty.
    },
  },
  headers: {
    "X-Correlation-Id": {
      description:
        "The request's correlation id (yours, or generated when you sent none); it is in the logs.",
      required: true,
      schema: { type: "string", minLength: 1, maxLength: 64, pattern: CORRELATION_ID_PATTERN },
    },
    Location: { description: "Where the resource is read.", required: true, schema: { type: "string" } },
    "Idempotent-Replayed": {
      description: "`true` when this answer replays an earlier request with the same Idempotency-Key.",
      schema: { type: "string", enum: ["true"] },
    },
    "Retry-After": {
      description: "Seconds to wait before retrying.",
      schema: { type: "string", pattern: "^[0-9]+$" },
    },
    Allow: {
      description: "The methods this path accepts.",
      required: true,
      schema: { type: "string" },
      example: "GET, POST",
    },
    "WWW-Authenticate": {
      description: "The Bearer challenge: why the token was not accepted.",
      schema: { type: "string" },
    },
    RateLimit: {
      description:
        'What is left of each quota this request counted against (draft-ietf-httpapi-ratelimit-headers-08): `"per-address"` always, and `"per-principal"` for a signed-in caller; `r` requests remaining, `t` seconds until the window resets. On every answer of a counted operation.',
      schema: { type: "string" },
      example: '"per-address"; r=2999; t=60, "per-principal"; r=1199; t=60',
    },
    "RateLimit-Policy": {
      description:
        "The quotas this request counted against (draft-ietf-httpapi-ratelimit-headers-08): `q` requests per window of `w` seconds, `pk` the partition (a hash of the address or the caller). On every answer of a counted operation.",
      schema: { type: "string" },
      example: '"per-address"; q=3000; w=60; pk=:ZTNiMGM0NDI5OGZj:',
    },
    "Set-Cookie": {
      description:
        "The browser session: `parking_session` holds a random session id (the session itself is a record on the server), HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS (directly, through a trusted proxy, or whenever PUBLIC_URL is https). Emptied with Max-Age=0 on sign-out.",
      required: true,
      schema: { type: "string" },
    },
    "Session-Ended": {
      description:
        "Sent as `Set-Cookie` when the request's session has ended (signed out, expired, or not renewed by the identity provider): empties `parking_session` with Max-Age=0.",
      schema: { type: "string" },
    },
    "X-Accel-Buffering": {
      description: "`no`: buffering proxies (nginx) pass each event on as it comes.",
      schema: { type: "string", enum: ["no"] },
    },
  },
  securitySchemes: {
    bearerAuth: {
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
      description:
        "A JWT from the configured issuer (AUTH_ISSUER) or, in development, `npm run -s token -- --role operator`. Roles: customer, operator; an operation's `security` lists the roles that may call it (any one will do), as does its `x-roles`.",
    },
  },
};
