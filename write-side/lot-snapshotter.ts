import { setImmediate as yieldToLoop } from "node:timers/promises";
import { type DocumentStore, DocumentStoreUnavailableError } from "../document-store/port.js";
import { EventStoreUnavailableError } from "../event-store/errors.js";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import type { Metrics } from "../platform/metrics.js";
import type { EventType } from "../schemas/events.js";
import { DocumentLotSnapshotStore } from "./document-snapshot-store.js";
import { LotLoader } from "./lot-loader.js";
import { PARKING_LOT_EVENT_TYPES } from "./parking-lot/decide.js";
import { forgetEnded } from "./parking-lot/ended.js";
import { lotOrdinal, lotPeriodOfStream, ordinalAt } from "./parking-lot/periods.js";
import { encodeSnapshot, SNAPSHOT_VERSION } from "./parking-lot/snapshot.js";

export const LOT_SNAPSHOTTER = "lot-snapshotter";

/** Lots whose last snapshot revision a snapshotter keeps in memory (the rest it reads again). */
const REMEMBERED_LOTS = 100_000;

/**
 * What the snapshotter needs of the processor runtime that runs it (a subset of its reactor
 * context): the write side owns its state source and knows nothing of the runtime's types; the
 * composition root registers the snapshotter as a reactor, which it is structurally.
 */
export interface SnapshotterContext {
  readonly eventStore: EventStore;
  readonly documentStore: DocumentStore;
  readonly logger: Logger;
  readonly metrics?: Pick<Metrics, "lotSnapshots">;
}

/** The lot snapshotter as the processor runtime sees a reactor. */
export interface LotSnapshotter {
  readonly name: string;
  readonly eventTypes: ReadonlySet<EventType>;
  react(events: readonly SnapshotterEvent[], context: SnapshotterContext): Promise<void>;
}

/** What the snapshotter reads of an event: where it is, and an erasure's lots and reservations. */
export interface SnapshotterEvent {
  readonly streamId: string;
  readonly revision: number;
  readonly event?: { readonly type: string; readonly data: unknown };
}

/** The lots' events, and the erasures (whose snapshots and archive records it forgets). */
const SNAPSHOTTER_TYPES: ReadonlySet<EventType> = new Set<EventType>([
  ...(PARKING_LOT_EVENT_TYPES as ReadonlySet<EventType>),
  "CustomerErased",
]);

type Erasure = { readonly parkingLotIds: readonly string[]; readonly reservationIds: readonly string[] };

const erasureOf = (e: SnapshotterEvent): Erasure | undefined =>
  e.event?.type === "CustomerErased" ? (e.event.data as Erasure) : undefined;

export interface LotSnapshotterOptions {
  /** Snapshot a lot once its stream has grown by this many events since its last snapshot; 0: never. */
  readonly every: number;
}

/**
 * The lot snapshotter: a reactor on the processor runtime, off the command path; the write side's
 * own writer of its state source (snapshots and the archive of ended reservations). It follows the
 * parking-lot events; when a lot's stream has grown by at least `every` events since the lot's
 * last snapshot, it loads the lot the way the command handler does (its snapshot and the events
 * after it, up to the stream's end) and stores a new snapshot of it (DocumentLotSnapshotStore),
 * without the reservations that have ended: those it archives first (decider.ts, `forgetEnded`),
 * so a lot's snapshot, and the state of a handler that loads it, stay the size of what can still
 * hold a spot however long the lot's history.
 *
 * What it has done lives in the snapshot store, not in memory: after a restart or a lease takeover
 * it carries on from its checkpoint, and reads the revision of a lot's last snapshot from the
 * store the first time it meets the lot again (only for lots with at least `every` events: a
 * shorter stream cannot be due). A snapshot lost to a crash is made at the lot's next event. Saving
 * again is harmless (a snapshot of an older revision than the stored one is not stored), so handling
 * events twice is too. A lot it cannot snapshot (say an event it cannot decode, which the command
 * handler could not load either) is logged and counted and tried again `every` events later; it
 * does not stop the snapshots of other lots.
 */
