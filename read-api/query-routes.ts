import { type Request, type Response, Router } from "express";
import { type Position, parsePositionToken } from "../event-store/position.js";
import { validInput } from "../platform/http/middleware.js";
import { ProblemError } from "../platform/http/problem.js";
import { CustomerPath, LotPath, ReservationPath } from "../schemas/paths.js";
import {
  AvailabilityQuery,
  ControlCenterQuery,
  CouponsQuery,
  ParkingLotsQuery,
  ReservationsQuery,
  SingleQuery,
  TimelineQuery,
} from "../schemas/queries.js";
import { windowProblem } from "../schemas/reservation-time.js";
import { assertMayReadCustomer, lotFor, maySee, readerOf, reservationsFilter } from "./access.js";
import {
  PositionBeyondHeadError,
  PositionNotReachedError,
  type QueryService,
  TooManyWaitingError,
} from "./query-service.js";

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
  if (!position) {
    throw new ProblemError("validation", "The request query is invalid.", {
      errors: [{ field: "query.minPosition", message: "is beyond any position of the log" }],
    });
  }
  return position;
}

const limitOf = (limit: number | undefined): number => limit ?? DEFAULT_LIMIT;

/**
 * Runs a query, turning read-your-writes refusals into clear problems: a position beyond the log
 * is a 400 naming minPosition; a timeout or too many waiting queries a 503 with Retry-After.
 */
async function answer<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if (error instanceof PositionNotReachedError) {
      throw new ProblemError("position-not-reached", error.message, {
        retryAfterSeconds: 1,
        projection: error.projection,
      });
    }
    if (error instanceof PositionBeyondHeadError) {
      throw new ProblemError("validation", `${error.message}; send a position a command answered.`, {
        errors: [{ field: "query.minPosition", message: error.message }],
      });
    }
    if (error instanceof TooManyWaitingError) {
      throw new ProblemError("overloaded", `${error.message}; retry shortly.`, { retryAfterSeconds: 1 });
    }
    throw error;
  }
}

/** The control-center query API. Reads only the read models; never the write side. */
export function queryRoutes(queries: QueryService, options: { controlCenterLotLimit: number }): Router {
  const router = Router();
  lotRoutes(router, queries);
  timelineRoute(router, queries);
  reservationAndControlCenterRoutes(router, queries, options);
  return router;
}

/** The lots: the listing, one lot, a window's availability. */
function lotRoutes(router: Router, queries: QueryService): void {
  router.get("/parking-lots", async (req: Request, res: Response) => {
    const q = validInput(ParkingLotsQuery, { ...req.query }, "query");
    const page = await answer(() =>
      queries.parkingLots({
        limit: limitOf(q.limit),
        minPosition: minPositionOf(q.minPosition),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }),
    );
    res.json({ ...page, items: page.items.map((lot) => lotFor(req, lot)) });
  });

  router.get("/parking-lots/:parkingLotId", async (req: Request, res: Response) => {
    const { parkingLotId } = validInput(LotPath, { ...req.params }, "path");
    const q = validInput(SingleQuery, { ...req.query }, "query");
    const lot = await answer(() => queries.parkingLotDetail(parkingLotId, minPositionOf(q.minPosition)));
    if (!lot)
      throw new ProblemError("parking-lot-not-found", `Parking lot ${parkingLotId} does not exist.`, {
        parkingLotId,
      });
    res.json(lotFor(req, lot));
  });

  router.get("/parking-lots/:parkingLotId/availability", async (req: Request, res: Response) => {
    const { parkingLotId } = validInput(LotPath, { ...req.params }, "path");
    const q = validInput(AvailabilityQuery, { ...req.query }, "query");
    const from = Date.parse(q.from);
    const until = Date.parse(q.until);
    // Exactly what a booking of this window would refuse, with the same problem types: the
    // window's bounds (schemas/reservation-time.ts) here, a closure overlapping it below.
    const problem = windowProblem(from, until, queries.now(), { start: "query.from", end: "query.until" });
    if (problem)
      throw new ProblemError("validation", `${problem.field.replace("query.", "")} ${problem.detail}.`, {
        errors: [{ field: problem.field, message: problem.detail }],
      });
    const view = await answer(() =>
      queries.availability(parkingLotId, from, until, minPositionOf(q.minPosition)),
    );
    if (!view)
      throw new ProblemError("parking-lot-not-found", `Parking lot ${parkingLotId} does not exist.`, {
        parkingLotId,
      });
    if ("closed" in view)
      throw new ProblemError(
        "parking-lot-closed",
        `Parking lot ${parkingLotId} is closed from ${view.closed.from} until ${view.closed.until}.`,
        { parkingLotId, from: view.closed.from, until: view.closed.until },
      );
    res.json(view);
  });
}

