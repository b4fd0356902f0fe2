import { v7 as uuidv7 } from "uuid";
import type { EventStore, EventToAppend, ExpectedRevision } from "../../event-store/port.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { couponStream } from "../../write-side/coupon/coupon.js";
import { parkingLotStream } from "../../write-side/parking-lot/decider.js";
import {
  causation,
  couponIssued,
  couponRevoked,
  lotRegistered,
  parkingReserved,
  reservationCanceled,
} from "./domain.js";

/**
 * Seeds the event log directly through the event store (no HTTP, no command handler): realistic,
 * schema-valid events encoded by the codec (so validated exactly as the write side does), many
 * events per append and many appends per group commit. The log looks like the service wrote it:
 * lots registered, reservations in lot streams, one coupon stream per reservation, some
 * reservations canceled and their coupons revoked.
 */

interface Item {
  readonly stream: string;
  readonly event: DomainEvent;
}

/**
 * A whole log of `total` events: the lots registered (100,000 spots each), then rounds of 1,000
 * reservations spread over them round robin, their coupons, then every tenth of them (every
 * `cancelEvery`th) canceled and its coupon revoked, until exactly `total` events are stored (a
 * round's tail is cut in log order, so every revoke still follows its issue).
 */
export async function seedEventLog(
  store: EventStore,
  options: {
    readonly lots: readonly string[];
    readonly total: number;
    readonly cancelEvery?: number;
    readonly onProgress?: (written: number) => void;
  },
): Promise<{ readonly events: number; readonly reservations: number }> {
  /** Last revision of each lot stream written to. */
  const revisions = new Map<string, number>();
  const expected = (stream: string, events: readonly EventToAppend[]): ExpectedRevision => {
    if (stream.startsWith("coupon-")) return events[0]?.type === "CouponRevoked" ? 0 : "no_stream";
    const current = revisions.get(stream);
    revisions.set(stream, (current ?? -1) + events.length);
    return current ?? "no_stream";
  };
  /** Phase after phase; within one, a stream's events in one append, every append requested at once. */
  const appendPhases = async (phases: readonly (readonly Item[])[]): Promise<number> => {
    let total = 0;
    const pending: Promise<unknown>[] = [];
    for (const phase of phases) {
      const byStream = new Map<string, EventToAppend[]>();
      for (const item of phase) {
        const list = byStream.get(item.stream) ?? [];
        if (list.length === 0) byStream.set(item.stream, list);
        list.push(encodeEvent(item.event, causation()));
      }
      for (const [stream, events] of byStream) {
        pending.push(store.appendToStream(stream, events, { expectedRevision: expected(stream, events) }));
        total += events.length;
      }
    }
    await Promise.all(pending);
    return total;
  };
  const now = new Date().toISOString();
  const { lots, cancelEvery = 10 } = options;
  let written = await appendPhases([
    lots.map((id) => ({ stream: parkingLotStream(id), event: lotRegistered(id, 100_000, now) })),
  ]);
  let reservations = 0;
  while (written < options.total) {
    const phases: Item[][] = [[], [], [], []];
    const [reserved, issued, canceled, revoked] = phases as [Item[], Item[], Item[], Item[]];
    for (let i = reservations; i < reservations + 1000; i++) {
      const lot = lots[i % lots.length] as string;
      const id = uuidv7();
      reserved.push({ stream: parkingLotStream(lot), event: parkingReserved(id, lot, i, now) });
      issued.push({ stream: couponStream(id), event: couponIssued(id, lot, i, now) });
      if (i % cancelEvery === cancelEvery - 1) {
        canceled.push({ stream: parkingLotStream(lot), event: reservationCanceled(id, lot, i, now) });
        revoked.push({ stream: couponStream(id), event: couponRevoked(id, lot, i, now) });
      }
    }
    let budget = options.total - written;
    const kept = phases.map((phase) => {
      const cut = phase.slice(0, Math.max(0, budget));
      budget -= cut.length;
      return cut;
    });
    reservations += kept[0]?.length ?? 0;
    written += await appendPhases(kept);
    options.onProgress?.(written);
  }
  return { events: written, reservations };
}
