/**
 * Every call the page makes to the service, in one module, through the typed client generated from
 * the OpenAPI document (client/api.d.ts by openapi-typescript, calls by openapi-fetch: the same
 * client the e2e tests use). Each path, parameter, body and answer below is typed by the document,
 * so a path, parameter or field renamed there fails `npm run typecheck` here instead of failing
 * in an operator's browser; web/page-api.unit.test.ts checks the requests themselves against the
 * document, and that nothing else in the page calls the service.
 *
 * The browser's session cookie (set by /sign-in) authenticates these same-origin requests; the
 * service refuses a cookie-authenticated change from another origin by the browser's Fetch
 * Metadata, so no CSRF header is needed. With an external identity provider the page trades its
 * access token for that cookie once (startSession) and sends no token afterwards.
 */
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, paths } from "../../client/api.js";

type Schemas = components["schemas"];
export type ControlCenterView = Schemas["ControlCenterView"];
export type ParkingLotPage = Schemas["ParkingLotPage"];
/** A lot as GET /parking-lots lists it (the document names only the page). */
export type ParkingLotView = ParkingLotPage["items"][number];
/** One lot as GET /parking-lots/{id} answers it: also free now and in each of the next hours. */
export type ParkingLotDetail = Schemas["ParkingLotDetail"];
export type LotMoneyView = Schemas["LotMoneyView"];
export type ReservationPage = Schemas["ReservationPage"];
export type ReservationView = Schemas["ReservationView"];
export type TimelineView = Schemas["TimelineView"];
export type HistoryPage = Schemas["HistoryPage"];
export type GateReviewPage = Schemas["GateReviewPage"];
export type Problem = Schemas["Problem"];
export type SignInConfig = Schemas["SignInConfig"];
export type WebhookEndpointView = Schemas["WebhookEndpointView"];
export type WebhookAttemptPage = Schemas["WebhookAttemptPage"];
/** What DELETE /parking-lots/{id}/reservations/{rid} answers: with payments on, what the cancel decided of the money. */
export type ReservationCanceled = Schemas["ReservationCanceledResponse"];

/**
 * What the page sends to an operation, from the document: its query, path parameters and JSON
 * body. openapi-fetch takes a call's options as an inferred generic, which does not refuse an
 * unknown key (a renamed optional parameter or field would slip through); every call below
 * therefore also says `satisfies` these, which does.
 */
type Operation<P extends keyof paths, M extends "get" | "post" | "put" | "delete"> = NonNullable<paths[P][M]>;
type Query<P extends keyof paths, M extends "get"> = NonNullable<Operation<P, M>["parameters"]["query"]>;
type PathParameters<P extends keyof paths, M extends "get" | "post" | "put" | "delete"> = Operation<
  P,
  M
>["parameters"]["path"];
type Body<P extends keyof paths, M extends "post" | "put" | "delete"> = NonNullable<
  Operation<P, M>["requestBody"]
>["content"]["application/json"];

/** What GET /reservations can be asked: by lot, customer, plate, status, page. */
export type ReservationQuery = Query<"/reservations", "get">;
/** What GET /parking-lots/{id}/timeline can be asked: from, until, step minutes. */
export type TimelineQuery = Query<"/parking-lots/{parkingLotId}/timeline", "get">;
/** What POST /parking-lots/{id}/closures announces. */
export type NewClosure = Body<"/parking-lots/{parkingLotId}/closures", "post">;
/** What POST /webhook-endpoints registers. */
export type NewWebhookEndpoint = Body<"/webhook-endpoints", "post">;
/** What POST /parking-lots/{id}/reservations/{rid}/refund asks: an amount and why. */
export type RefundPayment = Body<"/parking-lots/{parkingLotId}/reservations/{reservationId}/refund", "post">;
/** What POST /parking-lots registers. */
export type RegisterLot = Body<"/parking-lots", "post">;

/** A refusal or failure of the API, in the words of its problem document. */
export class ApiProblem extends Error {
  override name = "ApiProblem";
  constructor(
    readonly title: string,
    readonly detail: string | undefined,
    readonly status: number,
    readonly errors: NonNullable<Problem["errors"]> = [],
    /** The problem's other members (e.g. `at` and `held` of capacity-too-low). */
    readonly extras: Readonly<Record<string, unknown>> = {},
    /**
     * The problem's type without its `/problems/` (`parking-lot-full`), or one of the page's own
     * (`page-unreachable`): the control center words it by this (forms.tsx), in its language. The
     * English title and detail are for the sign-in page, which loads no catalogue.
     */
    readonly code?: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
  /** The session is missing or expired: the page should offer to sign in again. */
  get signedOut(): boolean {
    return this.status === 401;
  }
}

/** What an openapi-fetch call settles to: its data, or the error body it parsed, and the response. */
interface Settled<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly response: Response;
}

