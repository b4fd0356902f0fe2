import { createHash } from "node:crypto";
import { WrongExpectedRevisionError } from "../event-store/errors.js";
import type { EventStore } from "../event-store/port.js";
import { decodeEvent, encodeEvent } from "../schemas/event-codec.js";
import type { EventOfType } from "../schemas/events.js";
import type {
  GateEventAnswer,
  GateEventBody,
  GateReviewResolution,
  ResolveGateReviewBody,
} from "../schemas/gates.js";
import type { CommandContext, ParkingLotCommandHandler } from "./command-handler.js";
import type { Rejection } from "./parking-lot/decider.js";
import { decideGate, type GateOutcome, priceOf } from "./parking-lot/gates.js";

/**
 * Issue 49, item 4: a gate's camera read, decided by the lot (parking-lot/gates.ts), its check-in or
 * check-out run through the lot's command path, and the read's answer recorded on its own short
 * stream (`gate-{lot}/{eventId}`, never the lot's): appended only if the stream does not exist, so a
 * repeated read (the camera retried) finds it and is answered alike, appending nothing.
 */

/**
 * One stream per (lot, read). The two parts are joined by `/`, which no identifier holds (schemas/
 * common.ts): with `-`, lot `A-1`'s read `x` and lot `A`'s read `1-x` would share a stream, and a
 * gate of lot `A` would be answered with lot `A-1`'s recorded decision.
 */
export const gateStream = (parkingLotId: string, eventId: string): string =>
  `gate-${parkingLotId}/${eventId}`;

/**
 * The reservation id of a drive-up let in on a read: derived from the lot and the read's id (a
 * digest, as the two may hold 128 characters), so that two copies of one read racing each other
 * book one stay (the lot's decider finds the id taken and changes nothing).
 */
export const driveUpReservationId = (parkingLotId: string, eventId: string): string =>
  `du-${createHash("sha256").update(`${parkingLotId}/${eventId}`).digest("base64url").slice(0, 32)}`;

type Recorded = EventOfType<"GateEventRecorded">["data"];

/** How a resolve of a gate review ended: settled, refused by the lot, unknown, or settled before. */
export type ReviewOutcome =
  | { readonly resolved: GateReviewResolution }
  | { readonly rejection: Rejection }
  | { readonly unknown: true }
  | { readonly alreadyResolved: true };

export class GateEvents {
  constructor(
    private readonly events: EventStore,
    private readonly lots: ParkingLotCommandHandler,
  ) {}

  async handle(
    parkingLotId: string,
    read: GateEventBody,
    context: CommandContext & { readonly now: string },
  ): Promise<GateEventAnswer | { readonly rejection: Rejection }> {
    const stream = gateStream(parkingLotId, read.eventId);
    const before = await this.recorded(stream);
    if (before) return { ...answerOf(before), replayed: true };
    const at = new Date(Date.parse(read.at)).toISOString();
    const state = await this.lots.currentState(parkingLotId);
    // No lot: refused like any command on it, recording nothing.
    if (state.kind !== "registered") return { rejection: { code: "LotNotFound", parkingLotId } };
    // Decided at the service's clock, as every command: a camera's clock may be wrong, and a read
    // stamped in the past or the future must not check a car in outside its window or price a stay
    // that has not happened. The camera's `at` is recorded beside the decision.
    const now = context.now;
    const driveUpId = driveUpReservationId(parkingLotId, read.eventId);
    const outcome = await this.carryOut(
      decideGate({ ...read, parkingLotId, at: now, driveUpId }, state),
      { parkingLotId, plate: read.plate, gateId: read.gateId },
      now,
      context,
    );
    const data: Recorded = {
      eventId: read.eventId,
      parkingLotId,
      gateId: read.gateId,
      direction: read.direction,
      confidence: read.confidence,
      at,
      ...outcome,
      recordedAt: context.now,
    };
    try {
      await this.events.appendToStream(
        stream,
        [
          encodeEvent(
            { type: "GateEventRecorded", data },
            { correlationId: context.correlationId, causationId: context.commandId, actor: context.actor },
          ),
        ],
        { expectedRevision: "no_stream" },
      );
    } catch (error) {
      // The same read, sent twice at once: the other one recorded it first; its answer is the answer.
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      const first = await this.recorded(stream);
      if (first) return { ...answerOf(first), replayed: true };
      throw error;
    }
    return answerOf(data);
  }

