import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { StepTree } from "../../platform/step-tree.js";
import { mapInChunks } from "../../platform/turn-slice.js";
import { stampMsOfRaw } from "../../schemas/event-stamps.js";
import { type LotInPeriod, LotLoader } from "../../write-side/lot-loader.js";
import {
  initialState,
  type ParkingLotState,
  parkingLotStream,
  type RegisteredLot,
} from "../../write-side/parking-lot/decider.js";
import {
  type HeldTimeline,
  heldTimeline,
  windowSteps,
  windowStepsAfter,
} from "../../write-side/parking-lot/held-timeline.js";
import { type Cut, within } from "../time-travel/as-of.js";

/** A lot's decider state as of a moment (or now), as the read side's views start from it. */
export interface LotAt {
  readonly state: ParkingLotState;
  readonly revision: number;
  /** The last event folded and the latest stamp among them (null, NaN: none was). */
  readonly position: Position | null;
  readonly stampMs: number;
  /** Whether an event beyond the moment was met: no later event changes this state. */
  readonly final: boolean;
  /** The lot's occupancy timeline at `now` (held-timeline.ts), kept until it may count differently. */
  timeline(lot: RegisteredLot, now: number): HeldTimeline;
}

/** The present: every event of the log so far. */
export const NOW: Cut = { kind: "position", commit: Number.POSITIVE_INFINITY };

/** A state of the period on the way to a kept one (persistent: it shares its nodes with the later states). */
interface Checkpoint {
  readonly lot: LotInPeriod;
  readonly stampMs: number;
  readonly windows?: StepTree;
}

/** Events folded between two checkpoints of a period, and the most checkpoints kept per lot. */
const CHECKPOINT_EVERY = 500;
const CHECKPOINTS_KEPT = 16;

interface Kept {
  /** States of the same period before it, every CHECKPOINT_EVERY events folded: an earlier moment starts there. */
  readonly checkpoints?: readonly Checkpoint[];
  readonly lot: LotInPeriod;
  /** The latest stamp among the period's events folded. */
  readonly stampMs: number;
  readonly bytes: number;
  /** The first event met beyond the moment kept (final states only): a moment before it has the same state. */
  readonly next?: { readonly position: Position; readonly stampMs: number };
  windows?: StepTree;
  held?: { readonly builtAt: number; readonly timeline: HeldTimeline };
}

/**
 * Every read side's lot state: the write side's loader (LotLoader) with one cache bounded by
 * `capacity` lots and `maxBytes` (least recently asked out first), each kept at the last moment
 * read, so a later moment of the same period, or the present, folds only the events after it.
 */
export class LotsAt {
  private readonly loader: LotLoader;
  private readonly kept = new Map<string, Kept>();
  private bytes = 0;

  constructor(
    events: EventStore,
    private readonly capacity: number,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    this.loader = new LotLoader(events);
  }

