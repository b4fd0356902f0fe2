import { type Request, type Response, Router } from "express";
import { type Position, parsePositionToken } from "../event-store/position.js";
import { validInput } from "../platform/http/middleware.js";
import { ProblemError } from "../platform/http/problem.js";
import { CustomerPath, LotPath, ReservationPath } from "../schemas/paths.js";
import {
  ControlCenterQuery,
  CouponsQuery,
  ParkingLotsQuery,
  ReservationsQuery,
  SingleQuery,
} from "../schemas/queries.js";
import { PositionNotReachedError, type QueryService } from "./query-service.js";

const DEFAULT_LIMIT = 50;

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

const limitOf = (limit: string | undefined): number => (limit ? Number(limit) : DEFAULT_LIMIT);

/** Runs a query, turning a read-your-writes timeout into a clear 503 with Retry-After. */
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
    throw error;
  }
}

/** The control-center query API. Reads only the read models; never the write side. */
export function queryRoutes(queries: QueryService, options: { controlCenterLotLimit: number }): Router {
  const router = Router();

  router.get("/parking-lots", async (req: Request, res: Response) => {
    const q = validInput(ParkingLotsQuery, { ...req.query }, "query");
    const page = await answer(() =>
      queries.parkingLots({
        limit: limitOf(q.limit),
        minPosition: minPositionOf(q.minPosition),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }),
    );
    res.json(page);
  });

  router.get("/parking-lots/:parkingLotId", async (req: Request, res: Response) => {
    const { parkingLotId } = validInput(LotPath, { ...req.params }, "path");
    const q = validInput(SingleQuery, { ...req.query }, "query");
    const lot = await answer(() => queries.parkingLot(parkingLotId, minPositionOf(q.minPosition)));
    if (!lot)
      throw new ProblemError("parking-lot-not-found", `Parking lot ${parkingLotId} does not exist.`, {
        parkingLotId,
      });
    res.json(lot);
  });

  router.get("/reservations", async (req: Request, res: Response) => {
    const q = validInput(ReservationsQuery, { ...req.query }, "query");
    const page = await answer(() =>
      queries.reservations({
        limit: limitOf(q.limit),
        minPosition: minPositionOf(q.minPosition),
        ...(q.parkingLotId ? { parkingLotId: q.parkingLotId } : {}),
        ...(q.customerId ? { customerId: q.customerId } : {}),
        ...(q.carNumber ? { carNumber: q.carNumber } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }),
    );
    res.json(page);
  });

  router.get("/reservations/:reservationId", async (req: Request, res: Response) => {
    const { reservationId } = validInput(ReservationPath, { ...req.params }, "path");
    const q = validInput(SingleQuery, { ...req.query }, "query");
    const reservation = await answer(() => queries.reservation(reservationId, minPositionOf(q.minPosition)));
    if (!reservation) {
      throw new ProblemError("reservation-not-found", `Reservation ${reservationId} does not exist.`, {
        reservationId,
      });
    }
    res.json(reservation);
  });

  router.get("/customers/:customerId/coupons", async (req: Request, res: Response) => {
    const { customerId } = validInput(CustomerPath, { ...req.params }, "path");
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
        limit: q.limit ? Number(q.limit) : options.controlCenterLotLimit,
        minPosition: minPositionOf(q.minPosition),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }),
    );
    res.json(view);
  });

  return router;
}
