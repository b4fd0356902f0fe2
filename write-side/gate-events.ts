import { createHash } from "node:crypto";
import { WrongExpectedRevisionError } from "../event-store/errors.js";
import type { EventStore } from "../event-store/port.js";
import { formatPosition, type Position } from "../event-store/position.js";
import { readInstant } from "../platform/instant.js";
import type { AdmitDriveUp, CheckIn, CheckOut } from "../schemas/commands.js";
import { decodeEvent, encodeEvent } from "../schemas/event-codec.js";
import type { EventOfType } from "../schemas/events.js";
import { MAX_REVIEW_CANDIDATES } from "../schemas/gate-events.js";
import type {
  GateEventAnswer,
  GateEventBody,
  GateReviewResolution,
  ResolveGateReviewBody,
} from "../schemas/gates.js";
import type { CommandContext, ParkingLotCommandHandler } from "./command-handler.js";
import { causationOf } from "./decider-runner.js";
import { reservationStatus } from "./parking-lot/decider.js";
import { decideGate, type GateOutcome, priceOf } from "./parking-lot/gates.js";
import type { CommandRejection as Rejection } from "./payment/payment-rejections.js";

/**
 * One stream per (lot, read), joined by `/`, which no identifier holds (schemas/common.ts): with
 * `-`, lot `A-1`'s read `x` and lot `A`'s read `1-x` would share one, and answer each other.
 */
export const gateStream = (parkingLotId: string, eventId: string): string =>
  `gate-${parkingLotId}/${eventId}`;

/** A read's drive-up id, derived from it (a digest: ids hold 128 characters), so two copies of a read book one stay. */
export const driveUpReservationId = (parkingLotId: string, eventId: string): string =>
  `du-${createHash("sha256").update(`${parkingLotId}/${eventId}`).digest("base64url").slice(0, 32)}`;

type Recorded = EventOfType<"GateEventRecorded">["data"];
/** A gate's command context: every step is decided at the service's clock, `now`. */
type GateContext = CommandContext & { readonly now: string };

export type ReviewOutcome =
  | { readonly resolved: GateReviewResolution }
  | { readonly rejection: Rejection }
  | { readonly unknown: true }
  | { readonly alreadyResolved: true }
  | { readonly driveUpOnExit: true };

/**
 * A gate's camera read, decided by the lot (parking-lot/gates.ts), its step run through the lot's
 * command path, and its answer recorded on its own stream, appended only if there is none yet.
 */
export class GateEvents {
  constructor(
    private readonly events: EventStore,
    private readonly lots: ParkingLotCommandHandler,
  ) {}

  async handle(
    parkingLotId: string,
    read: GateEventBody,
    context: GateContext,
  ): Promise<GateEventAnswer | { readonly rejection: Rejection }> {
    const stream = gateStream(parkingLotId, read.eventId);
    const before = await this.replay(stream, context);
    if (before) return before;
    // When the camera read the plate, in UTC (platform/instant.ts). Checked by the route (400); here
    // before anything is appended, so that no lot step is taken for a read whose record could not be written.
    const instant = readInstant(read.at);
    if (!("iso" in instant)) throw new RangeError(`${read.at} is not an instant a gate read can record.`);
    const state = await this.lots.currentState(parkingLotId);
    // No lot: refused like any command on it, recording nothing.
    if (state.kind !== "registered") return { rejection: { code: "LotNotFound", parkingLotId } };
    // Decided at the service's clock, as every command: a camera's clock may be wrong, and a read
    // stamped in the past or the future must not check a car in outside its window or price a stay
    // that has not happened. The camera's `at` is recorded beside the decision.
    const now = context.now;
    const driveUpId = driveUpReservationId(parkingLotId, read.eventId);
    const decided = decideGate({ ...read, parkingLotId, at: now, driveUpId }, state);
    const outcome = await this.carryOut(decided, parkingLotId, read, context);
    const { eventId, gateId, direction, confidence } = read;
    const data: Recorded = {
      ...{ eventId, parkingLotId, gateId, direction, confidence, at: instant.iso },
      ...outcome,
      recordedAt: now,
    };
    const position = await this.record(stream, { type: "GateEventRecorded", data }, "no_stream", context);
    if (position) return answerOf({ ...data, position });
    // The same read, sent twice at once: the other one recorded it first; its answer is the answer.
    const first = await this.replay(stream, context);
    if (first) return first;
    throw new WrongExpectedRevisionError(stream, "no_stream", undefined);
  }

