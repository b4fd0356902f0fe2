import type { Static } from "@sinclair/typebox";
import type { Request, RequestHandler } from "express";
import { type Position, parsePositionToken } from "../event-store/position.js";
import { instantField } from "../platform/http/instant-field.js";
import type { Operation } from "../platform/http/operation.js";
import {
  type HandlersOf,
  type OperationHandler,
  operationRouter,
} from "../platform/http/operation-routes.js";
import { invalidField, ProblemError } from "../platform/http/problem.js";
import { signalOf } from "../platform/http/work-gate.js";
import { searchableFragment } from "../schemas/plates.js";
import { MONEY_MAX_DAYS, type ParkingLotsQuery } from "../schemas/queries.js";
import { windowProblem } from "../schemas/reservation-time.js";
import { callerOf } from "../write-side/http/access.js";
import { lotFor, lotScopeOf, maySee, noItems, reservationsFilter } from "./access.js";
import type { HistoryService } from "./history/history-service.js";
import { indexCaughtUp } from "./history/reservation-history.js";
import { lotNotFound, reservationNotFound } from "./not-found.js";
import { QUERY_OPERATIONS, type QueryOperationId } from "./operations.js";
import { type PageRoutesOptions, pageHandlers, wantsHtml } from "./page-routes.js";
import { asOfViews } from "./time-travel/as-of-views.js";
import { FoldTooFarError, type TimeTravel } from "./time-travel/time-travel.js";
import { InvalidSearchCursor, type LotSearch, MAX_SEARCH_PAGE } from "./views/lot-search.js";
import { daysBetween, moneyCsv, today } from "./views/money-view.js";
import {
  PositionBeyondHeadError,
  PositionNotReachedError,
  TooManyWaitingError,
} from "./views/read-context.js";
import { withClientSecret } from "./views/reservation-view.js";
import type { Views } from "./views/views.js";

const DEFAULT_LIMIT = 50;
/** The longest range a timeline answers (192 steps of 15 minutes). */
const TIMELINE_MAX_MS = 48 * 3_600_000;

/**
 * The position a query asked to see. A token the schema lets through but that is beyond any
 * position of the log (not a safe integer) is refused: ignoring it would answer as if reached.
 */
function minPositionOf(token: string | undefined): Position | null {
  if (!token) return null;
  const position = parsePositionToken(token);
  if (!position)
    throw invalidField(
      "query.minPosition",
      "is beyond any position of the log",
      "The request query is invalid.",
    );
  return position;
}

/** A history's page as its query asks; a cursor the schema lets through but no position can have is refused. */
function historyPageOf(req: Request, q: { readonly cursor?: string; readonly limit?: number }) {
  const cursor = q.cursor === undefined ? undefined : Number(q.cursor);
  if (cursor !== undefined && !Number.isSafeInteger(cursor))
    throw invalidField("query.cursor", "is beyond any position of the log", "The request query is invalid.");
  return {
    limit: q.limit ?? DEFAULT_LIMIT,
    signal: signalOf(req),
    ...(cursor === undefined ? {} : { cursor }),
  };
}

/** A page as a listing's query asks for it: its size, where it goes on from, the position it waits for. */
const pageOf = (q: { readonly limit?: number; readonly cursor?: string; readonly minPosition?: string }) => ({
  limit: q.limit ?? DEFAULT_LIMIT,
  minPosition: minPositionOf(q.minPosition),
  ...(q.cursor ? { cursor: q.cursor } : {}),
});

/** The window [from, until) a query names, or the 400 a booking of it would get (schemas/reservation-time.ts). */
function windowOf(q: { readonly from: string; readonly until: string }, now: number) {
  const from = instantField(q.from, "query.from").ms;
  const until = instantField(q.until, "query.until").ms;
  const problem = windowProblem(from, until, now, { start: "query.from", end: "query.until" });
  if (problem) throw invalidField(problem.field, problem.detail);
  return { from, until };
}

/**
 * Runs a handler, turning read-your-writes refusals into problems: a position beyond the log a 400,
 * a timeout, too many waiting queries or a moment too far to fold in one answer a 503 with Retry-After
 * (this request laid checkpoints towards it: the next starts there).
 */
const answered =
  (handler: OperationHandler): OperationHandler =>
  async (req, res, next) => {
    try {
      return await handler(req, res, next);
    } catch (error) {
      if (error instanceof PositionNotReachedError) {
        throw new ProblemError("position-not-reached", error.message, {
          retryAfterSeconds: 1,
          projection: error.projection,
        });
      }
      if (error instanceof PositionBeyondHeadError)
        throw invalidField(
          "query.minPosition",
          error.message,
          `${error.message}; send a position a command answered.`,
        );
      if (error instanceof TooManyWaitingError) {
        throw new ProblemError("overloaded", `${error.message}; retry shortly.`, { retryAfterSeconds: 1 });
      }
      if (error instanceof FoldTooFarError)
        throw new ProblemError(
          "overloaded",
          `The control center's books end more than ${error.folded} events before that moment (their reactor is catching up); ask again shortly.`,
          { retryAfterSeconds: 1 },
        );
      throw error;
    }
  };

