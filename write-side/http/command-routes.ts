import { randomUUID } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { type Request, type Response, Router } from "express";
import { v7 as uuidv7 } from "uuid";
import { formatPosition } from "../../event-store/position.js";
import { correlationId, requireJsonBody, validInput } from "../../platform/http/middleware.js";
import { ProblemError } from "../../platform/http/problem.js";
import type { Metrics } from "../../platform/metrics.js";
import {
  CancelReservationBody,
  IdempotencyKey,
  type ParkingLotCommand,
  RegisterParkingLotBody,
  ReserveParkingBody,
} from "../../schemas/commands.js";
import { ParkingLotId, ReservationId } from "../../schemas/common.js";
import type { CommandOutcome, ParkingLotCommandHandler } from "../command-handler.js";
import type { Rejection } from "../parking-lot/decider.js";
import { reservationIdFor } from "../reservation-ids.js";
import { type Caller, callerOf, cancelScope, customerFor } from "./access.js";

const LotParams = Type.Object({ parkingLotId: ParkingLotId }, { additionalProperties: false });
const IdempotencyHeader = Type.Object({ "Idempotency-Key": IdempotencyKey });
const ReservationParams = Type.Object(
  { parkingLotId: ParkingLotId, reservationId: ReservationId },
  { additionalProperties: false },
);

function rejectionProblem(rejection: Rejection): ProblemError {
  switch (rejection.code) {
    case "LotNotFound":
      return new ProblemError(
        "parking-lot-not-found",
        `Parking lot ${rejection.parkingLotId} does not exist.`,
        {
          parkingLotId: rejection.parkingLotId,
        },
      );
    case "LotAlreadyRegistered":
      return new ProblemError(
        "parking-lot-id-taken",
        `Parking lot ${rejection.parkingLotId} is already registered with other details.`,
        {
          parkingLotId: rejection.parkingLotId,
        },
      );
    case "LotFull":
      return new ProblemError(
        "parking-lot-full",
        `All ${rejection.capacity} spots of parking lot ${rejection.parkingLotId} are taken.`,
        {
          parkingLotId: rejection.parkingLotId,
          capacity: rejection.capacity,
        },
      );
    case "ReservationNotFound":
      return new ProblemError(
        "reservation-not-found",
        `Reservation ${rejection.reservationId} does not exist in parking lot ${rejection.parkingLotId}.`,
        { parkingLotId: rejection.parkingLotId, reservationId: rejection.reservationId },
      );
    case "ReservationIdConflict":
      // The other booking's id and details stay unsaid.
      return new ProblemError(
        "idempotency-key-reused",
        "This Idempotency-Key was already used for a reservation with a different car or amount; use a new key for a new booking.",
        { parkingLotId: rejection.parkingLotId },
      );
  }
}

type Accepted = Extract<CommandOutcome, { ok: true }>;

/** The command API: register lots, reserve and cancel. Each answer carries the log position of its effect. */
export interface CommandRoutesOptions {
  /** HMAC key of reservation ids derived from an Idempotency-Key. */
  readonly idempotencySecret: string;
  readonly metrics?: Metrics;
}

export function commandRoutes(handler: ParkingLotCommandHandler, options: CommandRoutesOptions): Router {
  const router = Router();
  const { metrics, idempotencySecret } = options;

  async function run(req: Request, caller: Caller, command: ParkingLotCommand): Promise<Accepted> {
    const stop = metrics?.commandDuration.startTimer({ command: command.type });
    let outcome = "error";
    try {
      const result = await handler.handle(command, {
        correlationId: correlationId(req),
        commandId: randomUUID(),
        actor: caller.actor,
      });
      outcome = result.ok ? (result.events.length ? "accepted" : "duplicate") : result.rejection.code;
      if (!result.ok) throw rejectionProblem(result.rejection);
      return result;
    } finally {
      metrics?.commands.inc({ command: command.type, outcome });
      stop?.({ outcome });
    }
  }

  const positionOf = (result: Accepted) => (result.position ? formatPosition(result.position) : "0");

  router.post("/parking-lots", requireJsonBody, async (req: Request, res: Response) => {
    const caller = callerOf(req);
    const body = validInput(RegisterParkingLotBody, req.body, "body");
    const parkingLotId = body.parkingLotId ?? uuidv7();
    const result = await run(req, caller, {
      type: "RegisterParkingLot",
      parkingLotId,
      name: body.name.normalize("NFC"),
      capacity: body.capacity,
      now: new Date().toISOString(),
    });
    res
      .status(result.events.length ? 201 : 200)
      .location(`/parking-lots/${encodeURIComponent(parkingLotId)}`)
      .json({
        parkingLotId,
        name: body.name.normalize("NFC"),
        capacity: body.capacity,
        position: positionOf(result),
      });
  });

  router.post(
    "/parking-lots/:parkingLotId/reservations",
    requireJsonBody,
    async (req: Request, res: Response) => {
      const caller = callerOf(req);
      const { parkingLotId } = validInput(LotParams, { ...req.params }, "path");
      const key = req.get("idempotency-key");
      if (key !== undefined) validInput(IdempotencyHeader, { "Idempotency-Key": key }, "header");
      const body = validInput(ReserveParkingBody, req.body, "body");
      const customerId = customerFor(caller, body.customerId);
      const reservationId = reservationIdFor(idempotencySecret, parkingLotId, customerId, key);
      const carNumber = body.carNumber.normalize("NFC");
      const result = await run(req, caller, {
        type: "ReserveParking",
        reservationId,
        parkingLotId,
        customerId,
        carNumber,
        amount: body.amount,
        now: new Date().toISOString(),
      });
      const replayed = result.events.length === 0;
      const status =
        result.state.kind === "registered"
          ? (result.state.reservations.get(reservationId)?.status ?? "RESERVED")
          : "RESERVED";
      if (replayed) res.setHeader("Idempotent-Replayed", "true");
      res
        .status(replayed ? 200 : 201)
        .location(`/reservations/${encodeURIComponent(reservationId)}`)
        .json({
          reservationId,
          parkingLotId,
          customerId,
          carNumber,
          amount: body.amount,
          status,
          position: positionOf(result),
        });
    },
  );

  router.delete(
    "/parking-lots/:parkingLotId/reservations/:reservationId",
    requireJsonBody,
    async (req: Request, res: Response) => {
      const caller = callerOf(req);
      const { parkingLotId, reservationId } = validInput(ReservationParams, { ...req.params }, "path");
      const body = validInput(CancelReservationBody, req.body ?? {}, "body");
      const result = await run(req, caller, {
        type: "CancelReservation",
        reservationId,
        parkingLotId,
        ...cancelScope(caller, body.reason),
        now: new Date().toISOString(),
      });
      res.status(200).json({ reservationId, parkingLotId, status: "CANCELED", position: positionOf(result) });
    },
  );

  return router;
}