  async at(parkingLotId: string, cut: Cut = NOW): Promise<LotAt> {
    const kept = this.kept.get(parkingLotId);
    // A state kept at an earlier moment (or a checkpoint on the way to it) is a prefix of the
    // answer's: the latest of them the moment holds (the loader uses it only in the same period).
    const from = [...(kept ? [kept] : []), ...(kept?.checkpoints ?? [])]
      .filter((c) => within(cut, c.lot.position, c.stampMs))
      .reduce<Checkpoint | undefined>((a, c) => (a && a.lot.revision >= c.lot.revision ? a : c), undefined);
    // A moment between the kept state and the next event after it: that very state, nothing read.
    if (kept && from === kept && kept.next && !within(cut, kept.next.position, kept.next.stampMs))
      return this.answer(parkingLotId, kept, true);
    let next: Kept["next"];
    let current: RecordedEvent | undefined;
    let folded = 0;
    const checkpoints: Checkpoint[] = [];
    const stamps = new Map<string, number>();
    let windows: StepTree | undefined = from?.windows || undefined;
    let carried = from?.lot.state;
    const holds = (raw: RecordedEvent) => {
      const stamp = stampMsOfRaw(raw.type, raw.data);
      if (!within(cut, raw.position, stamp)) {
        next = { position: raw.position, stampMs: stamp };
        return false;
      }
      stamps.set(raw.streamId, Math.max(stamps.get(raw.streamId) ?? Number.NEGATIVE_INFINITY, stamp));
      current = raw;
      return true;
    };
    const observe = (
      before: ParkingLotState,
      after: ParkingLotState,
      event: Parameters<typeof windowStepsAfter>[3],
    ) => {
      windows = windows && before === carried ? windowStepsAfter(windows, before, after, event) : undefined;
      carried = after;
      if (++folded % CHECKPOINT_EVERY !== 0 || !current) return;
      const { revision, position, streamId: stream, type } = current;
      const lot = { state: after, revision, position, stream, closed: type === "LotBooksClosed" };
      const stampMs = stamps.get(stream) ?? Number.NEGATIVE_INFINITY;
      checkpoints.push({ lot, stampMs, ...(windows ? { windows } : {}) });
    };
    const lot = await this.load(parkingLotId, cut, from?.lot, holds, observe);
    const same = from !== undefined && from.lot.stream === lot.stream;
    const stampMs = Math.max(
      same ? from.stampMs : Number.NEGATIVE_INFINITY,
      stamps.get(lot.stream) ?? Number.NEGATIVE_INFINITY,
    );
    const earlier = kept && kept.lot.stream === lot.stream ? [kept, ...(kept.checkpoints ?? [])] : [];
    const entry: Kept = {
      ...(kept && from === kept && same && kept.lot.revision === lot.revision
        ? kept
        : { lot, stampMs, bytes: estimatedBytes(lot.state) }),
      ...(same && windows ? { windows } : {}),
      lot,
      ...(next ? { next } : {}),
      checkpoints: [
        ...new Map(
          [...earlier, ...checkpoints].map(({ lot: at, stampMs: ms, windows: tree }) => [
            at.revision,
            { lot: at, stampMs: ms, ...(tree ? { windows: tree } : {}) },
          ]),
        ).values(),
      ]
        .filter((c) => c.lot.revision < lot.revision)
        .sort((a, b) => a.lot.revision - b.lot.revision)
        .slice(-CHECKPOINTS_KEPT),
    };
    if (!next) delete (entry as { next?: unknown }).next;
    return this.answer(parkingLotId, entry, lot.beyond);
  }

  /** Keeps the entry (the most recently asked) and answers with it. */
  private answer(parkingLotId: string, entry: Kept, final: boolean): LotAt {
    this.keep(parkingLotId, entry);
    const { lot } = entry;
    entry.windows ??= lot.state.kind === "registered" ? windowSteps(lot.state.occupancy) : null;
    const windowsOf = entry.windows;
    return {
      state: lot.state,
      revision: lot.revision,
      position: lot.position,
      stampMs: lot.position ? entry.stampMs : Number.NaN,
      final,
      timeline(registered, now) {
        const held = entry.held;
        if (held && held.builtAt <= now && now < held.timeline.validUntil) return held.timeline;
        const timeline = heldTimeline(registered, now, windowsOf);
        entry.held = { builtAt: now, timeline };
        return timeline;
      },
    };
  }

  /** The present from a kept state reads its period's events after it (unless that closed since). */
  private async load(
    parkingLotId: string,
    cut: Cut,
    from: LotInPeriod | undefined,
    holds: (raw: RecordedEvent) => boolean,
    observe: Parameters<LotLoader["at"]>[3],
  ): Promise<LotInPeriod & { readonly beyond: boolean }> {
    if (cut === NOW && from && !from.closed) {
      const lot = await this.loader.catchUp(from.stream, from, holds, observe);
      if (!lot.closed) return { ...lot, beyond: false };
    }
    if (cut === NOW && !from) {
      const stream = parkingLotStream(parkingLotId, await this.loader.currentPeriod(parkingLotId));
      const start = { state: initialState, revision: -1, position: null };
      return { ...(await this.loader.catchUp(stream, start, holds, observe)), beyond: false };
    }
    return this.loader.at(parkingLotId, holds, from, observe);
  }

  /** Forgets the lots kept (every one when none are named): an erasure made them out of date. */
  forget(parkingLotIds?: readonly string[]): void {
    for (const id of parkingLotIds ?? [...this.kept.keys()]) this.drop(id);
  }

  /** Marks these lots as just asked, so a page's chunk loads never push out the next chunk's lots. */
  touch(parkingLotIds: readonly string[]): void {
    for (const id of parkingLotIds) {
      const entry = this.kept.get(id);
      if (!entry) continue;
      this.kept.delete(id);
      this.kept.set(id, entry);
    }
  }

