import type { EventStore, ReadStreamOptions } from "../event-store/port.js";
import { lotPeriodOfStream, parkingLotOfStream } from "../write-side/parking-lot/periods.js";

/**
 * A lot-wide order of the lot's events across its periods (each period's stream counts its
 * revisions from 0): period·2^32 + revision. Period 0's is its revision, as before periods.
 */
export const lotOrdinal = (stored: { readonly streamId: string; readonly revision: number }): number =>
  (lotPeriodOfStream(stored.streamId)?.period ?? 0) * 2 ** 32 + stored.revision;

/**
 * The event store, recording every lot event (its lot-wide order, lotOrdinal) its stream reads
 * return, but the one-event probes that find a lot's period (lot-streams.ts): what a load of a
 * lot's state folded, to count that none is from before its period's opening.
 */
export function countingReads(inner: EventStore): { events: EventStore; read: number[] } {
  const read: number[] = [];
  const events = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== "readStream") return typeof value === "function" ? value.bind(target) : value;
      return async function* (streamId: string, options?: ReadStreamOptions) {
        for await (const event of target.readStream(streamId, options)) {
          if (parkingLotOfStream(streamId) !== undefined && options?.maxCount !== 1)
            read.push(lotOrdinal(event));
          yield event;
        }
      };
    },
  });
  return { events, read };
}
