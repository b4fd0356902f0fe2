import type { Request, Response } from "express";
import { formatPosition } from "../../event-store/position.js";
import type { HandlerOf, InputOf } from "../../platform/http/operation-routes.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { canonicalTimeZone } from "../../schemas/place.js";
import type { CommandOutcome } from "../command-handler.js";
import type { COMMAND_OPERATIONS, CommandOperationId } from "./operations.js";

export type Accepted = Extract<CommandOutcome, { ok: true }>;

/** A command as a route sends it: the runner stamps it with the clock's `now`. */
export type Unstamped = WithoutNow<ParkingLotCommand>;
type WithoutNow<C> = C extends unknown ? Omit<C, "now"> : never;

/** What every command route shares (command-routes.ts gives it): the handler, the clock, the id secret. */
export interface CommandRouteDeps {
  /** Runs a command as the caller (a booking that names `couponId` spends that coupon: coupon/spending.ts). */
  readonly run: (req: Request, command: Unstamped, couponId?: string) => Promise<Accepted>;
  /** Runs a command as the payment provider's webhook (a system actor); a refusal is returned, not thrown. */
  readonly runAs: (req: Request, command: ParkingLotCommand) => Promise<CommandOutcome>;
  readonly clock: () => Date;
  readonly now: () => string;
  readonly idempotencySecret: string;
}

/** The handler of one command operation, its answer and input typed by its row. */
export type Route<Id extends CommandOperationId> = HandlerOf<typeof COMMAND_OPERATIONS, Id>;

/** The log position an accepted command's answer names ("0": nothing in the lot's log yet). */
export const positionOf = (result: Accepted) => (result.position ? formatPosition(result.position) : "0");

/** The runtime's name of a zone the body's schema accepted (its `time-zone` format checked it). */
export const zoneOf = (name: string): string => canonicalTimeZone(name) ?? name;

/** The lot commands that set one of its terms: every `Change…` command, named as its operation. */
type TermId = Extract<CommandOperationId, `change${string}`>;
type TermOf<Id extends TermId> = Extract<Unstamped, { type: Capitalize<Id> }>;
type TermBody<Id extends TermId> = InputOf<
  Extract<(typeof COMMAND_OPERATIONS)[number], { operationId: Id }>
>["body"];

/**
 * The routes that change a lot's terms (`changeRate`: `ChangeRate`): each runs its command with what
 * `fields` reads of the body, and answers what was set with the position (its row's schema checks
 * every answer).
 */
export function termRoutes({ run }: Pick<CommandRouteDeps, "run">) {
  const route =
    <Id extends TermId>(id: Id, fields: (body: TermBody<Id>) => Omit<TermOf<Id>, "type" | "parkingLotId">) =>
    async (
      req: Request,
      res: Response,
      _next: unknown,
      { path: { parkingLotId }, body }: { path: { parkingLotId: string }; body: TermBody<Id> },
    ) => {
      const set = fields(body);
      const type = `${id[0]?.toUpperCase()}${id.slice(1)}`;
      const result = await run(req, { type, parkingLotId, ...set } as TermOf<Id>);
      res.status(200).json({ parkingLotId, ...set, position: positionOf(result) });
    };
  return {
    changeCapacity: route("changeCapacity", (body) => body),
    changeRate: route("changeRate", (body) => body),
    changeCustomerLimit: route("changeCustomerLimit", (body) => body),
    changeGateConfidence: route("changeGateConfidence", (body) => body),
    changePlace: route("changePlace", (body) => ({
      location: body.location,
      ...(body.address !== undefined ? { address: body.address } : {}),
      timeZone: zoneOf(body.timeZone),
    })),
    changeCouponRule: route("changeCouponRule", (couponRule) => ({ couponRule })),
    changePaymentTerms: route("changePaymentTerms", (terms) => ({ terms })),
  };
}
