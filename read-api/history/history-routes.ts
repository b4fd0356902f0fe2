import type { Request, Response } from "express";
import { instantField } from "../../platform/http/instant-field.js";
import { pathParam, queryOf } from "../../platform/http/operation-routes.js";
import { invalidField } from "../../platform/http/problem.js";
import { signalOf } from "../../platform/http/work-gate.js";
import { type HistoryPage, LotHistoryQuery, ReservationHistoryQuery } from "../../schemas/history.js";
import { callerOf } from "../../write-side/http/access.js";
import { maySee } from "../access.js";
import { lotNotFound, reservationNotFound } from "../not-found.js";
import type { Views } from "../views/views.js";
import type { HistoryService } from "./history-service.js";
import { indexCaughtUp } from "./reservation-history.js";

const DEFAULT_LIMIT = 50;

/** A cursor the schema lets through (digits) but no position can have is refused, not ignored. */
function cursorOf(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const value = Number(cursor);
  if (!Number.isSafeInteger(value))
    throw invalidField("query.cursor", "is beyond any position of the log", "The request query is invalid.");
  return value;
}

/**
 * The audit trail over HTTP: a lot's history (operators) and a reservation's (its customer, or
 * operators; another customer's answers 404 as a missing one does, revealing nothing).
 */
export function historyHandlers(history: HistoryService, views: Views) {
  const getParkingLotHistory = async (req: Request, res: Response<HistoryPage>) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const q = queryOf(req, LotHistoryQuery);
    const from = q.from === undefined ? undefined : instantField(q.from, "query.from").ms;
    const until = q.until === undefined ? undefined : instantField(q.until, "query.until").ms;
    if (from !== undefined && until !== undefined && !(until > from))
      throw invalidField("query.until", "must be after from");
    const cursor = cursorOf(q.cursor);
    const page = await history.lot(parkingLotId, {
      limit: q.limit ?? DEFAULT_LIMIT,
      signal: signalOf(req),
      ...(cursor === undefined ? {} : { cursor }),
      ...(from === undefined ? {} : { from }),
      ...(until === undefined ? {} : { until }),
    });
    if (!page) throw lotNotFound(parkingLotId);
    res.json(page);
  };

  const getReservationHistory = async (req: Request, res: Response<HistoryPage>) => {
    const reader = callerOf(req);
    const reservationId = pathParam(req, "reservationId");
    const q = queryOf(req, ReservationHistoryQuery);
    const cursor = cursorOf(q.cursor);
    // The read model says where the reservation's facts are; the facts, and whose it is, come from the log.
    const located = await views.reservations.reservation(reservationId);
    if (!located || !maySee(reader, located)) throw reservationNotFound(reservationId);
    const found = await indexCaughtUp(() =>
      history.reservation(
        reservationId,
        { parkingLotId: located.parkingLotId, position: Number(located.position) },
        {
          limit: q.limit ?? DEFAULT_LIMIT,
          signal: signalOf(req),
          ...(cursor === undefined ? {} : { cursor }),
        },
      ),
    );
    if (!found || !maySee(reader, { customerId: found.customerId, parkingLotId: located.parkingLotId }))
      throw reservationNotFound(reservationId);
    res.json(found.page);
  };

  return { getParkingLotHistory, getReservationHistory };
}
