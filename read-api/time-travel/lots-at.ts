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
  readonly last: RecordedEvent | undefined;
  readonly stampMs: number;
  windows?: StepTree;
}

/**
 * Lots as of a moment, for time travel (issue 68 item 2): the write side's loader (LotLoader.at:
 * the opening of the period holding the moment and that period's events up to it), with one
 * bounded cache, the `capacity` lots asked last (least recently asked out first), each kept at
 * the last moment read: a later moment of the same period folds only the events between the two.
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
    const holds = (raw: RecordedEvent) => within(cut, raw.position, stampMsOfRaw(raw.type, raw.data));
    const kept = this.kept.get(parkingLotId);
    // A kept state whose last event is within the moment is a prefix of the answer's period.
    const from = kept && (kept.last === undefined || holds(kept.last)) ? kept : undefined;
    let stampMs = from?.stampMs ?? Number.NEGATIVE_INFINITY;
    let last = from?.last;
    // The windows' tree carried along the events folded after a kept state (O(log n) each).
    let windows: StepTree | undefined = from?.windows || undefined;
    let carried = from?.lot.state;
    const lot = await this.loader.at(
      parkingLotId,
      (raw) => {
        if (!holds(raw)) return false;
        if (raw.streamId !== last?.streamId || raw.revision > last.revision) last = raw;
        return true;
      },
      from?.lot,
      (before, after, event) => {
        // Only along the kept state (the loader starts from its opening for another period).
        windows =
          windows !== undefined && before === carried
            ? windowStepsAfter(windows, before, after, event)
            : undefined;
        carried = after;
      },
    );
    // The stamps folded: those of the period's events read (an earlier opening checked is older).
    if (from?.lot.stream !== lot.stream) stampMs = Number.NEGATIVE_INFINITY;
    if (last && last.streamId === lot.stream) stampMs = Math.max(stampMs, stampMsOfRaw(last.type, last.data));
    const entry: Kept =
      from && from.lot.revision === lot.revision && from.lot.stream === lot.stream
        ? from
        : {
            lot,
            last: last?.streamId === lot.stream ? last : undefined,
            stampMs,
            ...(from?.lot.stream === lot.stream && windows !== undefined ? { windows } : {}),
          };
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
