import type { EventStore, RecordedEvent } from "../event-store/port.js";
import { parkingLotStream } from "./parking-lot/periods.js";

/**
 * Reading a lot's events across its periods (docs/domain.md, "Periods"): each period is its own
 * stream, written only once the one before it closed, so they exist from period 0 to the current one.
 */

async function lastOf(events: EventStore, stream: string): Promise<RecordedEvent | undefined> {
  for await (const event of events.readStream(stream, { direction: "backwards", maxCount: 1 })) return event;
  return undefined;
}

async function firstOf(events: EventStore, stream: string): Promise<RecordedEvent | undefined> {
  for await (const event of events.readStream(stream, { maxCount: 1 })) return event;
  return undefined;
}

/**
 * The last period from 1 on for which `holds` is true, `holds` being true up to some period and
 * false after (0 when it is false for period 1). Found by probing forward (1, 2, 4, ... until it
 * is false) then halving the gap: about 2·log2(k) probes for period k, one for a lot in period 0.
 */
async function lastPeriodWhere(holds: (period: number) => Promise<boolean>): Promise<number> {
  if (!(await holds(1))) return 0;
  let [known, beyond] = [1, 2];
  while (await holds(beyond)) [known, beyond] = [beyond, beyond * 2];
  while (beyond - known > 1) {
    const middle = Math.floor((known + beyond) / 2);
    if (await holds(middle)) known = middle;
    else beyond = middle;
  }
  return known;
}

/** The lot's current period: the last whose stream exists (one-event reads, lastPeriodWhere). */
export const currentLotPeriod = (events: EventStore, parkingLotId: string): Promise<number> =>
  lastPeriodWhere(
    async (period) => (await lastOf(events, parkingLotStream(parkingLotId, period))) !== undefined,
  );

/** The events of the lot's current period's stream (0 for a lot that has none): one read more. */
export async function currentPeriodLength(events: EventStore, parkingLotId: string): Promise<number> {
  const period = await currentLotPeriod(events, parkingLotId);
  return ((await lastOf(events, parkingLotStream(parkingLotId, period)))?.revision ?? -1) + 1;
}

/**
 * The lot's period that holds a moment: the last whose opening (the first event of its stream,
 * LotPeriodOpened) is `within` it; 0 when no opening is (a lot still in period 0).
 * No event is read but openings (lastPeriodWhere: about 2·log2(k) for period k).
 */
export const lotPeriodHolding = (
  events: EventStore,
  parkingLotId: string,
  within: (opening: RecordedEvent) => boolean,
): Promise<number> =>
  lastPeriodWhere(async (period) => {
    const opening = await firstOf(events, parkingLotStream(parkingLotId, period));
    return opening !== undefined && within(opening);
  });

/**
 * The streams of the lot's periods holding its events from log position `commit` on, oldest first
 * (a reservation's facts are in the periods between its booking and its end): one read per period since.
 */
export async function lotStreamsSince(
  events: EventStore,
  parkingLotId: string,
  commit: RecordedEvent["position"]["commit"],
): Promise<string[]> {
  const streams: string[] = [];
  for (let period = await currentLotPeriod(events, parkingLotId); period >= 0; period--) {
    const stream = parkingLotStream(parkingLotId, period);
    streams.unshift(stream);
    if (period === 0) break;
    const first = await firstOf(events, stream);
    if (first === undefined || first.position.commit <= commit) break;
  }
  return streams;
}
