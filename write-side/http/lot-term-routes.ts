import type { Static, TSchema } from "@sinclair/typebox";
import type { Request } from "express";
import { formatPosition } from "../../event-store/position.js";
import { bodyOf, type OperationHandler, pathParam } from "../../platform/http/operation-routes.js";
import {
  ChangeCapacityBody,
  ChangeCouponRuleBody,
  ChangeCustomerLimitBody,
  ChangeGateConfidenceBody,
  ChangePaymentTermsBody,
  ChangePlaceBody,
  ChangeRateBody,
  type ParkingLotCommand,
} from "../../schemas/commands.js";
import { canonicalTimeZone } from "../../schemas/place.js";
import type { CommandOutcome } from "../command-handler.js";
import type { Caller } from "./access.js";

/**
 * The routes that change a lot's terms (capacity, rate, place, customer limit, coupon rule,
 * payment terms): each runs its command and answers what it set, with the position.
 */

/** A command the lot accepted, as the routes answer it. */
export type Accepted = Extract<CommandOutcome, { ok: true }>;

/** What every command route shares (command-routes.ts gives it): the handler, the clock, the id secret. */
export interface CommandRouteDeps {
  /** Runs a command (a booking that names `couponId` spends that coupon: coupon/spending.ts). */
  readonly run: (
    req: Request,
    command: ParkingLotCommand,
    caller?: Caller,
    couponId?: string,
  ) => Promise<Accepted>;
  /** Runs a command as the payment provider's webhook (a system actor); a refusal is returned, not thrown. */
  readonly runAs: (req: Request, command: ParkingLotCommand) => Promise<CommandOutcome>;
  readonly clock: () => Date;
  readonly now: () => string;
  readonly idempotencySecret: string;
}

/** The log position an accepted command's answer names ("0": nothing in the lot's log yet). */
export const positionOf = (result: Accepted) => (result.position ? formatPosition(result.position) : "0");

/** The lot and reservation a reservation's path names (validated by the route). */
export const reservationPath = (req: Request) => ({
  parkingLotId: pathParam(req, "parkingLotId"),
  reservationId: pathParam(req, "reservationId"),
});

/** The lot commands that set one of its terms: every `Change…` command. */
type TermCommand = Extract<ParkingLotCommand, { type: `Change${string}` }>;

/**
 * The route of one of a lot's terms: its command carries what `fields` reads of the body, and its
 * answer says what was set (the same fields), with the position. Each answer is the row's schema
 * (held to it by the contract check of every answer).
 */
const termRoute =
  <T extends TermCommand["type"], S extends TSchema>(
    type: T,
    schema: S,
    fields: (body: Static<S>) => Omit<Extract<TermCommand, { type: T }>, "type" | "parkingLotId" | "now">,
  ) =>
  ({ run, now }: Pick<CommandRouteDeps, "run" | "now">): OperationHandler<never> =>
  async (req, res) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const set = fields(bodyOf(req, schema));
    const result = await run(req, { type, parkingLotId, ...set, now: now() } as unknown as TermCommand);
    res.status(200).json({ parkingLotId, ...set, position: positionOf(result) } as never);
  };

export const changeCapacity = termRoute("ChangeCapacity", ChangeCapacityBody, ({ capacity }) => ({
  capacity,
}));
export const changeRate = termRoute("ChangeRate", ChangeRateBody, ({ hourlyRate }) => ({ hourlyRate }));

/** The runtime's name of a zone the body's schema accepted (its `time-zone` format checked it). */
export const zoneOf = (name: string): string => canonicalTimeZone(name) ?? name;

export const changePlace = termRoute("ChangePlace", ChangePlaceBody, (body) => ({
  location: body.location,
  ...(body.address !== undefined ? { address: body.address } : {}),
  timeZone: zoneOf(body.timeZone),
}));
export const changeCustomerLimit = termRoute(
  "ChangeCustomerLimit",
  ChangeCustomerLimitBody,
  ({ maxActivePerCustomer }) => ({ maxActivePerCustomer }),
);
export const changeGateConfidence = termRoute(
  "ChangeGateConfidence",
  ChangeGateConfidenceBody,
  ({ gateConfidenceThreshold }) => ({ gateConfidenceThreshold }),
);
export const changeCouponRule = termRoute("ChangeCouponRule", ChangeCouponRuleBody, (couponRule) => ({
  couponRule,
}));
export const changePaymentTerms = termRoute("ChangePaymentTerms", ChangePaymentTermsBody, (terms) => ({
  terms,
}));
