import type { RequestHandler, Response } from "express";
import { v7 as uuidv7 } from "uuid";
import { formatPosition } from "../../event-store/position.js";
import { instantField } from "../../platform/http/instant-field.js";
import { type HandlersOf, operationRouter } from "../../platform/http/operation-routes.js";
import { invalidField, ProblemError } from "../../platform/http/problem.js";
import type { Metrics } from "../../platform/metrics.js";
import { systemActor } from "../../schemas/actor.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { DEFAULT_TIME_ZONE } from "../../schemas/place.js";
import type { ParkingLotCommandHandler } from "../command-handler.js";
import type { CouponSpending } from "../coupon/spending.js";
import type { CustomerErasure } from "../customer-erasure.js";
import { causationOf } from "../decider-runner.js";
import type { GateEvents } from "../gate-events.js";
import { DEFAULT_MAX_ACTIVE_PER_CUSTOMER } from "../parking-lot/decider.js";
import { cancelSettlementOf } from "../payment/lot-booking.js";
import { closureIdFor, keyedReservationIds } from "../reservation-ids.js";
import {
  assertMayErase,
  assertMayRegister,
  callerOf,
  cancelScope,
  commandContext,
  customerFor,
} from "./access.js";
import {
  type Accepted,
  type CommandRouteDeps,
  positionOf,
  type Route,
  termRoutes,
  type Unstamped,
  zoneOf,
} from "./lot-term-routes.js";
import { COMMAND_OPERATIONS } from "./operations.js";
import { type PaymentWebhookSettings, refundPayment, stripeWebhook } from "./payment-routes.js";
import { rejectionProblem, requestOffset } from "./rejection-problems.js";

/** A body's RFC 3339 instant as the UTC text events store, or the 400 naming `body.{field}`. */
const utc = (instant: string, field: string): string => instantField(instant, `body.${field}`).iso;

/** Who a payment provider's webhook acts as (signed by the provider, not a bearer token). */
const WEBHOOK_ACTOR = systemActor("payments-webhook");

/** The command API: register lots, reserve and cancel. Each answer carries the log position of its effect. */
export interface CommandRoutesOptions extends PaymentWebhookSettings {
  /** HMAC key of reservation ids derived from an Idempotency-Key. */
  readonly idempotencySecret: string;
  readonly clock?: () => Date;
  readonly erasure?: CustomerErasure;
  /** Bookings that spend a coupon (`couponId`); without it (no coupons' read model) they answer 503. */
  readonly coupons?: CouponSpending;
  /** Gate events (a process without the event store answers them 503). */
  readonly gates?: GateEvents;
}

/** The command API's routes, one handler per row of its table (operations.ts). */
export function commandRoutes(
  handler: ParkingLotCommandHandler,
  options: CommandRoutesOptions,
): RequestHandler {
  const clock = options.clock ?? (() => new Date());
  const now = () => clock().toISOString();
  const stamped = (command: Unstamped) => ({ ...command, now: now() }) as ParkingLotCommand;
  const context: CommandRouteDeps = {
    run: runner(handler, stamped, options.metrics, options.coupons),
    runAs: (req, command) => handler.handle(command, commandContext(req, WEBHOOK_ACTOR)),
    clock,
    now,
    idempotencySecret: options.idempotencySecret,
  };
  const routes: HandlersOf<typeof COMMAND_OPERATIONS> = {
    registerParkingLot: registerParkingLot(context),
    reserveParking: reserveParking(context),
    cancelReservation: cancelReservation(context),
    checkIn: reservationStep(context, "check-in"),
    checkOut: reservationStep(context, "check-out"),
    closeParkingLot: closeParkingLot(context),
    ...termRoutes(context),
    eraseCustomer: eraseCustomer(context, options.erasure),
    recordGateEvent: recordGateEvent(context, options.gates),
    resolveGateReview: resolveGateReview(context.now, options.gates),
    refundPayment: refundPayment(context),
    stripeWebhook: stripeWebhook(context, options),
  };
  // The caller's role picks the body schema of reserve and cancel (an operator's differs).
  return operationRouter(COMMAND_OPERATIONS, routes, { roleOf: (req) => callerOf(req).actor.role });
}

