import { v7 as uuidv7 } from "uuid";
import type { EventStore, EventToAppend, ExpectedRevision } from "../../event-store/port.js";
import { couponStream } from "../../projections/coupon-policy/coupon-policy.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
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

export class EventLogSeeder {
  /** Last revision of each lot stream this seeder wrote to. */
  private readonly revisions = new Map<string, number>();
  private reservations = 0;
  private written = 0;

  constructor(private readonly store: EventStore) {}

  get eventsWritten(): number {
    return this.written;
  }

  get reservationsWritten(): number {
    return this.reservations;
  }

  async registerLots(ids: readonly string[], capacity: number): Promise<void> {
    const now = new Date().toISOString();
    await this.appendPhases([
      ids.map((id) => ({ stream: parkingLotStream(id), event: lotRegistered(id, capacity, now) })),
    ]);
  }

  /**
   * One round of traffic: `count` reservations spread over `lots` (round robin from the running
   * reservation counter), their coupons, then every `cancelEvery`-th of them canceled and its
   * coupon revoked. Stops after `budget` events (the tail is cut in log order, so every revoke
   * still follows its issue). Returns how many events it wrote.
   */
  async round(options: {
    readonly lots: readonly string[];
    readonly count: number;
    readonly cancelEvery: number;
    readonly budget: number;
  }): Promise<number> {
    const now = new Date().toISOString();
    const reserved: Item[] = [];
    const issued: Item[] = [];
    const canceled: Item[] = [];
    const revoked: Item[] = [];
    for (let k = 0; k < options.count; k++) {
      const i = this.reservations + k;
      const lot = options.lots[i % options.lots.length] as string;
      const id = uuidv7();
      reserved.push({ stream: parkingLotStream(lot), event: parkingReserved(id, lot, i, now) });
      issued.push({ stream: couponStream(id), event: couponIssued(id, lot, i, now) });
      if (options.cancelEvery > 0 && i % options.cancelEvery === options.cancelEvery - 1) {
        canceled.push({ stream: parkingLotStream(lot), event: reservationCanceled(id, lot, i, now) });
        revoked.push({ stream: couponStream(id), event: couponRevoked(id, lot, i, now) });
      }
    }
    let budget = options.budget;
    const phases = [reserved, issued, canceled, revoked].map((phase) => {
      const kept = phase.slice(0, Math.max(0, budget));
      budget -= kept.length;
      return kept;
    });
    this.reservations += phases[0]?.length ?? 0;
    return this.appendPhases(phases);
  }

  /**
   * Appends phase after phase; within a phase, the events of one stream go in one append (in
   * order), and every append of the phase is requested at once (one group commit per ≤1000).
   */
  private async appendPhases(phases: readonly (readonly Item[])[]): Promise<number> {
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
        pending.push(
          this.store.appendToStream(stream, events, { expectedRevision: this.expected(stream, events) }),
        );
        total += events.length;
      }
    }
    await Promise.all(pending);
    this.written += total;
    return total;
  }

  private expected(stream: string, events: readonly EventToAppend[]): ExpectedRevision {
    if (stream.startsWith("coupon-")) return events[0]?.type === "CouponRevoked" ? 0 : "no_stream";
    const current = this.revisions.get(stream);
    this.revisions.set(stream, (current ?? -1) + events.length);
    return current ?? "no_stream";
  }
}

/**
 * A whole log of `total` events: `lotCount` lots registered, then rounds of reservations (with
 * coupons, 1 in `cancelEvery` canceled and revoked) until exactly `total` events are stored.
 */
export async function seedEventLog(
  store: EventStore,
  options: {
    readonly lots: readonly string[];
    readonly total: number;
    readonly capacity: number;
    readonly cancelEvery: number;
    readonly onProgress?: (written: number) => void;
  },
): Promise<{ readonly events: number; readonly reservations: number }> {
  const seeder = new EventLogSeeder(store);
  await seeder.registerLots(options.lots, options.capacity);
  while (seeder.eventsWritten < options.total) {
    await seeder.round({
      lots: options.lots,
      count: 1000,
      cancelEvery: options.cancelEvery,
      budget: options.total - seeder.eventsWritten,
    });
    options.onProgress?.(seeder.eventsWritten);
  }
  return { events: seeder.eventsWritten, reservations: seeder.reservationsWritten };
}
