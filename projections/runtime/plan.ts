import { performance } from "node:perf_hooks";
import type { WriteOp } from "../../document-store/port.js";
import type { LogMessage, RecordedEvent } from "../../event-store/port.js";
import { isAfter, type Position } from "../../event-store/position.js";
import { endSpan, linkedSpan, tracingOn } from "../../platform/tracing.js";
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
 * The writes one processor makes for a batch: a projection's writes for the events of its types,
 * then its checkpoint at the furthest position the batch proves examined (or its failure).
 */
export function planEntry(entry: Entry, batch: readonly LogMessage[], decode: Decode): Plan {
  const ops: WriteOp[] = [];
  let position = entry.position;
  let applied = 0;
  let caughtUp = false;
  let failure: Plan["failure"];
  const visible: RecordedEvent[] = [];
  const { processor } = entry;
  // With tracing on, the traces of the events a projection applies: one span for the batch.
  const traces: string[] | undefined = tracingOn() && !isReactor(processor) ? [] : undefined;
  const started = traces ? performance.now() : 0;
  for (const message of batch) {
    if (message.kind === "caught-up") caughtUp = true;
    const at = positionOf(message);
    if (at === null) continue;
    if (position && !isAfter(at, position)) continue; // already applied: exactly once
    if (message.kind === "event" && processor.eventTypes.has(message.event.type as never)) {
      const record = message.event;
      // A projection's writes for the event (a reactor acted before the plan).
      if (!isReactor(processor)) {
        const stored = decode(record);
        try {
          if (stored instanceof Error) throw stored;
          if (traces && stored.metadata.traceparent) traces.push(stored.metadata.traceparent);
          ops.push(...processor.apply(stored, entry.collection));
        } catch (error) {
          failure = { position: record.position, error: failureText(record, error) };
          break;
        }
        if (record.type === "ParkingReserved") visible.push(record);
      }
      applied++;
    }
    position = at;
  }
  // One span `apply <projection>` per batch, in its first sampled event's trace, linked to the others.
  if (traces?.length) {
    const attributes = { "parking.events": applied, "parking.position": position?.commit ?? -1 };
    const span = linkedSpan(`apply ${processor.name}`, traces, { startTime: started, attributes });
    endSpan(span, failure ? new Error(failure.error) : undefined);
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