/** What the query API and the page read: the read models, the log (history, time travel), the page. */
export interface QueryRoutesOptions {
  readonly views: Views;
  readonly history: HistoryService;
  readonly timeTravel: TimeTravel;
  readonly clock: () => Date;
  /** How many lots a page of the control center holds when the query does not say. */
  readonly controlCenterLotLimit: number;
  readonly page: PageRoutesOptions;
  /** The work gate of each expensive operation (HEAVY_READ_*), if any. */
  readonly gate?: (operation: Operation) => RequestHandler;
}

/** The handlers of these query operations, each answer typed by its row's responses. */
type Handlers<Id extends QueryOperationId> = Pick<HandlersOf<typeof QUERY_OPERATIONS>, Id>;

/** The query API and the control-center page, generated from the table of operations (operations.ts). */
export function queryRoutes(options: QueryRoutesOptions): RequestHandler {
  const { views } = options;
  const asOf = asOfViews(options.timeTravel, views, options);
  const page = pageHandlers(options.page);
  const handlers: Handlers<QueryOperationId> = {
    ...lotHandlers(views, asOf),
    getTimeline: timelineHandler(views, asOf),
    getLotMoney: moneyHandler(views),
    listGateReviews: gateReviewsHandler(views),
    ...reservationHandlers(views, asOf),
    ...historyHandlers(options.history, views),
    getControlCenter: async (req, res, _next, { query: q }) => {
      if (wantsHtml(req)) return page.controlCenterPage(req, res);
      const { reach } = callerOf(req);
      const asked = {
        ...(reach ? { within: reach } : {}),
        limit: q.limit ?? options.controlCenterLotLimit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
      };
      if (q.asOf !== undefined) return void res.json(await asOf.controlCenter(q.asOf, asked));
      const minPosition = minPositionOf(q.minPosition);
      res.json(await views.controlCenter.controlCenter({ ...asked, minPosition }));
    },
    getSignInConfig: page.getSignInConfig,
    streamControlCenterEvents: page.streamControlCenterEvents,
    getLandingPage: page.getLandingPage,
    getFavicon: page.getFavicon,
  };
  return operationRouter(QUERY_OPERATIONS, handlers, {
    around: answered,
    ...(options.gate ? { gate: options.gate } : {}),
  });
}

type AsOfViews = ReturnType<typeof asOfViews>;

/** The lots: the listing, one lot (now, or as of a moment), a window's availability. */
function lotHandlers(
  { lots, search, context }: Views,
  asOf: AsOfViews,
): Handlers<"listParkingLots" | "getParkingLot" | "getAvailability"> {
  return {
    listParkingLots: async (req, res, _next, { query: q }) => {
      if (q.near !== undefined) {
        const found = await search.search(searchOf(q, context.now())).catch((error) => {
          if (!(error instanceof InvalidSearchCursor)) throw error;
          throw invalidField(
            "query.cursor",
            error.message,
            "cursor is not a nextCursor this search answered.",
          );
        });
        res.json({ ...found, items: found.items.map((lot) => lotFor(req, lot)) });
        return;
      }
      const page = await lots.parkingLots(pageOf(q));
      res.json({ ...page, items: page.items.map((lot) => lotFor(req, lot)) });
    },

    getParkingLot: async (req, res, _next, { path: { parkingLotId }, query: q }) => {
      const lot =
        q.asOf === undefined
          ? await lots.parkingLotDetail(parkingLotId, minPositionOf(q.minPosition))
          : await asOf.parkingLot(parkingLotId, q.asOf);
      if (!lot) throw lotNotFound(parkingLotId);
      // As of a moment too, the live view's access rules: a closure's reason and cars for its staff only.
      res.json(lotFor(req, lot));
    },

    getAvailability: async (_req, res, _next, { path: { parkingLotId }, query: q }) => {
      // Exactly what a booking of this window would refuse, with the same problem types.
      const { from, until } = windowOf(q, context.now());
      const view = await lots.availability(parkingLotId, from, until, minPositionOf(q.minPosition));
      if (!view) throw lotNotFound(parkingLotId);
      if ("invalid" in view) throw invalidField(view.invalid.field, view.invalid.detail);
      if ("closed" in view)
        throw new ProblemError(
          "parking-lot-closed",
          `Parking lot ${parkingLotId} is closed from ${view.closed.from} until ${view.closed.until}.`,
          { parkingLotId, from: view.closed.from, until: view.closed.until },
        );
      res.json(view);
    },
  };
}

