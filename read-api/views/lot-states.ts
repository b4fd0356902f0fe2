import type { Document } from "../../document-store/port.js";
import type { StepTree } from "../../platform/step-tree.js";
import {
  LOT_FACTS,
  type LotFact,
  lotDoc,
  OPENED,
  type StoredOpening,
} from "../../projections/read-models/lot-facts.js";
import { type OpeningRecord, openingOf } from "../../projections/read-models/lot-opening.js";
import {
  evolve,
  fold,
  initialState,
  type ParkingLotState,
  type RegisteredLot,
} from "../../write-side/parking-lot/decider.js";
import {
  type HeldTimeline,
  heldTimeline,
  windowSteps,
  windowStepsAfter,
} from "../../write-side/parking-lot/held-timeline.js";
import type { ReadContext } from "./read-context.js";

/** Lots whose state a query process keeps (the least recently asked go first). */
const KEPT_LOTS = 1_000;

interface Entry {
  readonly collection: string;
  readonly state: RegisteredLot;
  /** The state's windows as a step tree (held-timeline.ts), carried along with each fact folded. */
  readonly windows: StepTree;
  /** The revision of the lot's stream the state is folded up to. */
  readonly revision: number;
  /** The lot-facts projection's position when the state was last brought up to date. */
  readonly checkedAt: number | null;
  timeline?: { readonly builtAt: number; readonly timeline: HeldTimeline };
}

/**
 * Each lot's decider state on the read side (the state every decision of the lot is made on, as
 * write-side/parking-lot/evolve.ts folds it), from the facts the lot-facts projection keeps, so a
 * view asks the decider's own functions instead of restating its rules. Issue 48: loaded as the
 * write side loads it, from the lot's current period: the period's opening (LotPeriodOpened,
 * rebuilt from its documents) folded with `evolve`, then the facts since, none before it (period
 * 0: from the stream's start; every period, period 0 too, holds at most LOT_PERIOD_EVENTS facts).
 * Kept per lot and brought up to date only when the projection has moved: by folding the facts
 * newer than the state (one index range), starting again at an opening that came since, so a view
 * costs what changed since, never more than a period. Works from the
 * document store alone: queries keep working while the write side or the event store is down.
 * Beside each state, its windows as a persistent step tree, updated with each fact folded (O(log n)
 * per fact, never rebuilt from the lot's bookings), and the lot's occupancy timeline
 * (held-timeline.ts) made from it once per (lot, position) and kept until the clock reaches an
 * instant that changes it, for everyone asking.
 */
export class LotStates {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<
    string,
    { readonly collection: string; readonly checkedAt: number | null; readonly entry: Promise<Entry | null> }
  >();
  private readonly seeds = new Map<string, Seed>();
  /** Every lot's seed (seedEvery), asked for a lot not kept yet. */
  private everySeed: ((parkingLotId: string) => Seed | undefined) | undefined;

  constructor(private readonly ctx: ReadContext) {}

  /** The lot's state as of the lot-facts projection's position; null for a lot it does not know. */
  async state(parkingLotId: string): Promise<RegisteredLot | null> {
    return (await this.entry(parkingLotId))?.state ?? null;
  }

  /** The lot's state and its occupancy timeline at `now`; null for a lot unknown. */
  async timeline(
    parkingLotId: string,
    now: number,
  ): Promise<{ lot: RegisteredLot; timeline: HeldTimeline } | null> {
    const entry = await this.entry(parkingLotId);
    if (!entry) return null;
    const kept = entry.timeline;
    if (kept && kept.builtAt <= now && now < kept.timeline.validUntil)
      return { lot: entry.state, timeline: kept.timeline };
    const timeline = heldTimeline(entry.state, now, entry.windows);
    entry.timeline = { builtAt: now, timeline };
    return { lot: entry.state, timeline };
  }

  /**
   * Starts the lot from its decider state and windows folded up to exactly the read models'
   * position (a time-travel fold carries them: read-api/time-travel/lot-fold.ts): the next read
   * takes it as is, reading none of the lot's facts, as the live view does from one fact to the next.
   */
  seed(
    parkingLotId: string,
    lot: Pick<Entry, "windows" | "revision"> & { readonly state: ParkingLotState },
  ): void {
    this.seeds.set(parkingLotId, lot);
  }