/**
 * The one place an answer becomes data or an ApiProblem in words an operator can read: the problem
 * document's title and detail (and each wrong field), never a bare status.
 */
export async function answer<T>(call: Promise<Settled<T>>): Promise<T> {
  let settled: Settled<T>;
  try {
    settled = await call;
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new ApiProblem(
        "The service answered something the page cannot read",
        "Reload the page; if it keeps happening, the service may be misconfigured.",
        0,
        [],
        {},
        "page-unreadable",
      );
    }
    throw new ApiProblem(
      "The service cannot be reached",
      "Check the network connection; the page keeps trying.",
      0,
      [],
      {},
      "page-unreachable",
    );
  }
  const { data, error, response } = settled;
  if (response.ok) return data as T;
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json") && isProblem(error)) {
    const {
      title,
      detail,
      errors,
      type,
      status: _s,
      instance: _i,
      ...extras
    } = error as Problem & Record<string, unknown>;
    const code = typeof type === "string" ? /^\/problems\/([a-z0-9-]+)$/.exec(type)?.[1] : undefined;
    throw new ApiProblem(title, detail, response.status, errors ?? [], extras, code);
  }
  const failed = response.status >= 500;
  throw new ApiProblem(
    failed ? "The service could not answer" : "The request was refused",
    "It answered without an explanation; try again in a moment.",
    response.status,
    [],
    {},
    failed ? "page-server-failed" : "page-refused",
  );
}

const isProblem = (body: unknown): body is Pick<Problem, "title" | "detail" | "errors"> =>
  typeof body === "object" && body !== null && typeof (body as { title?: unknown }).title === "string";

/**
 * Same origin, the session cookie along; JSON asked for, since /control-center answers a browser's
 * usual Accept with the page itself (hence answers typed by their application/json content only).
 * openapi-fetch adds Content-Type only to a call with a body.
 */
export function pageApi(test: Pick<ClientOptions, "baseUrl" | "fetch"> = {}) {
  const client: PageClient = createClient<paths, "application/json">({
    ...test,
    credentials: "same-origin",
    headers: { accept: "application/json" },
  });
  return {
    ...lotReads(client),
    ...reservationCalls(client),
    ...historyCalls(client),
    ...gateReviewCalls(client),
    ...lotChanges(client),
    ...sessionCalls(client),
    ...webhookCalls(client),
  };
}

/**
 * The webhook endpoints (operators): list, register (its secret shown once), delete, attempts,
 * rotate the secret (the new one shown once), replay from a log position.
 */
const webhookCalls = (client: PageClient) => {
  const path = (endpointId: string) => ({
    path: { endpointId } satisfies PathParameters<"/webhook-endpoints/{endpointId}", "get">,
  });
  return {
    webhookEndpoints: () => answer(client.GET("/webhook-endpoints")),
    createWebhookEndpoint: (body: NewWebhookEndpoint) =>
      answer(client.POST("/webhook-endpoints", { body: body satisfies NewWebhookEndpoint })),
    deleteWebhookEndpoint: (endpointId: string) =>
      answer(client.DELETE("/webhook-endpoints/{endpointId}", { params: path(endpointId) })),
    rotateWebhookSecret: (endpointId: string) =>
      answer(client.POST("/webhook-endpoints/{endpointId}/rotate-secret", { params: path(endpointId) })),
    replayWebhooks: (endpointId: string, fromPosition: string) =>
      answer(
        client.POST("/webhook-endpoints/{endpointId}/replay", {
          params: path(endpointId),
          body: { fromPosition } satisfies Body<"/webhook-endpoints/{endpointId}/replay", "post">,
        }),
      ),
    webhookDeliveries: (endpointId: string) =>
      answer(
        client.GET("/webhook-endpoints/{endpointId}/deliveries", {
          params: {
            ...path(endpointId),
            query: { limit: 20 } satisfies Query<"/webhook-endpoints/{endpointId}/deliveries", "get">,
          },
        }),
      ),
  };
};

/** The typed client every call below goes through (answers typed by their application/json content). */
type PageClient = Client<paths, "application/json">;

