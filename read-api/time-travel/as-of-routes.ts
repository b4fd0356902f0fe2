import type { Request, Response } from "express";
import { pathParam, queryOf } from "../../platform/http/operation-routes.js";
import { invalidField, ProblemError } from "../../platform/http/problem.js";
import { ControlCenterAsOfQuery, SingleAsOfQuery } from "../../schemas/as-of-queries.js";
import type { ControlCenterView, ParkingLotDetail, ReservationView } from "../../schemas/read-models.js";
import { lotFor, maySee, reachOfRequest, readerOf } from "../access.js";
import { indexCaughtUp } from "../history/reservation-history.js";
import { reservationNotFound } from "../not-found.js";
import type { Views } from "../views/views.js";
import { type Cut, parseAsOf } from "./as-of.js";
import type { TimeTravel } from "./time-travel.js";

/**
 * GET /parking-lots/{id}, /reservations/{id} and /control-center with `asOf`: the view as it was
 * then, folded from the log by TimeTravel. The handlers of those rows (read-api/query-routes.ts)
 * answer here when the request asks `asOf`; the route validated its path and query before them.
 */
export function asOfViews(
  timeTravel: TimeTravel,
  views: Views,
  options: { readonly clock: () => Date; readonly controlCenterLotLimit: number },
) {
  const cutOf = (asOf: string) => parseAsOf(asOf, options.clock().getTime());

  const parkingLot = async (req: Request, res: Response<ParkingLotDetail>) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const q = queryOf(req, SingleAsOfQuery);
    const lot = await timeTravel.parkingLot(parkingLotId, cutOf(String(q.asOf)));
    if (!lot) throw lotNotFound(parkingLotId);
    // The same access rules as the live view: a closure's reason and cars for operators only.
    res.json(lotFor(req, lot));
  };

  const reservation = async (req: Request, res: Response<ReservationView>) => {
    const reader = readerOf(req);
    const reservationId = pathParam(req, "reservationId");
    const q = queryOf(req, SingleAsOfQuery);
    const cut = cutOf(String(q.asOf));
    const notFound = () => reservationNotFound(reservationId);
    // The read model says where its facts are (its lot, its booking's position); whose it is
    // and what it was come from the log.
    const located = await views.reservations.reservation(reservationId);
    if (!located || !maySee(reader, located)) throw notFound();
    const view = await indexCaughtUp(() =>
      timeTravel.reservation(
        reservationId,
        { parkingLotId: located.parkingLotId, position: { commit: Number(located.position), prepare: 0 } },
        cut,
      ),
    );
    if (!view || !maySee(reader, view)) throw notFound();
    res.json(view);
  };

  const controlCenter = async (req: Request, res: Response<ControlCenterView>) => {
    const q = queryOf(req, ControlCenterAsOfQuery);
    const reach = reachOfRequest(req);
    const view = await timeTravel.controlCenter(cutOf(String(q.asOf)), {
      ...(reach ? { within: reach } : {}),
      limit: q.limit ?? options.controlCenterLotLimit,
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    res.json(view);
  };

  return { parkingLot, reservation, controlCenter, ...lotViews(timeTravel, options.clock, cutOf) };
}

/** Views of one lot as of a moment (its timeline, its reservations), and the instant they take as now. */
function lotViews(timeTravel: TimeTravel, clock: () => Date, cutOf: (asOf: string) => Cut) {
  const cutAsked = (req: Request) => cutOf(String((req.query as Record<string, unknown>).asOf));
  const found = <T>(parkingLotId: string, view: T | null): T => {
    if (!view) throw lotNotFound(parkingLotId);
    return view;
  };
  /** A view of one lot (its timeline) asked of its state at `asOf` (time-travel.ts). */
  const lotView = async <T extends object>(
    req: Request,
    parkingLotId: string,
    query: (views: Views) => Promise<T | null>,
  ): Promise<T> => found(parkingLotId, await timeTravel.lotView(parkingLotId, cutAsked(req), query));
  /** A page of one lot's reservations as its state held them at `asOf`; without a lot: 400. */
  const lotReservations = async (
    req: Request,
    parkingLotId: string | undefined,
    query: Parameters<TimeTravel["lotReservations"]>[2],
  ) => {
    if (parkingLotId === undefined)
      throw invalidField(
        "query.asOf",
        "needs `parkingLotId` (one lot's past at a time)",
        "asOf needs parkingLotId: one lot's past is read at a time.",
      );
    return found(parkingLotId, await timeTravel.lotReservations(parkingLotId, cutAsked(req), query));
  };

  /** The instant a view asked `asOf` is computed as of, for checks made before the fold (now without it). */
  const nowOf = (asOf: string | undefined): number => {
    const now = clock().getTime();
    if (asOf === undefined) return now;
    const cut = cutOf(asOf);
    return cut.kind === "instant" ? cut.ms : now;
  };

  return { lotView, lotReservations, nowOf };
}

const lotNotFound = (parkingLotId: string) =>
  new ProblemError("parking-lot-not-found", `Parking lot ${parkingLotId} did not exist then.`, {
    parkingLotId,
  });
