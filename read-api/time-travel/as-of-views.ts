import { invalidField, ProblemError } from "../../platform/http/problem.js";
import type { LotReach } from "../../schemas/lot-reach.js";
import type { Caller } from "../../write-side/http/access.js";
import { maySee } from "../access.js";
import { indexCaughtUp } from "../history/reservation-history.js";
import { reservationNotFound } from "../not-found.js";
import type { Views } from "../views/views.js";
import { parseAsOf } from "./as-of.js";
import type { TimeTravel } from "./time-travel.js";

/** The views asked `asOf`, folded from the log by TimeTravel. A lot that did not exist then is 404. */
export function asOfViews(timeTravel: TimeTravel, views: Views, options: { readonly clock: () => Date }) {
  const cutOf = (asOf: string) => parseAsOf(asOf, options.clock().getTime());
  const found = <T>(parkingLotId: string, view: T | null): T => {
    if (!view) throw lotNotFound(parkingLotId);
    return view;
  };

  return {
    /** One reservation as it was at `asOf`, if `reader` may see it (another's is not found). */
    reservation: async (reader: Caller, reservationId: string, asOf: string) => {
      const cut = cutOf(asOf);
      // The read model says where its facts are; whose it is and what it was come from the log.
      const located = await views.reservations.reservation(reservationId);
      if (!located || !maySee(reader, located)) throw reservationNotFound(reservationId);
      const position = { commit: Number(located.position), prepare: 0 };
      const view = await indexCaughtUp(() =>
        timeTravel.reservation(reservationId, { parkingLotId: located.parkingLotId, position }, cut),
      );
      if (!view || !maySee(reader, view)) throw reservationNotFound(reservationId);
      return view;
    },
    /** One lot as GET /parking-lots/{id} answered at `asOf`. */
    parkingLot: async (parkingLotId: string, asOf: string) =>
      found(parkingLotId, await timeTravel.parkingLot(parkingLotId, cutOf(asOf))),
    /** The control center (JSON) as it was at `asOf`. */
    controlCenter: (
      asOf: string,
      page: { readonly limit: number; readonly cursor?: string; readonly within?: LotReach },
    ) => timeTravel.controlCenter(cutOf(asOf), page),
    /** A view of one lot (its timeline) asked of its state at `asOf` (time-travel.ts). */
    lotView: async <T extends object>(
      parkingLotId: string,
      asOf: string,
      query: (views: Views) => Promise<T | null>,
    ): Promise<T> => found(parkingLotId, await timeTravel.lotView(parkingLotId, cutOf(asOf), query)),
    /** A page of one lot's reservations as its state held them at `asOf`; without a lot: 400. */
    lotReservations: async (
      parkingLotId: string | undefined,
      asOf: string,
      query: Parameters<TimeTravel["lotReservations"]>[2],
    ) => {
      if (parkingLotId === undefined)
        throw invalidField(
          "query.asOf",
          "needs `parkingLotId` (one lot's past at a time)",
          "asOf needs parkingLotId: one lot's past is read at a time.",
        );
      return found(parkingLotId, await timeTravel.lotReservations(parkingLotId, cutOf(asOf), query));
    },
    /** The instant a view asked `asOf` is computed as of, for checks made before the fold (now without it). */
    nowOf: (asOf: string | undefined): number => {
      const now = options.clock().getTime();
      const cut = asOf === undefined ? undefined : cutOf(asOf);
      return cut?.kind === "instant" ? cut.ms : now;
    },
  };
}

const lotNotFound = (parkingLotId: string) =>
  new ProblemError("parking-lot-not-found", `Parking lot ${parkingLotId} did not exist then.`, {
    parkingLotId,
  });