/** Runs a command for a request: its metrics, its metadata, and a refusal answered as its problem. */
function runner(
  handler: ParkingLotCommandHandler,
  stamped: (command: Unstamped) => ParkingLotCommand,
  metrics: Metrics | undefined,
  coupons: CouponSpending | undefined,
): CommandRouteDeps["run"] {
  return async (req, unstamped, couponId = undefined) => {
    const command = stamped(unstamped);
    const stop = metrics?.commandDuration.startTimer({ command: command.type });
    let outcome = "error";
    try {
      const context = commandContext(req);
      if (couponId !== undefined && !coupons)
        throw new ProblemError(
          "service-unavailable",
          "This process cannot spend coupons (it has no coupons' read model); send the booking to the service's public address.",
        );
      const result =
        couponId !== undefined && coupons && command.type === "ReserveParking"
          ? await coupons.reserve(command, couponId, context)
          : await handler.handle(command, context);
      outcome = result.ok ? (result.events.length ? "accepted" : "duplicate") : result.rejection.code;
      if (!result.ok) throw rejectionProblem(result.rejection, requestOffset(req.body));
      return result;
    } finally {
      metrics?.commands.inc({ command: command.type, outcome });
      stop?.({ outcome });
    }
  };
}

/**
 * A creation's answer: 201 at `location`; a request that appended nothing (a retry, the same
 * registration again) 200, said by `Idempotent-Replayed` when the request was `replayed` by its key.
 */
function created<A>(res: Response<A>, result: Accepted, location: string, replayed?: "replayed") {
  const again = result.events.length === 0;
  if (again && replayed) res.setHeader("Idempotent-Replayed", "true");
  return res.status(again ? 200 : 201).location(location);
}

const registerParkingLot =
  ({ run }: CommandRouteDeps): Route<"registerParkingLot"> =>
  async (req, res, _next, { body }) => {
    assertMayRegister(callerOf(req), body.parkingLotId);
    const parkingLotId = body.parkingLotId ?? uuidv7();
    // The body's fields are the command's (its schema admits no other); the zone as the runtime names it.
    const timeZone = body.timeZone === undefined ? {} : { timeZone: zoneOf(body.timeZone) };
    const { couponRule, ...lot } = { parkingLotId, ...body, ...timeZone };
    const result = await run(req, { type: "RegisterParkingLot", ...lot, ...(couponRule && { couponRule }) });
    created(res, result, `/parking-lots/${encodeURIComponent(parkingLotId)}`).json({
      ...lot,
      maxActivePerCustomer: lot.maxActivePerCustomer ?? DEFAULT_MAX_ACTIVE_PER_CUSTOMER,
      timeZone: lot.timeZone ?? DEFAULT_TIME_ZONE,
      position: positionOf(result),
    });
  };