/** A search's terms, or the 400 naming what the schema cannot (the point's range, the window's bounds). */
function searchOf(q: Static<typeof ParkingLotsQuery>, now: number): LotSearch {
  const [latitude, longitude] = String(q.near).split(",").map(Number) as [number, number];
  if (!(Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180))
    throw invalidField(
      "query.near",
      "latitude must be in -90..90 and longitude in -180..180",
      "near must be latitude,longitude with latitude in -90..90 and longitude in -180..180.",
    );
  const window = windowOf({ from: String(q.from), until: String(q.until) }, now);
  const page = pageOf(q);
  return {
    near: { latitude, longitude },
    radiusMeters: Number(q.radiusMeters),
    ...window,
    sort: q.sort ?? "distance",
    ...page,
    limit: Math.min(page.limit, MAX_SEARCH_PAGE),
  };
}

/** Reservations (listed, or one now or as of a moment) and a customer's coupons. */
function reservationHandlers(
  views: Views,
  asOf: AsOfViews,
): Handlers<"listReservations" | "getReservation" | "listCustomerCoupons"> {
  return {
    listReservations: async (req, res, _next, { query: q }) => {
      const reader = callerOf(req);
      // `9-` is 2 characters as sent but 1 once the hyphen is ignored: the suffix index holds no
      // 1-character suffix, so it would miss every plate that ends in `9` (schemas/plates.ts): a 400.
      if (q.carNumber !== undefined && !searchableFragment(q.carNumber))
        throw invalidField("query.carNumber", "needs at least 2 characters besides spaces and hyphens");
      const customerId = reservationsFilter(reader.actor, q.customerId);
      const scope = await lotScopeOf(views.lots, reader.reach, q.parkingLotId);
      if (scope.kind === "none") return void res.json(noItems());
      const query = {
        limit: q.limit ?? DEFAULT_LIMIT,
        ...(customerId ? { customerId } : {}),
        ...(q.carNumber ? { carNumber: q.carNumber } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      };
      if (q.asOf !== undefined)
        return void res.json(await asOf.lotReservations(q.parkingLotId, q.asOf, query));
      const page = await views.reservations.reservations({
        ...query,
        minPosition: minPositionOf(q.minPosition),
        ...(q.parkingLotId ? { parkingLotId: q.parkingLotId } : {}),
        ...(scope.kind === "lots" ? { parkingLotIds: scope.lotIds } : {}),
      });
      res.json(page);
    },

    getReservation: async (req, res, _next, { path: { reservationId }, query: q }) => {
      const reader = callerOf(req);
      if (q.asOf !== undefined) return void res.json(await asOf.reservation(reader, reservationId, q.asOf));
      const reservation = await views.reservations.reservation(reservationId, minPositionOf(q.minPosition));
      if (!reservation || !maySee(reader, reservation)) throw reservationNotFound(reservationId);
      // The client secret confirms the payment: the booking's customer sees it, nobody else, and
      // only while the payment (or a refused charge's intent) waits for them.
      const own = reader.reach === undefined && reader.actor.sub === reservation.customerId;
      const { payment } = reservation;
      const waits = payment?.state === "pending" || payment?.state === "action-required";
      const due = payment?.failures.some((f) => f.intentId !== undefined);
      const secret =
        own && (waits || due) ? await views.reservations.paymentClientSecret(reservationId) : undefined;
      res.json(
        secret && payment ? { ...reservation, payment: withClientSecret(payment, secret) } : reservation,
      );
    },

    // Who may read them was decided by the row's `authorize`; staff scoped to lots read only theirs.
    listCustomerCoupons: async (req, res, _next, { path: { customerId }, query: q }) => {
      const scope = await lotScopeOf(views.lots, callerOf(req).reach, q.parkingLotId);
      if (scope.kind === "none") return void res.json(noItems());
      const page = await views.reservations.customerCoupons(customerId, {
        ...pageOf(q),
        ...(scope.kind === "lots" ? { parkingLotIds: scope.lotIds } : {}),
        ...(q.parkingLotId ? { parkingLotIds: [q.parkingLotId] } : {}),
      });
      res.json(page);
    },
  };
}

/** A lot's day: spots held per step, over at most TIMELINE_MAX_MS; with `asOf`, as it was then. */
function timelineHandler(views: Views, asOf: AsOfViews): Handlers<"getTimeline">["getTimeline"] {
  return async (_req, res, _next, { path: { parkingLotId }, query: q }) => {
    const from = q.from === undefined ? undefined : instantField(q.from, "query.from").ms;
    const until = q.until === undefined ? undefined : instantField(q.until, "query.until").ms;
    const start = from ?? asOf.nowOf(q.asOf) - 60 * 60_000;
    if (until !== undefined && until <= start)
      throw invalidField("query.until", "must be after from (or now)");
    if (until !== undefined && until - start > TIMELINE_MAX_MS)
      throw invalidField("query.until", "must be at most two days after from (or now)");
    const ask = (from_: Views) =>
      from_.lots.timeline(
        parkingLotId,
        {
          stepMinutes: q.step ?? 15,
          ...(from === undefined ? {} : { from }),
          ...(until === undefined ? {} : { until }),
        },
        q.asOf === undefined ? minPositionOf(q.minPosition) : null,
      );
    const view = q.asOf === undefined ? await ask(views) : await asOf.lotView(parkingLotId, q.asOf, ask);
    if (!view) throw lotNotFound(parkingLotId);
    res.json(view);
  };
}

/** A lot's money per local day (its zone) from `from` to `to` (default its today), at most MONEY_MAX_DAYS days. */
function moneyHandler(views: Views): Handlers<"getLotMoney">["getLotMoney"] {
  return async (req, res, _next, { path: { parkingLotId }, query: q }) => {
    // Today is the lot's local day (a lot not found is answered 404 below, whatever the dates).
    const to =
      q.to ?? (await views.money.lotToday(parkingLotId, views.context.now())) ?? today(views.context.now());
    const from = q.from ?? to;
    // A `from` after today with `to` left out is the one to name.
    if (to < from && q.to === undefined)
      throw invalidField("query.from", "must not be after today when to is left out");
    if (to < from) throw invalidField("query.to", "must not be before from");
    if (daysBetween(from, to) > MONEY_MAX_DAYS)
      throw invalidField("query.to", `must be at most ${MONEY_MAX_DAYS} days from from (both included)`);
    const range = { from, to, maxDays: MONEY_MAX_DAYS };
    const view = await views.money.lotMoney(parkingLotId, range, minPositionOf(q.minPosition));
    if (!view) throw lotNotFound(parkingLotId);
    if (q.format === "csv" || req.accepts(["application/json", "text/csv"]) === "text/csv") {
      res.type("text/csv; charset=utf-8").end(moneyCsv(view));
      return;
    }
    res.json(view);
  };
}

/** A lot's open gate reviews, newest first, a page bounded by `limit`. */
function gateReviewsHandler(views: Views): Handlers<"listGateReviews">["listGateReviews"] {
  return async (_req, res, _next, { path: { parkingLotId }, query: q }) => {
    const page = pageOf(q);
    await views.lots.awaitLot(page.minPosition);
    if (!(await views.lots.storedLot(parkingLotId))) throw lotNotFound(parkingLotId);
    res.json(await views.gateReviews.gateReviews(parkingLotId, page));
  };
}

/**
 * The audit trail: a lot's history (operators) and a reservation's (its customer, or operators;
 * another customer's answers 404 as a missing one does, revealing nothing).
 */
function historyHandlers(
  history: HistoryService,
  views: Views,
): Handlers<"getParkingLotHistory" | "getReservationHistory"> {
  return {
    getParkingLotHistory: async (req, res, _next, { path: { parkingLotId }, query: q }) => {
      const from = q.from === undefined ? undefined : instantField(q.from, "query.from").ms;
      const until = q.until === undefined ? undefined : instantField(q.until, "query.until").ms;
      if (from !== undefined && until !== undefined && !(until > from))
        throw invalidField("query.until", "must be after from");
      const page = await history.lot(parkingLotId, {
        ...historyPageOf(req, q),
        ...(from === undefined ? {} : { from }),
        ...(until === undefined ? {} : { until }),
      });
      if (!page) throw lotNotFound(parkingLotId);
      res.json(page);
    },

    getReservationHistory: async (req, res, _next, { path: { reservationId }, query: q }) => {
      const reader = callerOf(req);
      const page = historyPageOf(req, q);
      // The read model says where the reservation's facts are; the facts, and whose it is, come from the log.
      const located = await views.reservations.reservation(reservationId);
      if (!located || !maySee(reader, located)) throw reservationNotFound(reservationId);
      const found = await indexCaughtUp(() =>
        history.reservation(
          reservationId,
          { parkingLotId: located.parkingLotId, position: Number(located.position) },
          page,
        ),
      );
      if (!found || !maySee(reader, { customerId: found.customerId, parkingLotId: located.parkingLotId }))
        throw reservationNotFound(reservationId);
      res.json(found.page);
    },
  };
}
