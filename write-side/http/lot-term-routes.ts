import type { Request } from "express";
import { formatPosition } from "../../event-store/position.js";
import { bodyOf, type HandlerOf, pathParam } from "../../platform/http/operation-routes.js";
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
import type { COMMAND_OPERATIONS, CommandOperationId } from "./operations.js";

/**
 * The routes that change a lot's terms (capacity, rate, place, customer limit, coupon rule,
 * payment terms): each runs its command and answers what it set, with the position.
 */

type Accepted = Extract<CommandOutcome, { ok: true }>;
type Route<Id extends CommandOperationId> = HandlerOf<typeof COMMAND_OPERATIONS, Id>;

/** What a term's route needs of the command API (command-routes.ts gives it). */
export interface LotTermDeps {
  readonly run: (req: Request, command: ParkingLotCommand) => Promise<Accepted>;
  readonly now: () => string;
}

const positionOf = (result: Accepted) => (result.position ? formatPosition(result.position) : "0");

export const changeCapacity =
  ({ run, now }: LotTermDeps): Route<"changeCapacity"> =>
  async (req, res) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const body = bodyOf(req, ChangeCapacityBody);
    const result = await run(req, {
      type: "ChangeCapacity",
      parkingLotId,
      capacity: body.capacity,
      now: now(),
    });
    res.status(200).json({ parkingLotId, capacity: body.capacity, position: positionOf(result) });
  };

export const changeRate =
  ({ run, now }: LotTermDeps): Route<"changeRate"> =>
  async (req, res) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const { hourlyRate } = bodyOf(req, ChangeRateBody);
    const result = await run(req, { type: "ChangeRate", parkingLotId, hourlyRate, now: now() });
    res.status(200).json({ parkingLotId, hourlyRate, position: positionOf(result) });
  };

/** The runtime's name of a zone the body's schema accepted (its `time-zone` format checked it). */
export const zoneOf = (name: string): string => canonicalTimeZone(name) ?? name;

export const changePlace =
  ({ run, now }: LotTermDeps): Route<"changePlace"> =>
  async (req, res) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const body = bodyOf(req, ChangePlaceBody);
    const place = {
      location: body.location,
      ...(body.address !== undefined ? { address: body.address } : {}),
      timeZone: zoneOf(body.timeZone),
    };
    const result = await run(req, { type: "ChangePlace", parkingLotId, ...place, now: now() });
    res.status(200).json({ parkingLotId, ...place, position: positionOf(result) });
  };

export const changeCustomerLimit =
  ({ run, now }: LotTermDeps): Route<"changeCustomerLimit"> =>
  async (req, res) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const { maxActivePerCustomer } = bodyOf(req, ChangeCustomerLimitBody);
    const result = await run(req, {
      type: "ChangeCustomerLimit",
      parkingLotId,
      maxActivePerCustomer,
      now: now(),
    });
    res.status(200).json({ parkingLotId, maxActivePerCustomer, position: positionOf(result) });
  };

export const changeGateConfidence =
  ({ run, now }: LotTermDeps): Route<"changeGateConfidence"> =>
  async (req, res) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const { gateConfidenceThreshold } = bodyOf(req, ChangeGateConfidenceBody);
    const result = await run(req, {
      type: "ChangeGateConfidence",
      parkingLotId,
      gateConfidenceThreshold,
      now: now(),
    });
    res.status(200).json({ parkingLotId, gateConfidenceThreshold, position: positionOf(result) });
  };

export const changeCouponRule =
  ({ run, now }: LotTermDeps): Route<"changeCouponRule"> =>
  async (req, res) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const couponRule = bodyOf(req, ChangeCouponRuleBody);
    const result = await run(req, { type: "ChangeCouponRule", parkingLotId, couponRule, now: now() });
    res.status(200).json({ parkingLotId, couponRule, position: positionOf(result) });
  };

export const changePaymentTerms =
  ({ run, now }: LotTermDeps): Route<"changePaymentTerms"> =>
  async (req, res) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const terms = bodyOf(req, ChangePaymentTermsBody);
    const result = await run(req, { type: "ChangePaymentTerms", parkingLotId, terms, now: now() });
    res.status(200).json({ parkingLotId, terms, position: positionOf(result) });
  };
