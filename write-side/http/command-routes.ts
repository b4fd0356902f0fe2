import { randomUUID } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { type Request, type Response, Router } from "express";
import { v7 as uuidv7 } from "uuid";
import { formatPosition } from "../../event-store/position.js";
import { correlationId, requireJsonBody, validInput } from "../../platform/http/middleware.js";
import { ProblemError } from "../../platform/http/problem.js";
import { traceparentOf } from "../../platform/http/tracing.js";
import type { Metrics } from "../../platform/metrics.js";
import {
  CancelReservationBody,
  ChangeCapacityBody,
  CloseParkingLotBody,
  IdempotencyKey,
  OperatorCancelReservationBody,
  OperatorReserveParkingBody,
  type ParkingLotCommand,
  RegisterParkingLotBody,
  ReserveParkingBody,
} from "../../schemas/commands.js";
import { ParkingLotId, ReservationId } from "../../schemas/common.js";
import type { CommandOutcome, ParkingLotCommandHandler } from "../command-handler.js";
import { DEFAULT_MAX_ACTIVE_PER_CUSTOMER, type Rejection } from "../parking-lot/decider.js";
import { reservationIdFor } from "../reservation-ids.js";
import { type Caller, callerOf, cancelScope, customerFor } from "./access.js";

/** An RFC 3339 instant with any offset, as the UTC ISO string events store (validated by the schema first). */
const utc = (instant: string): string => {
  const epoch = Date.parse(instant);
  if (Number.isNaN(epoch)) throw new ProblemError("validation", `${instant} is not a valid instant.`);
  return new Date(epoch).toISOString();
};

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
      return new ProblemError(
        "idempotency-key-reused",
        "This Idempotency-Key was already used for a reservation with a different car, amount or window; use a new key for a new booking.",
        { parkingLotId: rejection.parkingLotId },
      );
    case "ReservationNotActive":
      return new ProblemError(
        "reservation-not-active",
        `Reservation ${rejection.reservationId} is ${rejection.status}; it can no longer change.`,
        {
          parkingLotId: rejection.parkingLotId,
          reservationId: rejection.reservationId,
          reservationStatus: rejection.status,
        },
      );
    case "NotCheckedIn":
      return new ProblemError(
        "not-checked-in",
        `Reservation ${rejection.reservationId} has not been checked in.`,
        {
          parkingLotId: rejection.parkingLotId,
          reservationId: rejection.reservationId,
        },
      );
    case "CheckInTooEarly":
      return new ProblemError(
        "check-in-too-early",
        `Reservation ${rejection.reservationId} starts at ${rejection.startsAt}.`,
        {
          parkingLotId: rejection.parkingLotId,
          reservationId: rejection.reservationId,
          startsAt: rejection.startsAt,
        },
      );
    case "InvalidWindow":
      return new ProblemError("validation", `${rejection.field} ${rejection.detail}.`, {
        errors: [{ field: rejection.field, message: rejection.detail }],
      });
    case "AmountRequired":
      return new ProblemError(
        "validation",
        `amount is required: parking lot ${rejection.parkingLotId} has no hourly rate to price the stay, so the booking names its price.`,
        { errors: [{ field: "amount", message: "is required for a lot without an hourly rate" }] },
      );
    case "AmountNotAccepted":
      return new ProblemError(
        "validation",
        `amount must be left out: parking lot ${rejection.parkingLotId} prices an open-ended stay itself at check-out, at ${rejection.hourlyRate} an hour from check-in (${rejection.offered} was sent).`,
        {
          errors: [
            {
              field: "amount",
              message: `must be left out: an open-ended stay is priced at check-out at ${rejection.hourlyRate} an hour`,
            },
          ],
        },
      );
    case "AmountNotPositive":
      return new ProblemError("validation", "amount must be positive.", {
        errors: [{ field: "amount", message: "must be greater than 0" }],
      });
    case "PriceChanged":
      return new ProblemError(
        "price-changed",
        `This window costs ${rejection.quote}, not the ${rejection.offered} sent; send ${rejection.quote}, or no amount to accept the quote.`,
        {
          parkingLotId: rejection.parkingLotId,
          quote: rejection.quote,
          amount: rejection.quote,
          offered: rejection.offered,
        },
      );
    case "TooManyActiveReservations":
      return new ProblemError(
        "too-many-active-reservations",
        `A customer may hold at most ${rejection.limit} active reservations in parking lot ${rejection.parkingLotId}.`,
        { parkingLotId: rejection.parkingLotId, limit: rejection.limit },
      );
    case "LotClosed":
      return new ProblemError(
        "parking-lot-closed",
        `Parking lot ${rejection.parkingLotId} is closed from ${rejection.from} until ${rejection.until}.`,
        { parkingLotId: rejection.parkingLotId, from: rejection.from, until: rejection.until },
      );
    case "CheckedIn":
      return new ProblemError(
        "reservation-checked-in",
        `Reservation ${rejection.reservationId} is ${rejection.status}: the car is in the lot, so it cannot be canceled; check out instead.`,
        {
          parkingLotId: rejection.parkingLotId,
          reservationId: rejection.reservationId,
          reservationStatus: rejection.status,
        },
      );
    case "TooManyClosures":
      return new ProblemError(
        "too-many-closures",
        `Parking lot ${rejection.parkingLotId} already has ${rejection.limit} closures that have not ended; wait for one to end.`,
        { parkingLotId: rejection.parkingLotId, limit: rejection.limit },
      );
    case "ClosureNotFound":
    case "NotDue":
      // Only the scheduler sends the commands these answer; no route can reach them.
      return new ProblemError("internal", "A time-driven command was refused.");
    case "CapacityTooLow":
      return new ProblemError(
        "capacity-too-low",
        `At ${rejection.at}, ${rejection.held} spots of parking lot ${rejection.parkingLotId} are reserved.`,
        { parkingLotId: rejection.parkingLotId, at: rejection.at, held: rejection.held },
      );
  }
}

