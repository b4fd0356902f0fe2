import type { EventStore, RecordedEvent } from "../../event-store/port.js";

/**
 * Finding a place in one stream without reading it all: a stream is in log order and stamped by one
 * clock, so a position or an instant is one boundary in it, found by a binary search of single reads.
 */

/** The stream's last event (one single-event read), or null when the stream does not exist. */
export async function lastEvent(store: EventStore, streamId: string): Promise<RecordedEvent | null> {
  for await (const event of store.readStream(streamId, { direction: "backwards", maxCount: 1 })) {
    return event;
  }
  return null;
}

/** The event at `revision` of the stream (one single-event read). */
export async function eventAt(store: EventStore, streamId: string, revision: number): Promise<RecordedEvent> {
  for await (const event of store.readStream(streamId, { fromRevision: revision, maxCount: 1 })) {
    return event;
  }
  throw new Error(`${streamId} has no event at revision ${revision}`);
}

/**
 * The first revision in [first, last] whose event satisfies `reached` (false for a prefix of the
 * stream, then true), or last + 1 when none does.
 */
export async function firstRevisionWhere(
  store: EventStore,
  streamId: string,
  last: number,
  reached: (event: RecordedEvent) => boolean,
  first = 0,
): Promise<number> {
  let low = first;
  let high = last + 1;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (reached(await eventAt(store, streamId, mid))) high = mid;
    else low = mid + 1;
  }
  return low;
}