  /**
   * Starts each lot not kept yet from `seedOf(id)` (as `seed`; a lot it does not know did not exist):
   * every lot's state carried along a time-travel fold of the whole log (the control center as of
   * a moment), so no lot's state is derived from its facts, whichever lots a view reads.
   */
  seedEvery(seedOf: (parkingLotId: string) => Seed | undefined): void {
    this.everySeed = seedOf;
  }

  /**
   * The lot's entry as of at least the lot-facts projection's position now. A load already under
   * way is shared only if it read that position too: one that started before the projection moved
   * would answer without the facts a caller waited for (its `minPosition`), so a newer caller's
   * load runs after it instead (and folds only what it missed).
   */
  private async entry(parkingLotId: string): Promise<Entry | null> {
    const [collection, applied] = await Promise.all([
      this.ctx.collection(LOT_FACTS),
      this.ctx.appliedPositionOf(LOT_FACTS),
    ]);
    const checkedAt = applied?.commit ?? null;
    const pending = this.loading.get(parkingLotId);
    if (pending && pending.collection === collection && (pending.checkedAt ?? -1) >= (checkedAt ?? -1))
      return pending.entry;
    const entry = (pending?.entry.catch(() => null) ?? Promise.resolve(null))
      .then(() => this.refresh(parkingLotId, collection, checkedAt))
      .finally(() => {
        if (this.loading.get(parkingLotId)?.entry === entry) this.loading.delete(parkingLotId);
      });
    this.loading.set(parkingLotId, { collection, checkedAt, entry });
    return entry;
  }

  private async refresh(
    parkingLotId: string,
    collection: string,
    checkedAt: number | null,
  ): Promise<Entry | null> {
    const kept = this.entries.get(parkingLotId);
    const seeded =
      this.seeds.get(parkingLotId) ??
      (this.everySeed && !kept ? (this.everySeed(parkingLotId) ?? UNKNOWN_LOT) : undefined);
    if (seeded) {
      this.seeds.delete(parkingLotId);
      const { state, windows, revision } = seeded;
      if (state.kind !== "registered") return null;
      return this.keep(parkingLotId, { collection, state, windows, revision, checkedAt });
    }
    const usable = kept && kept.collection === collection ? kept : undefined;
    if (usable && usable.checkedAt === checkedAt) return this.keep(parkingLotId, usable);
    const docs = usable
      ? await this.ctx.store.find(collection, { parkingLotId, at: { $gt: usable.revision } })
      : await this.currentDocs(collection, parkingLotId);
    // A period opened since (or the first load of a lot past period 0): its documents from the
    // opening on are all among these (each of them is at or after it), and the state starts there.
    const opening = openingIn(docs, usable?.revision ?? -1);
    const from = opening?.revision ?? usable?.revision ?? -1;
    const facts = factsOf(docs, from);
    if (!opening && usable && facts.length === 0) return this.keep(parkingLotId, { ...usable, checkedAt });
    const { state, windows } = opening
      ? foldWithWindows(loadWithWindows([{ revision: opening.revision, event: opening.event }]), facts)
      : usable
        ? foldWithWindows(usable, facts)
        : loadWithWindows(facts);
    if (state.kind !== "registered") return null;
    return this.keep(parkingLotId, {
      collection,
      state,
      windows,
      revision: facts.at(-1)?.revision ?? from,
      checkedAt,
    });
  }

  /**
   * The documents a lot's state is loaded from: those of its current period, from its opening on
   * (period 0: from the stream's start), one index range.
   */
  private async currentDocs(collection: string, parkingLotId: string): Promise<Document[]> {
    const lot = await this.ctx.store.findById(collection, lotDoc(parkingLotId));
    const opened = (lot?.opened as StoredOpening | undefined)?.revision ?? 0;
    return this.ctx.store.find(collection, { parkingLotId, at: { $gte: opened } });
  }

