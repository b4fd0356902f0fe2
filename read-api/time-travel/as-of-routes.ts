import type { NextFunction, Request, Response } from "express";
import { Router } from "express";
import { validInput } from "../../platform/http/middleware.js";
import { ProblemError } from "../../platform/http/problem.js";
import { ControlCenterAsOfQuery, SingleAsOfQuery } from "../../schemas/as-of-queries.js";
import { LotPath, ReservationPath } from "../../schemas/paths.js";
import { maySee, readerOf } from "../access.js";
import type { QueryService } from "../query-service.js";
import { asksAsOf, parseAsOf } from "./as-of.js";
import type { TimeTravel } from "./time-travel.js";

/** Passes requests without `asOf` on to the live query routes. */
const onlyAsOf =
  (handler: (req: Request, res: Response) => Promise<void>) =>
  async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (!asksAsOf(req)) return next();
    await handler(req, res);
  };

/**
 * GET /parking-lots/{id}, /reservations/{id} and /control-center with `asOf`: the view as it was
 * then, folded from the log by TimeTravel. Mounted before the live query routes, which answer the
 * same paths without `asOf`.
 */
export function asOfRoutes(
  timeTravel: TimeTravel,
  queries: QueryService,
  options: { readonly clock: () => Date; readonly controlCenterLotLimit: number },
): Router {
  const router = Router();
  const cutOf = (asOf: string) => parseAsOf(asOf, options.clock().getTime());

  router.get(
    "/parking-lots/:parkingLotId",
    onlyAsOf(async (req, res) => {
      const { parkingLotId } = validInput(LotPath, { ...req.params }, "path");
      const q = validInput(SingleAsOfQuery, { ...req.query }, "query");
      const lot = await timeTravel.parkingLot(parkingLotId, cutOf(String(q.asOf)));
      if (!lot) {
        throw new ProblemError("parking-lot-not-found", `Parking lot ${parkingLotId} did not exist then.`, {
          parkingLotId,
        });
      }
      res.json(lot);
    }),
  );

  router.get(
    "/reservations/:reservationId",
    onlyAsOf(async (req, res) => {
      const reader = readerOf(req);
      const { reservationId } = validInput(ReservationPath, { ...req.params }, "path");
      const q = validInput(SingleAsOfQuery, { ...req.query }, "query");
      const cut = cutOf(String(q.asOf));
      const notFound = () =>
        new ProblemError("reservation-not-found", `Reservation ${reservationId} does not exist.`, {
          reservationId,
        });
      // The read model says where its facts are (its lot, its booking's position); whose it is
      // and what it was come from the log.
      const located = await queries.reservation(reservationId);
      if (!located || !maySee(reader, located)) throw notFound();
      const view = await timeTravel.reservation(
        reservationId,
        { parkingLotId: located.parkingLotId, position: { commit: Number(located.position), prepare: 0 } },
        cut,
      );
      if (!view || !maySee(reader, view)) throw notFound();
      res.json(view);
    }),
  );

  router.get(
    "/control-center",
    onlyAsOf(async (req, res) => {
      const q = validInput(ControlCenterAsOfQuery, { ...req.query }, "query");
      const view = await timeTravel.controlCenter(cutOf(String(q.asOf)), {
        limit: q.limit ?? options.controlCenterLotLimit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      res.json(view);
    }),
  );

  return router;
}
