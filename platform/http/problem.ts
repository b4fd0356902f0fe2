import type { FieldError } from "../validation.js";

/**
 * RFC 9457 problem details. Every kind of problem has a stable `type` (a relative URI that the
 * service also serves as documentation at GET /problems/{name}), a title and a status.
 */
export const PROBLEM_TYPES = {
  validation: {
    status: 400,
    title: "The request is invalid",
    help: "Fix the fields listed in `errors` and send it again.",
  },
  "malformed-json": {
    status: 400,
    title: "The body is not valid JSON",
    help: "Send a JSON object with Content-Type: application/json.",
  },
  "unsupported-media-type": {
    status: 415,
    title: "Unsupported content type",
    help: "Send the body as application/json.",
  },
  "payload-too-large": {
    status: 413,
    title: "The body is too large",
    help: "Request bodies are limited to 16 KiB.",
  },
  "not-found": {
    status: 404,
    title: "No such resource",
    help: "Check the path; see /openapi.json for the API.",
  },
  "method-not-allowed": {
    status: 405,
    title: "Method not allowed",
    help: "See the Allow header for the methods this path accepts.",
  },
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
  "parking-lot-full": {
    status: 409,
    title: "The parking lot is full",
    help: "Try another lot, or again after a reservation is canceled.",
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
  "check-in-too-early": {
    status: 409,
    title: "The reservation's window has not started yet",
    help: "Check in from `startsAt` on (a few minutes early are allowed).",
  },
  "price-changed": {
    status: 409,
    title: "The price of this window is not the amount sent",
    help: "Send the quoted `amount` (or none, to accept the quote); see GET /parking-lots/{id}/availability.",
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
  "concurrency-conflict": {
    status: 503,
    title: "Too much contention on this parking lot",
    help: "Retry after the time in Retry-After.",
  },
  "rate-limited": {
    status: 429,
    title: "Too many requests",
    help: "Retry after the time in Retry-After; the RateLimit header says what is left of the window.",
  },
  "too-many-streams": {
    status: 429,
    title: "Too many live-update streams open for this caller",
    help: "Close another stream of the same account (another tab or window) first; `max` is the cap per caller (LIVE_MAX_STREAMS_PER_PRINCIPAL). Retry after the time in Retry-After.",
  },
  overloaded: {
    status: 503,
    title: "The service is overloaded",
    help: "Retry after the time in Retry-After.",
  },
  "store-unavailable": {
    status: 503,
    title: "A backing store is unavailable",
    help: "Retry after the time in Retry-After.",
  },
  "position-not-reached": {
    status: 503,
    title: "The view has not caught up to the requested position yet",
    help: "Retry after the time in Retry-After, or ask without minPosition.",
  },
  "service-unavailable": {
    status: 503,
    title: "No instance can answer right now",
    help: "Retry after the time in Retry-After.",
  },
  "shutting-down": {
    status: 503,
    title: "The service is shutting down",
    help: "Retry; another instance will answer.",
  },
  unauthorized: {
    status: 401,
    title: "Authentication required",
    help: "Send `Authorization: Bearer <access token>` from the configured issuer (in development: `npm run -s token -- --role customer --sub CUST1`). The WWW-Authenticate header says what was wrong with the token.",
  },
  forbidden: {
    status: 403,
    title: "Not allowed for this caller",
    help: "The token is valid but its role or subject may not do this; use an account with the right role.",
  },
  "sign-in-failed": {
    status: 401,
    title: "The sign-in link is invalid",
    help: "Sign-in links are valid for 5 minutes and once; print a new one with `npm run -s token -- --role operator --sub ops-1 --sign-in-url <service URL>`.",
  },
  "identity-provider-unavailable": {
    status: 503,
    title: "The identity provider's keys cannot be fetched",
    help: "Retry shortly; if it persists, check AUTH_ISSUER / AUTH_JWKS_URL and that the issuer is reachable.",
  },
  internal: {
    status: 500,
    title: "Internal error",
    help: "This is a bug; the error is logged with the correlation id.",
  },
} as const;

export type ProblemName = keyof typeof PROBLEM_TYPES;

export const problemType = (name: ProblemName): string => `/problems/${name}`;

/** An error that is answered as a problem document. Thrown by handlers, rendered by the error middleware. */
export class ProblemError extends Error {
  override name = "ProblemError";
  readonly status: number;
  constructor(
    readonly problem: ProblemName,
    readonly detail?: string,
    readonly extra: {
      readonly errors?: readonly FieldError[];
      readonly retryAfterSeconds?: number;
      readonly headers?: Readonly<Record<string, string>>;
      /** RFC 9457's own members are the problem's; an extension may not take their names. */
      readonly type?: never;
      readonly title?: never;
      readonly status?: never;
      readonly detail?: never;
      readonly instance?: never;
      readonly [key: string]: unknown;
    } = {},
  ) {
    super(detail ?? PROBLEM_TYPES[problem].title);
    this.status = PROBLEM_TYPES[problem].status;
  }
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: readonly FieldError[];
  [key: string]: unknown;
}

export function problemDocument(error: ProblemError, instance?: string): ProblemDocument {
  const { errors, retryAfterSeconds: _r, headers: _h, ...extensions } = error.extra;
  return {
    ...extensions,
    type: problemType(error.problem),
    title: PROBLEM_TYPES[error.problem].title,
    status: error.status,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(instance ? { instance } : {}),
    ...(errors ? { errors } : {}),
  };
}