/** The control center and the lots: the list, one lot now or at an instant of the past, its timeline. */
const lotReads = (client: PageClient) => ({
  /** The control center: its first page of lots, or (with the previous page's cursor) the next. */
  controlCenter: (cursor?: string, limit?: number) =>
    answer(
      client.GET("/control-center", {
        params: { query: { cursor, limit } satisfies Query<"/control-center", "get"> },
      }),
    ),

  parkingLot: (parkingLotId: string) =>
    answer(
      client.GET("/parking-lots/{parkingLotId}", {
        params: { path: { parkingLotId } satisfies PathParameters<"/parking-lots/{parkingLotId}", "get"> },
      }),
    ),

  /** The lot as it was at an instant of the past (issue 22): folded from the log by the service. */
  parkingLotAsOf: (parkingLotId: string, asOf: string) =>
    answer(
      client.GET("/parking-lots/{parkingLotId}", {
        params: {
          path: { parkingLotId } satisfies PathParameters<"/parking-lots/{parkingLotId}", "get">,
          query: { asOf } satisfies Query<"/parking-lots/{parkingLotId}", "get">,
        },
      }),
    ),

  timeline: (parkingLotId: string, query: TimelineQuery = {}) =>
    answer(
      client.GET("/parking-lots/{parkingLotId}/timeline", {
        params: {
          path: { parkingLotId } satisfies PathParameters<"/parking-lots/{parkingLotId}/timeline", "get">,
          query: {
            from: query.from,
            until: query.until,
            step: query.step,
            asOf: query.asOf,
          } satisfies TimelineQuery,
        },
      }),
    ),
});

/** A lot's audit trail: its facts in log order, each with the API's sentence, a page at a time. */
const historyCalls = (client: PageClient) => ({
  lotHistory: (
    parkingLotId: string,
    cursor: string | undefined,
    limit: number,
    from?: string,
    until?: string,
  ) =>
    answer(
      client.GET("/parking-lots/{parkingLotId}/history", {
        params: {
          path: { parkingLotId } satisfies PathParameters<"/parking-lots/{parkingLotId}/history", "get">,
          query: { cursor, limit, from, until } satisfies Query<
            "/parking-lots/{parkingLotId}/history",
            "get"
          >,
        },
      }),
    ),
  /** The lot's takings per local day over [from, to] (issue 69). */
  lotMoney: (parkingLotId: string, from: string, to: string) =>
    answer(
      client.GET("/parking-lots/{parkingLotId}/money", {
        params: {
          path: { parkingLotId } satisfies PathParameters<"/parking-lots/{parkingLotId}/money", "get">,
          query: { from, to } satisfies Query<"/parking-lots/{parkingLotId}/money", "get">,
        },
      }),
    ),
});

/** A lot's gate reads sent to review (issue 49), and an attendant's resolution of one. */
const gateReviewCalls = (client: PageClient) => ({
  gateReviews: (parkingLotId: string, limit: number) =>
    answer(
      client.GET("/parking-lots/{parkingLotId}/gate-reviews", {
        params: {
          path: { parkingLotId } satisfies PathParameters<"/parking-lots/{parkingLotId}/gate-reviews", "get">,
          query: { limit } satisfies Query<"/parking-lots/{parkingLotId}/gate-reviews", "get">,
        },
      }),
    ),
  resolveGateReview: (
    parkingLotId: string,
    eventId: string,
    body: Body<"/parking-lots/{parkingLotId}/gate-reviews/{eventId}/resolve", "post">,
  ) =>
    answer(
      client.POST("/parking-lots/{parkingLotId}/gate-reviews/{eventId}/resolve", {
        params: {
          path: { parkingLotId, eventId } satisfies PathParameters<
            "/parking-lots/{parkingLotId}/gate-reviews/{eventId}/resolve",
            "post"
          >,
        },
        body,
      }),
    ),
});

/** A lot's reservations: found by filter, checked in, checked out, canceled. */
const reservationCalls = (client: PageClient) => ({
  reservations: (filter: ReservationQuery) =>
    answer(
      client.GET("/reservations", {
        params: { query: { limit: 20, ...filter } satisfies ReservationQuery },
      }),
    ),

  checkIn: (parkingLotId: string, reservationId: string) =>
    answer(
      client.POST("/parking-lots/{parkingLotId}/reservations/{reservationId}/check-in", {
        params: {
          path: { parkingLotId, reservationId } satisfies PathParameters<
            "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-in",
            "post"
          >,
        },
      }),
    ),

  checkOut: (parkingLotId: string, reservationId: string) =>
    answer(
      client.POST("/parking-lots/{parkingLotId}/reservations/{reservationId}/check-out", {
        params: {
          path: { parkingLotId, reservationId } satisfies PathParameters<
            "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-out",
            "post"
          >,
        },
      }),
    ),

  /** An operator's refund of a captured booking (issue 38): the service decides what can still be refunded. */
  refundPayment: (parkingLotId: string, reservationId: string, refund: RefundPayment) =>
    answer(
      client.POST("/parking-lots/{parkingLotId}/reservations/{reservationId}/refund", {
        params: {
          path: { parkingLotId, reservationId } satisfies PathParameters<
            "/parking-lots/{parkingLotId}/reservations/{reservationId}/refund",
            "post"
          >,
        },
        body: { amount: refund.amount, reason: refund.reason } satisfies RefundPayment,
      }),
    ),

  cancelReservation: (parkingLotId: string, reservationId: string, reason: string) =>
    answer(
      client.DELETE("/parking-lots/{parkingLotId}/reservations/{reservationId}", {
        params: {
          path: { parkingLotId, reservationId } satisfies PathParameters<
            "/parking-lots/{parkingLotId}/reservations/{reservationId}",
            "delete"
          >,
        },
        // The page cancels as an operator: its body is the operator's schema (reason required).
        body: { reason } satisfies Schemas["OperatorCancelReservationBody"] &
          Body<"/parking-lots/{parkingLotId}/reservations/{reservationId}", "delete">,
      }),
    ),
});