type Accepted = Extract<CommandOutcome, { ok: true }>;

/** The command API: register lots, reserve and cancel. Each answer carries the log position of its effect. */
export interface CommandRoutesOptions {
  /** HMAC key of reservation ids derived from an Idempotency-Key. */
  readonly idempotencySecret: string;
  readonly metrics?: Metrics;
  readonly clock?: () => Date;
}

export function commandRoutes(handler: ParkingLotCommandHandler, options: CommandRoutesOptions): Router {
  const router = Router();
  const { metrics, idempotencySecret } = options;
  const clock = options.clock ?? (() => new Date());
  const now = () => clock().toISOString();

  async function run(
    req: Request,
    command: ParkingLotCommand,
    caller: Caller = callerOf(req),
  ): Promise<Accepted> {
    const stop = metrics?.commandDuration.startTimer({ command: command.type });
    let outcome = "error";
    try {
      const result = await handler.handle(command, {
        correlationId: correlationId(req),
        commandId: randomUUID(),
        actor: caller.actor,
        ...withTraceparent(req),
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
    const body = validInput(RegisterParkingLotBody, req.body, "body");
    const parkingLotId = body.parkingLotId ?? uuidv7();
    const result = await run(req, {
      type: "RegisterParkingLot",
      parkingLotId,
      name: body.name,
      capacity: body.capacity,
      ...(body.hourlyRate !== undefined ? { hourlyRate: body.hourlyRate } : {}),
      ...(body.maxActivePerCustomer !== undefined ? { maxActivePerCustomer: body.maxActivePerCustomer } : {}),
      now: now(),
    });
    res
      .status(result.events.length ? 201 : 200)
      .location(`/parking-lots/${encodeURIComponent(parkingLotId)}`)
      .json({
        parkingLotId,
        name: body.name,
        capacity: body.capacity,
        ...(body.hourlyRate !== undefined ? { hourlyRate: body.hourlyRate } : {}),
        maxActivePerCustomer: body.maxActivePerCustomer ?? DEFAULT_MAX_ACTIVE_PER_CUSTOMER,
        position: positionOf(result),
      });
  });

  router.post(
    "/parking-lots/:parkingLotId/reservations",
    requireJsonBody,
    async (req: Request, res: Response) => {
      const { parkingLotId } = validInput(LotParams, { ...req.params }, "path");
      const key = req.get("idempotency-key");
      if (key !== undefined) validInput(IdempotencyHeader, { "Idempotency-Key": key }, "header");
      const caller = callerOf(req);
      // Each role's body has its own schema (the document shows both): an operator names the customer.
      const body = validInput(
        caller.actor.role === "operator" ? OperatorReserveParkingBody : ReserveParkingBody,
        req.body,
        "body",
      );
      const customerId = customerFor(caller, body.customerId);
      const reservationId = reservationIdFor(idempotencySecret, parkingLotId, customerId, key);
      const carNumber = body.carNumber;
      const result = await run(req, {
        type: "ReserveParking",
        reservationId,
        parkingLotId,
        customerId,
        carNumber,
        ...(body.amount !== undefined ? { amount: body.amount } : {}),
        ...(body.startsAt !== undefined ? { startsAt: utc(body.startsAt) } : {}),
        ...(body.endsAt !== undefined ? { endsAt: utc(body.endsAt) } : {}),
        now: now(),
      });
      const replayed = result.events.length === 0;
      const view = result.view.reservation;
      if (replayed) res.setHeader("Idempotent-Replayed", "true");
      res
        .status(replayed ? 200 : 201)
        .location(`/reservations/${encodeURIComponent(reservationId)}`)
        .json({
          reservationId,
          parkingLotId,
          customerId,
          carNumber,
          amount: view?.amount ?? body.amount,
          ...(view?.startsAt ? { startsAt: view.startsAt, endsAt: view.endsAt } : {}),
          ...(view?.mustLeaveBy ? { mustLeaveBy: view.mustLeaveBy } : {}),
          ...(view?.hourlyRate ? { hourlyRate: view.hourlyRate } : {}),
          status: view?.status ?? "RESERVED",
          position: positionOf(result),
        });
    },
  );

  router.delete(
    "/parking-lots/:parkingLotId/reservations/:reservationId",
    requireJsonBody,
    async (req: Request, res: Response) => {
      const { parkingLotId, reservationId } = validInput(ReservationParams, { ...req.params }, "path");
      const caller = callerOf(req);
      // Each role's body has its own schema (the document shows both): an operator gives a reason.
      const body = validInput(
        caller.actor.role === "operator" ? OperatorCancelReservationBody : CancelReservationBody,
        req.body ?? {},
        "body",
      );
      const result = await run(
        req,
        {
          type: "CancelReservation",
          reservationId,
          parkingLotId,
          ...cancelScope(caller, body.reason),
          now: now(),
        },
        caller,
      );
      res.status(200).json({ reservationId, parkingLotId, status: "CANCELED", position: positionOf(result) });
    },
  );

  for (const step of ["check-in", "check-out"] as const) {
    router.post(
      `/parking-lots/:parkingLotId/reservations/:reservationId/${step}`,
      async (req: Request, res: Response) => {
        const { parkingLotId, reservationId } = validInput(ReservationParams, { ...req.params }, "path");
        const caller = callerOf(req);
        const result = await run(
          req,
          {
            type: step === "check-in" ? "CheckIn" : "CheckOut",
            reservationId,
            parkingLotId,
            // A customer checks in and out only their own reservation (someone else's is a 404).
            ...(caller.actor.role === "customer" ? { requestedBy: caller.actor.sub } : {}),
            now: now(),
          },
          caller,
        );
        const status = result.view.reservation?.status;
        // What the check-out charged (an open-ended stay's price, an overstay), when it did now.
        const charged = result.events.find((e) => e.type === "ReservationCheckedOut")?.data;
        res.status(200).json({
          reservationId,
          parkingLotId,
          status,
          ...(charged?.amount !== undefined ? { amount: charged.amount } : {}),
          ...(charged?.overstayCharge !== undefined ? { overstayCharge: charged.overstayCharge } : {}),
          position: positionOf(result),
        });
      },
    );
  }

  router.post(
    "/parking-lots/:parkingLotId/closures",
    requireJsonBody,
    async (req: Request, res: Response) => {
      const { parkingLotId } = validInput(LotParams, { ...req.params }, "path");
      const body = validInput(CloseParkingLotBody, req.body, "body");
      const closureId = uuidv7();
      const result = await run(req, {
        type: "CloseParkingLot",
        closureId,
        parkingLotId,
        from: utc(body.from),
        until: utc(body.until),
        reason: body.reason,
        now: now(),
      });
      const canceled = result.events.flatMap((event) =>
        event.type === "ReservationCanceled" ? [event.data.reservationId] : [],
      );
      // A closure is not a resource of its own: it is read in its lot's `closures` (GET the
      // lot with minPosition = position to see it at once).
      res
        .status(201)
        .location(`/parking-lots/${encodeURIComponent(parkingLotId)}`)
        .json({
          closureId,
          parkingLotId,
          from: utc(body.from),
          until: utc(body.until),
          reason: body.reason,
          canceledReservations: canceled,
          position: positionOf(result),
        });
    },
  );

  router.put("/parking-lots/:parkingLotId/capacity", requireJsonBody, async (req: Request, res: Response) => {
    const { parkingLotId } = validInput(LotParams, { ...req.params }, "path");
    const body = validInput(ChangeCapacityBody, req.body, "body");
    const result = await run(req, {
      type: "ChangeCapacity",
      parkingLotId,
      capacity: body.capacity,
      now: now(),
    });
    res.status(200).json({ parkingLotId, capacity: body.capacity, position: positionOf(result) });
  });

  return router;
}

/** The request's trace context, for the events it causes (issue 22). */
function withTraceparent(req: Request): { traceparent?: string } {
  const traceparent = traceparentOf(req);
  return traceparent ? { traceparent } : {};
}