  /**
   * Marks these lots' kept states the most recently asked, before a read of them a chunk at a time
   * (mapInChunks): the lots it then loads evict other lots, not the ones of its next chunks (with a
   * page as large as what is kept, each chunk's loads would evict the next chunk's lots, and the
   * whole page would be loaded again).
   */
  touch(parkingLotIds: readonly string[]): void {
    for (const id of parkingLotIds) {
      const kept = this.entries.get(id);
      if (kept) this.keep(id, kept);
    }
  }

  /**
   * Drops the kept states of these lots (every lot when none are named): an erasure rewrote their
   * facts, and a kept state would still hold the erased customer's id and plates (issue 36).
   */
  forget(parkingLotIds?: readonly string[]): void {
    if (!parkingLotIds) this.entries.clear();
    else for (const id of parkingLotIds) this.entries.delete(id);
  }

  private keep(parkingLotId: string, entry: Entry): Entry {
    this.entries.delete(parkingLotId);
    this.entries.set(parkingLotId, entry);
    if (this.entries.size > KEPT_LOTS) this.entries.delete(this.entries.keys().next().value as string);
    return entry;
  }
}

/** A lot's state folded elsewhere, its views started from (see seed). */
type Seed = Pick<Entry, "windows" | "revision"> & { readonly state: ParkingLotState };
/** The seed of a lot a whole fold does not know: not registered then. */
const UNKNOWN_LOT: Seed = { state: initialState, windows: null, revision: -1 };

/** The state folded from these facts, and its windows' step tree built from scratch (O(n log n)). */
export function loadWithWindows(facts: readonly LotFact[]): { state: ParkingLotState; windows: StepTree } {
  const state = fold(
    facts.map((f) => f.event),
    initialState,
  );
  return { state, windows: state.kind === "registered" ? windowSteps(state.occupancy) : null };
}

/** The state and its windows' step tree after these facts, each window changed costing O(log n). */
export function foldWithWindows(
  from: { readonly state: ParkingLotState; readonly windows: StepTree },
  facts: readonly LotFact[],
): { state: ParkingLotState; windows: StepTree } {
  let { state, windows } = from;
  for (const { event } of facts) {
    const next = evolve(state, event);
    windows = windowStepsAfter(windows, state, next, event);
    state = next;
  }
  return { state, windows };
}

/**
 * The lot's period opening newer than `after` among these documents (the lot's document says
 * which), rebuilt from the records carried by it (lot-opening.ts) as the event the write side
 * folds, with its `at`; undefined when none is.
 */
export function openingIn(
  docs: readonly Document[],
  after: number,
): { readonly revision: number; readonly event: LotFact["event"] } | undefined {
  const lot = docs.find((doc) => doc._id === lotDoc(String(doc.parkingLotId)));
  const opened = lot?.opened as StoredOpening | undefined;
  if (!opened || opened.revision <= after) return undefined;
  const records: OpeningRecord[] = [];
  for (const doc of docs) {
    const first = (doc.facts as LotFact[] | undefined)?.[0] as
      | { revision: number; event: { type: string; data: unknown } }
      | undefined;
    if (first?.event.type === OPENED && first.revision === opened.revision)
      records.push(first.event.data as OpeningRecord);
  }
  return { revision: opened.revision, event: openingOf(String(lot?.parkingLotId), opened, records) };
}

/** The facts of these documents newer than `after`, in the stream's order (an opening's records aside). */
export function factsOf(docs: readonly Document[], after: number): LotFact[] {
  const facts = new Map<number, LotFact>();
  const add = (fact: unknown) => {
    const f = fact as LotFact | undefined;
    if (f && f.revision > after && (f.event.type as string) !== OPENED) facts.set(f.revision, f);
  };
  for (const doc of docs) {
    add(doc.registered);
    add(doc.capacity);
    add(doc.rate);
    add(doc.customerLimit);
    for (const f of (doc.facts as unknown[] | undefined) ?? []) add(f);
  }
  return [...facts.values()].sort((a, b) => a.revision - b.revision);
}
