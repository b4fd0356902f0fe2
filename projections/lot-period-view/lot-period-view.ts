import { AppendTooLargeError, WrongExpectedRevisionError } from "../../event-store/errors.js";
import { appendBytes } from "../../event-store/port.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent, type StoredDomainEvent } from "../../schemas/event-codec.js";
import type { EventOfType, EventType } from "../../schemas/events.js";
import { openedState } from "../../write-side/parking-lot/periods.js";
import { lotPeriodViewStream, openingViewOf, periodViewOf } from "../read-models/opening-view.js";
import type { Reactor, ReactorContext } from "../runtime/processor.js";

export const LOT_PERIOD_VIEW = "lot-period-view";
/** The reactor records the views on its own account: its events record it as a system actor. */
const ACTOR = systemActor(LOT_PERIOD_VIEW);
const CAUSES: ReadonlySet<EventType> = new Set(["LotPeriodOpened"]);

/**
 * Issue 48, item 3: the read side's view of each period's opening, off the command path. For each
 * LotPeriodOpened (period k ≥ 1; period 0 has no opening, and needs no view: a fold of it starts at
 * the lot's first event) it appends one LotPeriodViewRecorded to `lotPeriodView-{lot}/{k}`
 * (opening-view.ts), expecting no stream: a repeat after a crash, a lease takeover or a second
 * replica appends nothing (and a view already there is not computed again). The view is folded
 * from period k−1's view (its side stream; recorded first: the log orders k−1's opening before
 * k's) and period k−1's events, so its work is bounded by a period; without k−1's view, from the
 * lot's first event. It names no customer nor plate (openingViewOf leaves them out).
 */
export const lotPeriodView: Reactor = {
  name: LOT_PERIOD_VIEW,
  eventTypes: CAUSES,
  async react(events, context) {
    // In log order: a lot's period k−1 is recorded before its period k is computed from it.
    for (const stored of events)
      if (stored.event.type === "LotPeriodOpened") await record(stored, stored.event.data, context);
  },
};

async function record(
  stored: StoredDomainEvent,
  opening: EventOfType<"LotPeriodOpened">["data"],
  context: ReactorContext,
): Promise<void> {
  const { parkingLotId, period, openedAt } = opening;
  if (await periodViewOf(context.eventStore, parkingLotId, period)) return;
  const started = performance.now();
  const view = await openingViewOf(
    context.eventStore,
    parkingLotId,
    period - 1,
    openedState(opening),
    Date.parse(openedAt),
  );
  if (!view) return;
  const event = {
    type: "LotPeriodViewRecorded" as const,
    data: { parkingLotId, period, recordedAt: new Date(context.now()).toISOString(), ...view },
  };
  const encoded = encodeEvent(event, {
    correlationId: stored.metadata.correlationId,
    causationId: stored.id,
    actor: ACTOR,
  });
  const max = context.eventStore.maxAppendBytes;
  try {
    // A view the store cannot take in one write (EventStoreDB's MaxAppendSize) is not recorded:
    // time travel folds that period from the lot's start, slower and the same; the reactor goes on.
    if (max !== undefined && appendBytes([encoded]) > max) throw new AppendTooLargeError(`over ${max} bytes`);
    await context.eventStore.appendToStream(lotPeriodViewStream(parkingLotId, period), [encoded], {
      expectedRevision: "no_stream",
    });
    context.logger.debug(
      {
        parkingLotId,
        period,
        reservations: view.reservations.length,
        ms: Math.round(performance.now() - started),
      },
      "period's view recorded",
    );
  } catch (error) {
    if (error instanceof AppendTooLargeError) {
      context.logger.warn(
        { parkingLotId, period, bytes: appendBytes([encoded]), maxAppendBytes: max },
        "period's view not recorded: larger than the event store's largest write (time travel folds the period from the lot's start)",
      );
      return;
    }
    // Another replica recorded it meanwhile: the same view (the same facts folded), kept once.
    if (!(error instanceof WrongExpectedRevisionError)) throw error;
  }
}
