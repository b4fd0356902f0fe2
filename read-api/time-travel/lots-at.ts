import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { StepTree } from "../../platform/step-tree.js";
import { stampMsOfRaw } from "../../schemas/event-stamps.js";
import { type LotInPeriod, LotLoader } from "../../write-side/lot-loader.js";
import type { ParkingLotState } from "../../write-side/parking-lot/decider.js";
import { windowSteps, windowStepsAfter } from "../../write-side/parking-lot/held-timeline.js";
import type { Cut } from "./as-of.js";
import { within } from "./fold-cache.js";

/** A lot's decider state as of a moment, as the read side's views start from it. */
export interface LotAt {
  readonly state: ParkingLotState;
  /** Its windows' step tree (held-timeline.ts), made once per state kept. */
  readonly windows: StepTree;
  readonly revision: number;
  /** The last event folded and the latest stamp among them (null, NaN: none was). */
  readonly position: Position | null;
  readonly stampMs: number;
  /** Whether an event beyond the moment was met: no later event changes this state. */
  readonly final: boolean;
}

interface Kept {
  readonly lot: LotInPeriod;
  /** The latest stamp among the period's events folded. */
  readonly stampMs: number;
  windows?: StepTree;
}

/**
 * Lots as of a moment, for time travel (issue 68 item 2): the write side's loader (LotLoader.at:
 * the opening of the period holding the moment and that period's events up to it), with one
 * bounded cache, the `capacity` lots asked last (least recently asked out first), each kept at
 * the last moment read: a later moment of the same period folds only the events between the two,
 * the windows' step tree carried along them (O(log n) each).
 */
export class LotsAt {
  private readonly loader: LotLoader;
  private readonly kept = new Map<string, Kept>();

  constructor(
    events: EventStore,
    private readonly capacity: number,
  ) {
    this.loader = new LotLoader(events);
  }

  async at(parkingLotId: string, cut: Cut): Promise<LotAt> {
    const kept = this.kept.get(parkingLotId);
    // A state kept at an earlier moment is a prefix of the answer's (the loader uses it only in the same period).
    const from = kept && within(cut, kept.lot.position, kept.stampMs) ? kept : undefined;
    const stamps = new Map<string, number>();
    let windows: StepTree | undefined = from?.windows || undefined;
    let carried = from?.lot.state;
    const holds = (raw: RecordedEvent) => {
      const stamp = stampMsOfRaw(raw.type, raw.data);
      if (!within(cut, raw.position, stamp)) return false;
      stamps.set(raw.streamId, Math.max(stamps.get(raw.streamId) ?? Number.NEGATIVE_INFINITY, stamp));
      return true;
    };
    const lot = await this.loader.at(parkingLotId, holds, from?.lot, (before, after, event) => {
      windows = windows && before === carried ? windowStepsAfter(windows, before, after, event) : undefined;
      carried = after;
    });
    const same = from !== undefined && from.lot.stream === lot.stream;
    const stampMs = Math.max(
      same ? from.stampMs : Number.NEGATIVE_INFINITY,
      stamps.get(lot.stream) ?? Number.NEGATIVE_INFINITY,
    );
    const entry: Kept =
      same && from.lot.revision === lot.revision
        ? from
        : { lot, stampMs, ...(same && windows ? { windows } : {}) };
    this.keep(parkingLotId, entry);
    entry.windows ??= lot.state.kind === "registered" ? windowSteps(lot.state.occupancy) : null;
    return {
      state: lot.state,
      windows: entry.windows,
      revision: lot.revision,
      position: lot.position,
      stampMs: lot.position ? entry.stampMs : Number.NaN,
      final: lot.beyond,
    };
  }

  /** Forgets every lot kept: an erasure made them out of date (issue 36). */
  clear(): void {
    this.kept.clear();
  }

  get size(): number {
    return this.kept.size;
  }

  private keep(parkingLotId: string, entry: Kept): void {
    this.kept.delete(parkingLotId);
    this.kept.set(parkingLotId, entry);
    for (const id of this.kept.keys()) {
      if (this.kept.size <= this.capacity) break;
      this.kept.delete(id);
    }
  }
}