/** Reservations, a customer's coupons and the control center. */
function reservationAndControlCenterRoutes(
  router: Router,
  queries: QueryService,
  options: { controlCenterLotLimit: number },
): void {
  router.get("/reservations", async (req: Request, res: Response) => {
    const reader = readerOf(req);
    const q = validInput(ReservationsQuery, { ...req.query }, "query");
    const customerId = reservationsFilter(reader, q.customerId);
    const page = await answer(() =>
      queries.reservations({
        limit: limitOf(q.limit),
        minPosition: minPositionOf(q.minPosition),
        ...(q.parkingLotId ? { parkingLotId: q.parkingLotId } : {}),
        ...(customerId ? { customerId } : {}),
        ...(q.carNumber ? { carNumber: q.carNumber } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }),
    );
    res.json(page);
  });

  router.get("/reservations/:reservationId", async (req: Request, res: Response) => {
    const reader = readerOf(req);
    const { reservationId } = validInput(ReservationPath, { ...req.params }, "path");
    const q = validInput(SingleQuery, { ...req.query }, "query");
    const reservation = await answer(() => queries.reservation(reservationId, minPositionOf(q.minPosition)));
    if (!reservation || !maySee(reader, reservation)) {
      throw new ProblemError("reservation-not-found", `Reservation ${reservationId} does not exist.`, {
        reservationId,
      });
    }
    res.json(reservation);
  });

  router.get("/customers/:customerId/coupons", async (req: Request, res: Response) => {
    const reader = readerOf(req);
    const { customerId } = validInput(CustomerPath, { ...req.params }, "path");
    assertMayReadCustomer(reader, customerId);
    const q = validInput(CouponsQuery, { ...req.query }, "query");
    const page = await answer(() =>
      queries.customerCoupons(customerId, {
        limit: limitOf(q.limit),
        minPosition: minPositionOf(q.minPosition),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }),
    );
    res.json(page);
  });

  router.get("/control-center", async (req: Request, res: Response) => {
    const q = validInput(ControlCenterQuery, { ...req.query }, "query");
    const view = await answer(() =>
      queries.controlCenter({
        limit: q.limit ?? options.controlCenterLotLimit,
        minPosition: minPositionOf(q.minPosition),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }),
    );
    res.json(view);
  });
}

/** A lot's day: spots held per step, over at most TIMELINE_MAX_MS. */
function timelineRoute(router: Router, queries: QueryService): void {
  router.get("/parking-lots/:parkingLotId/timeline", async (req: Request, res: Response) => {
    const { parkingLotId } = validInput(LotPath, { ...req.params }, "path");
    const q = validInput(TimelineQuery, { ...req.query }, "query");
    const from = q.from === undefined ? undefined : Date.parse(q.from);
    const until = q.until === undefined ? undefined : Date.parse(q.until);
    const start = from ?? queries.now() - 60 * 60_000;
    const refuse = (field: string, message: string) => {
      throw new ProblemError("validation", `${field.replace("query.", "")} ${message}.`, {
        errors: [{ field, message }],
      });
    };
    if (until !== undefined && until <= start) refuse("query.until", "must be after from (or now)");
    if (until !== undefined && until - start > TIMELINE_MAX_MS)
      refuse("query.until", "must be at most two days after from (or now)");
    const view = await answer(() =>
      queries.timeline(
        parkingLotId,
        {
          stepMinutes: q.step ?? 15,
          ...(from === undefined ? {} : { from }),
          ...(until === undefined ? {} : { until }),
        },
        minPositionOf(q.minPosition),
      ),
    );
    if (!view)
      throw new ProblemError("parking-lot-not-found", `Parking lot ${parkingLotId} does not exist.`, {
        parkingLotId,
      });
    res.json(view);
  });
}