/** An operator's changes to the lots: register one, close one for a while, change its capacity. */
const lotChanges = (client: PageClient) => ({
  registerLot: (body: RegisterLot) => answer(client.POST("/parking-lots", { body })),

  closeLot: (parkingLotId: string, closure: NewClosure) =>
    answer(
      client.POST("/parking-lots/{parkingLotId}/closures", {
        params: {
          path: { parkingLotId } satisfies PathParameters<"/parking-lots/{parkingLotId}/closures", "post">,
        },
        body: {
          from: closure.from,
          until: closure.until,
          reason: closure.reason,
        } satisfies NewClosure,
      }),
    ),

  changeRate: (parkingLotId: string, hourlyRate: number) =>
    answer(
      client.PUT("/parking-lots/{parkingLotId}/rate", {
        params: {
          path: { parkingLotId } satisfies PathParameters<"/parking-lots/{parkingLotId}/rate", "put">,
        },
        body: { hourlyRate } satisfies Body<"/parking-lots/{parkingLotId}/rate", "put">,
      }),
    ),

  changeCustomerLimit: (parkingLotId: string, maxActivePerCustomer: number) =>
    answer(
      client.PUT("/parking-lots/{parkingLotId}/customer-limit", {
        params: {
          path: { parkingLotId } satisfies PathParameters<
            "/parking-lots/{parkingLotId}/customer-limit",
            "put"
          >,
        },
        body: { maxActivePerCustomer } satisfies Body<"/parking-lots/{parkingLotId}/customer-limit", "put">,
      }),
    ),

  changeCapacity: (parkingLotId: string, capacity: number) =>
    answer(
      client.PUT("/parking-lots/{parkingLotId}/capacity", {
        params: {
          path: { parkingLotId } satisfies PathParameters<"/parking-lots/{parkingLotId}/capacity", "put">,
        },
        body: { capacity } satisfies Body<"/parking-lots/{parkingLotId}/capacity", "put">,
      }),
    ),
});

/** Signing in: how the page signs in, and a session for an access token of the external provider. */
const sessionCalls = (client: PageClient) => ({
  signInConfig: () => answer(client.GET("/control-center/sign-in-config")),

  /** Trades an access token of the external provider for the service's session cookie. */
  startSession: (accessToken: string, refreshToken: string | undefined, idToken: string | undefined) =>
    answer(
      client.POST("/sign-in/session", {
        headers: { authorization: `Bearer ${accessToken}` },
        body: {
          ...(refreshToken ? { refreshToken } : {}),
          ...(idToken ? { idToken } : {}),
        } satisfies Body<"/sign-in/session", "post">,
      }),
    ),
});

/** The calls the page makes (pageApi's test options are for web/page-api.unit.test.ts only). */
export const api = pageApi();

/** The document's paths that answer method M. */
type Answering<M extends "get" | "post"> = {
  [P in keyof paths]-?: [NonNullable<paths[P][M]>] extends [never] ? never : P;
}[keyof paths];

/**
 * Paths the page reaches without fetch: the live stream (an EventSource GETs it), the sign-out
 * form (POSTs it) and the link back to the control center. Typed by the document as well.
 */
export const LIVE_UPDATES_URL = "/control-center/events" satisfies Answering<"get">;
export const SIGN_OUT_URL = "/sign-out" satisfies Answering<"post">;
export const CONTROL_CENTER_URL = "/control-center" satisfies Answering<"get">;
/** `?again` on the control center: the sign-in screen goes straight on to the provider (one click). */
export const SIGN_IN_AGAIN = "again";
/** The lot's takings as CSV over [from, to] (issue 69): a link the browser downloads, with the session cookie. */
export const moneyCsvUrl = (parkingLotId: string, from: string, to: string): string => {
  const path: Answering<"get"> = "/parking-lots/{parkingLotId}/money";
  const query = new URLSearchParams({ from, to, format: "csv" });
  return `${path.replace("{parkingLotId}", encodeURIComponent(parkingLotId))}?${query}`;
};
