import type { WriteOp } from "../../document-store/port.js";
import type { LogMessage, RecordedEvent } from "../../event-store/port.js";
import { isAfter, type Position } from "../../event-store/position.js";
import { traced, tracingOn } from "../../platform/tracing.js";
import { checkpointOp } from "./checkpoints.js";
import { type Decode, type Entry, failureText, positionOf } from "./entry.js";
import { isReactor, type Processor } from "./processor.js";

/** What one processor writes for a batch, and where it stands once written. */
export interface Plan {
  readonly entry: Entry;
  readonly ops: WriteOp[];
  readonly applied: number;
  /** The position this processor will have reached once the ops are written. */
  readonly position: Position | null;
  readonly caughtUp: boolean;
  readonly failure?: { readonly position: Position; readonly error: string };
  /** Bookings a projection applied in this batch (ParkingReserved), for the ack → visible lag. */
  readonly visible?: readonly RecordedEvent[];
}

/** The version a processor's new checkpoint records (projections only: reactors keep no documents to rebuild). */
const versionOf = (processor: Processor): number | undefined =>
  isReactor(processor) ? undefined : processor.version;

export function failedPlan(
  entry: Entry,
  position: Position | null,
  failure: NonNullable<Plan["failure"]>,
): Plan {
  return {
    entry,
    ops: [
      checkpointOp(
        entry.processor.name,
        entry.generation,
        { position, state: "failed", error: failure.error, failedAt: failure.position },
        versionOf(entry.processor),
      ),
    ],
    applied: 0,
    position: position !== entry.position ? position : null,
    caughtUp: false,
    failure,
  };
}

/**
 * The writes one processor makes for a batch, plus its checkpoint (or its failure record): a
 * projection's writes for the events of its types, and for any processor the furthest position
 * the batch proves examined (its last event, checkpoint or caught-up message).
 */
export function planEntry(entry: Entry, batch: readonly LogMessage[], decode: Decode): Plan {
  const ops: WriteOp[] = [];
  let position = entry.position;
  let applied = 0;
  let caughtUp = false;
  let failure: Plan["failure"];
  const visible: RecordedEvent[] = [];
  const { processor } = entry;
  for (const message of batch) {
    if (message.kind === "caught-up") caughtUp = true;
    const at = positionOf(message);
    if (at === null) continue;
    if (position && !isAfter(at, position)) continue; // already applied: exactly once
    if (message.kind === "event" && processor.eventTypes.has(message.event.type as never)) {
      const record = message.event;
      const outcome = applyOne(entry, record, decode);
      if (outcome.failure) {
        failure = outcome.failure;
        break;
      }
      ops.push(...outcome.ops);
      applied++;
      if (outcome.visible) visible.push(record);
    }
    position = at;
  }
  const changed = position !== entry.position;
  if (failure) {
    // The effects of the events before the failing one land with the failure record.
    const failed = failedPlan(entry, position, failure);
    return { ...failed, ops: [...ops, ...failed.ops], applied };
  }
  if (changed)
    ops.push(
      checkpointOp(processor.name, entry.generation, { position, state: "running" }, versionOf(processor)),
    );
  return { entry, ops, applied, position: changed ? position : null, caughtUp, visible };
}

/** One event of the processor's types: a projection's writes for it (a reactor acted on it before the plan). */
function applyOne(
  entry: Entry,
  record: RecordedEvent,
  decode: Decode,
): { ops: readonly WriteOp[]; visible?: boolean; failure?: NonNullable<Plan["failure"]> } {
  const { processor } = entry;
  if (isReactor(processor)) return { ops: [] };
  const stored = decode(record);
  try {
    if (stored instanceof Error) throw stored;
    // With tracing off nothing is allocated for it (no name, attributes nor closure).
    const ops =
      tracingOn() && stored.metadata.traceparent
        ? traced(
            `apply ${processor.name}`,
            stored.metadata.traceparent,
            { "parking.event": stored.event.type, "parking.position": stored.position.commit },
            () => processor.apply(stored, entry.collection),
          )
        : processor.apply(stored, entry.collection);
    return { ops, visible: record.type === "ParkingReserved" };
  } catch (error) {
    return { ops: [], failure: { position: record.position, error: failureText(record, error) } };
  }
}