const reserveParking =
  ({ run, clock, idempotencySecret }: CommandRouteDeps): Route<"reserveParking"> =>
  async (req, res, _next, { path: { parkingLotId }, body }) => {
    const key = req.get("idempotency-key");
    const customerId = customerFor(callerOf(req), body.customerId);
    const ids = key
      ? keyedReservationIds(idempotencySecret, parkingLotId, customerId, key, clock())
      : undefined;
    const requested = ids?.reservationId ?? uuidv7();
    const carNumber = body.carNumber;
    const result = await run(
      req,
      {
        type: "ReserveParking",
        reservationId: requested,
        ...(ids ? { sameRequestAs: [...ids.sameRequestAs] } : {}),
        parkingLotId,
        customerId,
        carNumber,
        ...(body.amount !== undefined ? { amount: body.amount } : {}),
        ...(body.startsAt !== undefined ? { startsAt: utc(body.startsAt, "startsAt") } : {}),
        ...(body.endsAt !== undefined ? { endsAt: utc(body.endsAt, "endsAt") } : {}),
        ...(body.paymentMethod !== undefined ? { paymentMethod: body.paymentMethod } : {}),
      },
      body.couponId,
    );
    const view = result.view.reservation;
    // A retry answers the id its booking was made under (this generation's, or an earlier one).
    const reservationId = view?.reservationId ?? requested;
    created(res, result, `/reservations/${encodeURIComponent(reservationId)}`, "replayed").json({
      reservationId,
      parkingLotId,
      customerId,
      carNumber,
      // The lot knows what it booked (a replay: as first booked); a body's amount, else 0 (priced
      // at check-out), is the fallback.
      amount: view?.amount ?? body.amount ?? 0,
      ...(view?.startsAt ? { startsAt: view.startsAt, endsAt: view.endsAt } : {}),
      ...(view?.mustLeaveBy ? { mustLeaveBy: view.mustLeaveBy } : {}),
      ...(view?.hourlyRate ? { hourlyRate: view.hourlyRate } : {}),
      status: view?.status ?? "RESERVED",
      position: positionOf(result),
    });
  };

const cancelReservation =
  ({ run }: CommandRouteDeps): Route<"cancelReservation"> =>
  async (req, res, _next, { path: { parkingLotId, reservationId }, body }) => {
    const caller = callerOf(req);
    const scope = cancelScope(caller, body.reason);
    const result = await run(req, { type: "CancelReservation", reservationId, parkingLotId, ...scope });
    // What the cancel settles of the booking's money, by the lot's terms (the payment's stream
    // records the same after): none when nothing was authorized, or on a repeated cancel.
    const settled = cancelSettlementOf(result.state, result.events, reservationId, caller.actor.role);
    res.status(200).json({
      reservationId,
      parkingLotId,
      status: "CANCELED",
      ...(settled && {
        settlement: {
          currency: settled.currency,
          fee: settled.capture,
          released: settled.release,
          refunded: 0,
        },
      }),
      position: positionOf(result),
    });
  };

const reservationStep =
  ({ run }: CommandRouteDeps, step: "check-in" | "check-out"): Route<"checkIn" | "checkOut"> =>
  async (req, res, _next, { path: { parkingLotId, reservationId } }) => {
    const { actor } = callerOf(req);
    const result = await run(req, {
      type: step === "check-in" ? "CheckIn" : "CheckOut",
      reservationId,
      parkingLotId,
      // A customer checks in and out only their own reservation (someone else's is a 404).
      ...(actor.role === "customer" ? { requestedBy: actor.sub } : {}),
    });
    const view = result.view.reservation;
    // An accepted step names a reservation the lot knows (else the decider refused it).
    if (view?.status === undefined) throw new Error(`The lot does not know reservation ${reservationId}.`);
    // What the check-out charged (an open-ended stay's price, an overstay), as the event that
    // recorded it says (kept with the reservation): a retried check-out answers the same.
    const checkedOut = step === "check-out" && view.status === "COMPLETED";
    res.status(200).json({
      reservationId,
      parkingLotId,
      status: view.status,
      ...(checkedOut && view.pricedAtCheckOut !== undefined ? { amount: view.pricedAtCheckOut } : {}),
      ...(checkedOut && view.overstayCharge !== undefined ? { overstayCharge: view.overstayCharge } : {}),
      position: positionOf(result),
    });
  };

const closeParkingLot =
  ({ run, idempotencySecret }: CommandRouteDeps): Route<"closeParkingLot"> =>
  async (req, res, _next, { path: { parkingLotId }, body }) => {
    const closure = {
      closureId: closureIdFor(idempotencySecret, parkingLotId, req.get("idempotency-key")),
      parkingLotId,
      from: utc(body.from, "from"),
      until: utc(body.until, "until"),
      reason: body.reason,
    };
    const result = await run(req, { type: "CloseParkingLot", ...closure });
    const canceled = result.events.flatMap((event) =>
      event.type === "ReservationCanceled" ? [event.data.reservationId] : [],
    );
    // A closure is not a resource of its own: it is read in its lot's `closures` (GET the
    // lot with minPosition = position to see it at once). A retry canceled no reservation (the
    // first answer listed those).
    created(res, result, `/parking-lots/${encodeURIComponent(parkingLotId)}`, "replayed").json({
      ...closure,
      canceledReservations: canceled,
      position: positionOf(result),
    });
  };