  get size(): number {
    return this.kept.size;
  }

  /** The kept states' estimated bytes (their entries at LOT_STATE_ENTRY_BYTES each). */
  get keptBytes(): number {
    return this.bytes;
  }

  private keep(parkingLotId: string, entry: Kept): void {
    this.drop(parkingLotId);
    this.kept.set(parkingLotId, entry);
    this.bytes += entry.bytes;
    for (const id of this.kept.keys()) {
      if (
        this.kept.size <= Math.max(1, this.capacity) &&
        (this.bytes <= this.maxBytes || this.kept.size === 1)
      )
        break;
      this.drop(id);
    }
  }

  private drop(parkingLotId: string): void {
    const entry = this.kept.get(parkingLotId);
    if (!entry) return;
    this.bytes -= entry.bytes;
    this.kept.delete(parkingLotId);
  }
}

/**
 * Bytes a lot state holds per entry, with headroom over what `node --expose-gc --import tsx
 * bench/lot-state-bytes.ts` measures (about 370 on Node 20): an estimate for the byte bound.
 */
export const LOT_STATE_ENTRY_BYTES = 448;

/** A state's estimated size: its entries (records, windows, cars in the lot, ...) at LOT_STATE_ENTRY_BYTES. */
function estimatedBytes(state: ParkingLotState): number {
  if (state.kind !== "registered") return LOT_STATE_ENTRY_BYTES;
  let windowed = 0;
  for (const bucket of state.occupancy.buckets.values()) windowed += bucket.size;
  const entries =
    1 +
    state.reservations.size +
    2 * windowed +
    state.byCustomer.size +
    state.inLot.size +
    state.openEnded.size +
    state.checkOutRates.size +
    state.paymentAsked.size +
    state.closures.size;
  return entries * LOT_STATE_ENTRY_BYTES;
}

/** Lots whose state a query process keeps (the least recently asked go first), and their bytes at most. */
const KEPT_LOTS = 1_000;
const KEPT_BYTES = 256 * 1024 * 1024;

/**
 * Each lot's decider state, so a view asks the decider's own functions instead of restating its
 * rules: the present through one LotsAt, or `source`'s (time travel's, as of a moment).
 */
export class LotStates {
  private readonly cache: LotsAt | undefined;
  private readonly source: (parkingLotId: string) => Promise<LotAt>;

  constructor(options: {
    readonly eventStore?: EventStore;
    readonly lots?: (parkingLotId: string) => Promise<LotAt>;
  }) {
    const cache = options.eventStore ? new LotsAt(options.eventStore, KEPT_LOTS, KEPT_BYTES) : undefined;
    this.cache = cache;
    this.source =
      options.lots ??
      ((id) => {
        if (!cache) throw new Error("a lot's state is read from the event store: the views were given none");
        return cache.at(id);
      });
  }

  /** The lot's state now; null for a lot not registered. */
  async state(parkingLotId: string): Promise<RegisteredLot | null> {
    const { state } = await this.source(parkingLotId);
    return state.kind === "registered" ? state : null;
  }

  /** The lot's state and its occupancy timeline at `now`; null for a lot not registered. */
  async timeline(
    parkingLotId: string,
    now: number,
  ): Promise<{ lot: RegisteredLot; timeline: HeldTimeline } | null> {
    const at = await this.source(parkingLotId);
    return at.state.kind === "registered" ? { lot: at.state, timeline: at.timeline(at.state, now) } : null;
  }

  /** Marks these lots' kept states as just asked (LotsAt.touch). */
  touch(parkingLotIds: readonly string[]): void {
    this.cache?.touch(parkingLotIds);
  }

  /** These lots' states now, a chunk at a time so a page of 1,000 lets other callers in between. */
  async states(parkingLotIds: readonly string[]): Promise<Map<string, RegisteredLot | null>> {
    this.touch(parkingLotIds);
    return new Map(await mapInChunks(parkingLotIds, async (id) => [id, await this.state(id)] as const));
  }

  /** Drops the kept states of these lots (every lot when none are named): an erasure rewrote their facts. */
  forget(parkingLotIds?: readonly string[]): void {
    this.cache?.forget(parkingLotIds);
  }
}