export function lotSnapshotter(options: LotSnapshotterOptions): LotSnapshotter {
  const every = Math.floor(options.every);
  /** Per document store: the revision of each lot's last snapshot, as far as this process knows. */
  const remembered = new WeakMap<DocumentStore, Map<string, number>>();
  const knownIn = (documentStore: DocumentStore): Map<string, number> => {
    let known = remembered.get(documentStore);
    if (!known) {
      known = new Map();
      remembered.set(documentStore, known);
    }
    return known;
  };
  return {
    name: LOT_SNAPSHOTTER,
    eventTypes: SNAPSHOTTER_TYPES,
    async react(events, context) {
      const erasures = events.flatMap((e) => erasureOf(e) ?? []);
      await snapshotDue(events, context);
      if (erasures.length > 0) await forgetErased(erasures, context);
    },
  };

  async function snapshotDue(
    events: readonly SnapshotterEvent[],
    context: SnapshotterContext,
  ): Promise<void> {
    // The newest revision of each lot's stream in this batch.
    const heads = new Map<string, number>();
    for (const event of events) {
      // Issue 48: a lot's snapshot is of its current period, its revision counted lot-wide
      // (lotOrdinal): a period 0 snapshot's is its stream revision, as before periods.
      const lot = lotPeriodOfStream(event.streamId)?.parkingLotId;
      const at = lotOrdinal(event);
      if (lot !== undefined && at > (heads.get(lot) ?? -1)) heads.set(lot, at);
    }
    if (every <= 0 || heads.size === 0) return;
    const last = knownIn(context.documentStore);
    const remember = (lot: string, revision: number) => {
      last.delete(lot);
      last.set(lot, revision);
      if (last.size > REMEMBERED_LOTS) last.delete(last.keys().next().value as string);
    };
    const store = new DocumentLotSnapshotStore(context.documentStore);
    const unknown = [...heads]
      .filter(
        ([lot, head]) =>
          (ordinalAt(head).period > 0 || ordinalAt(head).revision + 1 >= every) && !last.has(lot),
      )
      .map(([lot]) => lot);
    if (unknown.length > 0) {
      const stored = await store.revisions(unknown);
      for (const lot of unknown) remember(lot, stored.get(lot) ?? -1);
    }
    for (const [lot, head] of heads) {
      if (grownSince(last.get(lot) ?? -1, head) < every) continue;
      remember(lot, await snapshot(lot, head, store, context));
    }
  }

  /**
   * An erasure forgets the customer's lots' snapshots and archive records here too, after this
   * reactor's own saves and in the log's order: a snapshot it had in flight while the customer was
   * erased (loaded with their key, its parts written after the erasure's own forget, which
   * `DocumentLotSnapshotStore.forget` could not see) is not left behind. The lot is snapshotted
   * again at its next due event.
   */
  async function forgetErased(erasures: readonly Erasure[], context: SnapshotterContext): Promise<void> {
    const store = new DocumentLotSnapshotStore(context.documentStore);
    const last = knownIn(context.documentStore);
    for (const { parkingLotIds, reservationIds } of erasures) {
      await store.forget(parkingLotIds, reservationIds);
      for (const lot of parkingLotIds) last.delete(lot);
    }
    await context.documentStore.compact?.();
  }
}

/**
 * How many events the lot's current period holds past its last snapshot (lot-wide ordinals); a
 * period past the first without a snapshot of its own is due at once. Its opening holds the state,
 * but a load from it validates the whole event and opens every personal value sealed in it (about
 * 0.5 s for a lot of 20,000 active bookings, BENCHMARKS.md): the first command after a restart
 * waits that long until the period's first snapshot, `every` events later. Snapshotted at its
 * opening, a restart loads the snapshot instead.
 */
function grownSince(snapshot: number, head: number): number {
  const at = ordinalAt(head);
  if (snapshot >= 0 && ordinalAt(snapshot).period === at.period) return head - snapshot;
  return at.period > 0 ? Number.POSITIVE_INFINITY : at.revision + 1;
}

/** Snapshots one lot; the lot-wide ordinal (lotOrdinal) to count its growth from next time. */
async function snapshot(
  parkingLotId: string,
  head: number,
  store: DocumentLotSnapshotStore,
  context: SnapshotterContext,
): Promise<number> {
  try {
    const loaded = await new LotLoader(context.eventStore, {
      snapshots: store,
      logger: context.logger,
    }).load(parkingLotId);
    const at = lotOrdinal({ streamId: loaded.stream, revision: loaded.revision });
    if (loaded.state.kind !== "registered" || loaded.eventId === null || loaded.closed)
      return Math.max(head, at);
    // Encoding and storing a large lot take a while: let other work of this thread go first.
    await yieldToLoop();
    // The ended reservations go to the archive first, then the snapshot that leaves them out: a
    // state loaded from any stored snapshot finds in the archive every reservation it lacks.
    const { state, ended } = forgetEnded(loaded.state);
    if (ended.length > 0) {
      await store.archive(parkingLotId, ended);
      await yieldToLoop();
    }
    const parts = encodeSnapshot(state);
    await yieldToLoop();
    const saved = await store.save({
      parkingLotId,
      revision: at,
      eventId: loaded.eventId,
      version: SNAPSHOT_VERSION,
      parts,
    });
    context.metrics?.lotSnapshots.inc({ outcome: saved ? "written" : "superseded" });
    context.logger.debug(
      {
        parkingLotId,
        revision: loaded.revision,
        parts: parts.length,
        archived: ended.length,
        from: loaded.snapshot,
        saved,
      },
      "lot snapshot",
    );
    return at;
  } catch (error) {
    if (error instanceof EventStoreUnavailableError || error instanceof DocumentStoreUnavailableError)
      throw error; // the runtime resubscribes from the checkpoint once the store is back
    context.metrics?.lotSnapshots.inc({ outcome: "failed" });
    context.logger.warn(
      { err: error, parkingLotId },
      "lot snapshot failed: the lot is loaded without it; tried again after more events",
    );
    return head;
  }
}