const eraseCustomer =
  ({ now }: CommandRouteDeps, erasure: CustomerErasure | undefined): Route<"eraseCustomer"> =>
  async (req, res, _next, { path: { customerId }, body: { reason } }) => {
    const caller = callerOf(req);
    assertMayErase(caller, customerId);
    if (!erasure) throw new ProblemError("store-unavailable", "This process cannot erase customers.");
    const outcome = await erasure.erase(customerId, {
      ...(reason === undefined ? {} : { reason }),
      now: now(),
      causation: causationOf(commandContext(req, caller.actor)),
    });
    res.status(200).json({
      customerId,
      subject: outcome.subject,
      erasedReservations: outcome.reservationIds.length,
      erasedAt: outcome.erasedAt,
      position: formatPosition(outcome.position),
      ...(outcome.unlisted ? { listedLater: true } : {}),
    });
  };

const recordGateEvent =
  ({ now }: CommandRouteDeps, gates: GateEvents | undefined): Route<"recordGateEvent"> =>
  async (req, res, _next, { path: { parkingLotId }, body }) => {
    utc(body.at, "at");
    if (!gates) throw new ProblemError("store-unavailable", "This process cannot record gate events.");
    const answer = await gates.handle(parkingLotId, body, { ...commandContext(req), now: now() });
    if ("rejection" in answer) throw rejectionProblem(answer.rejection, requestOffset(req.body));
    res.status(200).json(answer);
  };

/**
 * An attendant settles a gate read sent to review (gate-events.ts): the lot's refusal of the step
 * is its problem, a review settled before 409. A drive-up's plate goes to the lot's command only.
 */
const resolveGateReview =
  (now: () => string, gates: GateEvents | undefined): Route<"resolveGateReview"> =>
  async (req, res, _next, { path: { parkingLotId, eventId }, body }) => {
    if (body.action === "open" && body.reservationId === undefined)
      throw invalidField(
        "body.reservationId",
        "is required with action open",
        "reservationId is required to open: the booking the car is.",
      );
    if (body.action === "drive-up" && body.plate === undefined)
      throw invalidField(
        "body.plate",
        "is required with action drive-up",
        "plate is required to admit a drive-up: the plate you read on the camera image.",
      );
    if (!gates) throw new ProblemError("store-unavailable", "This process cannot resolve gate reviews.");
    const outcome = await gates.resolve(parkingLotId, eventId, body, { ...commandContext(req), now: now() });
    const review = { parkingLotId, eventId };
    if ("unknown" in outcome)
      throw new ProblemError(
        "gate-review-not-found",
        `Lot ${parkingLotId} has no gate review ${eventId}.`,
        review,
      );
    if ("alreadyResolved" in outcome)
      throw new ProblemError("gate-review-resolved", `Gate review ${eventId} is already resolved.`, review);
    if ("driveUpOnExit" in outcome)
      throw invalidField(
        "body.action",
        "drive-up resolves an entry's review only",
        `Gate review ${eventId} is of an exit: a drive-up is only let in. Open the car's stay, or deny.`,
      );
    if ("rejection" in outcome && outcome.rejection.code === "AmountRequired")
      throw invalidField(
        "body.action",
        "drive-up needs the lot's hourly rate",
        `Parking lot ${parkingLotId} has no hourly rate to price a drive-up stay: open a booking, or deny.`,
      );
    if ("rejection" in outcome) throw rejectionProblem(outcome.rejection, requestOffset(req.body));
    res.status(200).json(outcome.resolved);
  };