  /** The answer recorded for a read already: a repeat is answered alike, appending nothing. */
  private async replay(stream: string, context: GateContext): Promise<GateEventAnswer | undefined> {
    const [read] = await this.facts(stream, 1);
    if (read?.type !== "GateEventRecorded") return undefined;
    await this.withdrawDriveUp(read.data, context);
    return { ...answerOf({ ...read.data, position: read.position }), replayed: true };
  }

  /** Appends a fact to a read's stream: its position, or undefined if another writer's came first. */
  private async record(
    stream: string,
    event: Parameters<typeof encodeEvent>[0],
    expectedRevision: number | "no_stream",
    context: CommandContext,
  ): Promise<Position | undefined> {
    try {
      const encoded = encodeEvent(event, causationOf(context));
      return (await this.events.appendToStream(stream, [encoded], { expectedRevision })).position;
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) return undefined;
      throw error;
    }
  }

  /**
   * The same read, handled by another writer at once, was recorded first with another answer: the
   * drive-up the losing writer let in is nobody's answer, and is canceled, freeing its spot (at once,
   * or by the read's next repeat if that writer died first). A losing check-in or check-out stays.
   */
  private async withdrawDriveUp(answer: Recorded, context: GateContext) {
    const { parkingLotId, eventId } = answer;
    const driveUpId = driveUpReservationId(parkingLotId, eventId);
    if (answer.decision === "open" && answer.reservationId === driveUpId) return;
    // A read sent to review may be resolved into this very drive-up by an attendant: theirs to settle.
    if (answer.decision === "review") return;
    const lot = await this.lots.currentState(parkingLotId);
    if (lot.kind !== "registered" || !lot.reservations.has(driveUpId)) return;
    const status = reservationStatus(lot, driveUpId, Date.parse(context.now));
    if (status !== "CHECKED_IN" && status !== "OVERSTAYING") return;
    await this.lots.handle(
      {
        type: "CancelReservation",
        parkingLotId,
        reservationId: driveUpId,
        reason: "gate-read-answered-otherwise",
        now: context.now,
      },
      context,
    );
  }

  /** An `open` runs the lot's own check-in, check-out or drive-up, decided again on its latest state. */
  private async carryOut(
    outcome: GateOutcome,
    parkingLotId: string,
    { plate, gateId }: GateEventBody,
    { now, ...context }: GateContext,
  ): Promise<Pick<Recorded, "decision" | "reason" | "reservationId" | "candidates" | "price">> {
    if (outcome.decision === "deny") return { decision: "deny", reason: outcome.reason };
    if (outcome.decision === "review")
      return {
        decision: "review",
        reason: outcome.reason,
        // The attendant may name any booking of the lot: the first candidates are a hint, and a
        // plate booked more often than the record holds is still sent to review, not refused.
        candidates: outcome.reservationIds.slice(0, MAX_REVIEW_CANDIDATES),
      };
    const { reservationId, reason } = outcome;
    const result = await this.lotStep(
      reason === "DriveUp"
        ? { type: "AdmitDriveUp", parkingLotId, reservationId, carNumber: plate, gateId, now }
        : { type: reason === "CheckedOut" ? "CheckOut" : "CheckIn", parkingLotId, reservationId, now },
      context,
    );
    if ("rejection" in result) return { decision: "deny", reason: result.rejection.code, reservationId };
    const price = reason === "CheckedOut" ? (result.price ?? outcome.price) : undefined;
    return { decision: "open", reason, reservationId, ...(price !== undefined ? { price } : {}) };
  }

  /** The lot's step for a read; a check-out's with what the stay cost, as its events say. */
  private async lotStep(
    command: CheckIn | CheckOut | AdmitDriveUp,
    context: CommandContext,
  ): Promise<{ reservationId: string; price?: number } | { rejection: Rejection }> {
    const result = await this.lots.handle(command, context);
    if (!result.ok) return { rejection: result.rejection };
    const { reservationId } = command;
    const lot = result.state;
    const booked = lot.kind === "registered" ? (lot.reservations.get(reservationId)?.amount ?? 0) : 0;
    const price = command.type === "CheckOut" ? priceOf(result.events, booked) : undefined;
    return { reservationId, ...(price !== undefined ? { price } : {}) };
  }

  /**
   * An attendant settles a read sent to review: the lot's step first (its refusal is the answer,
   * nothing recorded), then GateReviewResolved at the read's revision, so of two attendants racing
   * one resolves it. A resolution is never recorded for a step that did not happen; a crash between
   * the two leaves the review listed, and resolving again finds the step taken (the drive-up's id
   * derived from the read: no second stay) and records it.
   */
  async resolve(
    parkingLotId: string,
    eventId: string,
    body: ResolveGateReviewBody,
    context: GateContext,
  ): Promise<ReviewOutcome> {
    const stream = gateStream(parkingLotId, eventId);
    const facts = await this.facts(stream);
    const read = facts.find((f) => f.type === "GateEventRecorded");
    if (read?.type !== "GateEventRecorded" || read.data.decision !== "review") return { unknown: true };
    // A drive-up is let in, never out: on an exit review the action is wrong, whatever its state.
    if (body.action === "drive-up" && read.data.direction !== "entry") return { driveUpOnExit: true };
    if (facts.some((f) => f.type === "GateReviewResolved")) return { alreadyResolved: true };
    const step = await this.carryOutReview(parkingLotId, read.data, body, context);
    if ("rejection" in step) {
      // Another attendant's resolve took the step first: that is the answer, not the lot's.
      const again = await this.facts(stream);
      if (again.some((f) => f.type === "GateReviewResolved")) return { alreadyResolved: true };
      return step;
    }
    const data: EventOfType<"GateReviewResolved">["data"] = {
      eventId,
      parkingLotId,
      action: body.action,
      ...step,
      resolvedAt: context.now,
    };
    const position = await this.record(stream, { type: "GateReviewResolved", data }, read.revision, context);
    if (!position) return { alreadyResolved: true };
    const { resolvedAt: _, parkingLotId: __, ...resolved } = data;
    return { resolved: { ...resolved, position: formatPosition(position) } };
  }

  /** A resolve's step: the booking's check-in/out (`open`), a drive-up (`drive-up`), nothing (`deny`). */
  private async carryOutReview(
    parkingLotId: string,
    read: Recorded,
    body: ResolveGateReviewBody,
    { now, ...context }: GateContext,
  ): Promise<{ reservationId?: string; price?: number } | { rejection: Rejection }> {
    if (body.action === "drive-up") {
      // The route answers 400 without one; never record a drive-up that admitted no car.
      if (body.plate === undefined) throw new Error("A drive-up resolve needs the plate.");
      const reservationId = driveUpReservationId(parkingLotId, read.eventId);
      const { gateId } = read;
      return this.lotStep(
        { type: "AdmitDriveUp", parkingLotId, reservationId, carNumber: body.plate, gateId, now },
        context,
      );
    }
    const { reservationId } = body;
    if (body.action !== "open" || reservationId === undefined) return {};
    const type = read.direction === "entry" ? "CheckIn" : "CheckOut";
    return this.lotStep({ type, parkingLotId, reservationId, now }, context);
  }

  /** The facts of a read's stream (its recorded read, and its resolution if any), with revisions. */
  private async facts(stream: string, maxCount = 2) {
    const facts = [];
    for await (const raw of this.events.readStream(stream, { maxCount })) {
      const { event } = decodeEvent(raw);
      facts.push({ ...event, revision: raw.revision, position: raw.position });
    }
    return facts;
  }
}

/** The answer to a read recorded at `position` (a repeat's too). */
function answerOf(data: Recorded & { readonly position: Position }): GateEventAnswer {
  return {
    position: formatPosition(data.position),
    eventId: data.eventId,
    decision: data.decision,
    reason: data.reason,
    ...(data.reservationId !== undefined ? { reservationId: data.reservationId } : {}),
    ...(data.candidates !== undefined ? { candidates: data.candidates } : {}),
    ...(data.price !== undefined ? { price: data.price } : {}),
  };
}