  /**
   * An `open` runs the lot's own check-in, check-out or drive-up admission, decided again on the
   * lot's latest state.
   */
  private async carryOut(
    outcome: GateOutcome,
    { parkingLotId, plate, gateId }: { parkingLotId: string; plate: string; gateId: string },
    at: string,
    context: CommandContext,
  ): Promise<Pick<Recorded, "decision" | "reason" | "reservationId" | "candidates" | "price">> {
    if (outcome.decision === "deny") return { decision: "deny", reason: outcome.reason };
    if (outcome.decision === "review")
      return { decision: "review", reason: outcome.reason, candidates: [...outcome.reservationIds] };
    const { reservationId } = outcome;
    const type = outcome.reason === "CheckedOut" ? "CheckOut" : "CheckIn";
    const result = await this.lots.handle(
      outcome.reason === "DriveUp"
        ? { type: "AdmitDriveUp", parkingLotId, reservationId, carNumber: plate, gateId, now: at }
        : { type, parkingLotId, reservationId, now: at },
      context,
    );
    if (!result.ok) return { decision: "deny", reason: result.rejection.code, reservationId };
    const booked =
      result.state.kind === "registered" ? (result.state.reservations.get(reservationId)?.amount ?? 0) : 0;
    const price = type === "CheckOut" ? (priceOf(result.events, booked) ?? outcome.price) : undefined;
    return {
      decision: "open",
      reason: outcome.reason,
      reservationId,
      ...(price !== undefined ? { price } : {}),
    };
  }

  /**
   * An attendant settles a read the gate sent to review: `open` checks the booking in (entry) or
   * out (exit) through the lot's command path first (its refusal is the answer, and nothing is
   * recorded), then GateReviewResolved is appended at the revision of the recorded read, so of two
   * attendants racing one resolves it and the other is told it is resolved.
   */
  async resolve(
    parkingLotId: string,
    eventId: string,
    body: ResolveGateReviewBody & { readonly reservationId?: string },
    context: CommandContext & { readonly now: string },
  ): Promise<ReviewOutcome> {
    const stream = gateStream(parkingLotId, eventId);
    const facts = await this.facts(stream);
    const read = facts.find((f) => f.type === "GateEventRecorded");
    if (read?.type !== "GateEventRecorded" || read.data.decision !== "review") return { unknown: true };
    if (facts.some((f) => f.type === "GateReviewResolved")) return { alreadyResolved: true };
    let price: number | undefined;
    const { reservationId } = body;
    if (body.action === "open" && reservationId !== undefined) {
      const type = read.data.direction === "entry" ? "CheckIn" : "CheckOut";
      const result = await this.lots.handle({ type, parkingLotId, reservationId, now: context.now }, context);
      if (!result.ok) {
        // Another attendant's resolve checked the car out first: that is the answer, not the lot's.
        const again = await this.facts(stream);
        if (again.some((f) => f.type === "GateReviewResolved")) return { alreadyResolved: true };
        return { rejection: result.rejection };
      }
      const booked =
        result.state.kind === "registered" ? (result.state.reservations.get(reservationId)?.amount ?? 0) : 0;
      if (type === "CheckOut") price = priceOf(result.events, booked);
    }
    const data: EventOfType<"GateReviewResolved">["data"] = {
      eventId,
      parkingLotId,
      action: body.action,
      ...(body.action === "open" && reservationId !== undefined ? { reservationId } : {}),
      ...(price !== undefined ? { price } : {}),
      resolvedAt: context.now,
    };
    try {
      await this.events.appendToStream(
        stream,
        [
          encodeEvent(
            { type: "GateReviewResolved", data },
            { correlationId: context.correlationId, causationId: context.commandId, actor: context.actor },
          ),
        ],
        { expectedRevision: read.revision },
      );
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) return { alreadyResolved: true };
      throw error;
    }
    const { resolvedAt: _, parkingLotId: __, ...resolved } = data;
    return { resolved };
  }

  /** The facts of a read's stream (its recorded read, and its resolution if any), with revisions. */
  private async facts(stream: string) {
    const facts = [];
    for await (const raw of this.events.readStream(stream, { maxCount: 2 })) {
      const { event } = decodeEvent(raw);
      facts.push({ ...event, revision: raw.revision } as typeof event & { revision: number });
    }
    return facts;
  }

  private async recorded(stream: string): Promise<Recorded | undefined> {
    for await (const raw of this.events.readStream(stream, { maxCount: 1 })) {
      const { event } = decodeEvent(raw);
      if (event.type === "GateEventRecorded") return event.data;
    }
    return undefined;
  }
}

function answerOf(data: Recorded): GateEventAnswer {
  return {
    eventId: data.eventId,
    decision: data.decision,
    reason: data.reason,
    ...(data.reservationId !== undefined ? { reservationId: data.reservationId } : {}),
    ...(data.candidates !== undefined ? { candidates: data.candidates } : {}),
    ...(data.price !== undefined ? { price: data.price } : {}),
  };
}
