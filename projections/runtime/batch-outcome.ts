import {
  type DocumentStore,
  DocumentStoreUnavailableError,
  WriteConditionFailedError,
  type WriteOp,
} from "../../document-store/port.js";
import type { LogMessage } from "../../event-store/port.js";
import { isAfter } from "../../event-store/position.js";
import type { Logger } from "../../platform/logger.js";
import type { Metrics } from "../../platform/metrics.js";
import { endSpan, startSpan, tracingOn } from "../../platform/tracing.js";
import type { Decode, Entry } from "./entry.js";
import { failedPlan, type Plan, planEntry } from "./plan.js";
import { isReactor } from "./processor.js";
import type { Progress } from "./progress.js";
import { ResubscribeSignal } from "./subscription-loop.js";

/** The projection whose commit makes a reservation visible to GET /reservations/{id}. */
const VISIBLE_IN = "reservations";

/** What settling a batch's plans needs from the runtime. */
export interface BatchContext {
  readonly documentStore: DocumentStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly progress: Progress;
  /** A write was refused by a fence (a lease was lost): find out which, then start over. */
  readonly fenced: () => Promise<never>;
}

/** After the plans are stored: each processor's state, metrics and position move on. */
export function commit(context: BatchContext, plans: readonly Plan[]): void {
  const { metrics, logger } = context;
  for (const plan of plans) {
    const { entry } = plan;
    const name = entry.processor.name;
    if (plan.failure) {
      entry.state = "failed";
      entry.error = plan.failure.error;
      metrics?.projectionFailures.inc({ projection: name, kind: "event" });
      logger.error(
        { processor: name, position: plan.failure.position, error: plan.failure.error },
        "processor stopped: it cannot handle an event",
      );
    }
    if (plan.applied > 0) metrics?.projectionEvents.inc({ projection: name }, plan.applied);
    if (plan.caughtUp) entry.caughtUp = true;
    if (plan.position && (!entry.position || isAfter(plan.position, entry.position))) {
      entry.position = plan.position;
      metrics?.projectionPosition.set({ projection: name }, plan.position.commit);
      context.progress.advanced(name, plan.position);
    }
  }
}

/** Ack → visible: how long after its append each reservation became visible (a histogram, a span when traced). */
export function observeVisible(metrics: Metrics | undefined, plans: readonly Plan[], decode: Decode): void {
  const plan = plans.find((p) => p.entry.processor.name === VISIBLE_IN && p.applied > 0);
  if (!plan?.visible) return;
  const now = Date.now();
  for (const record of plan.visible) {
    if (record.type !== "ParkingReserved") continue;
    const acked = record.createdAt.getTime();
    metrics?.reservationVisibleLag.observe(Math.max(0, now - acked) / 1000);
    if (!tracingOn()) continue;
    const stored = decode(record);
    if (stored instanceof Error || !stored.metadata.traceparent) continue;
    endSpan(
      startSpan("reservation visible", stored.metadata.traceparent, {
        startTime: acked,
        attributes: {
          "parking.reservation": String((record.data as { reservationId?: unknown }).reservationId),
        },
      }),
    );
  }
}

/**
 * The store refused a batch's write: store the reactors' checkpoints (they have acted), then apply
 * the projections event by event to find and record which cannot take which event.
 */
export async function isolateFailure(
  context: BatchContext,
  batch: readonly LogMessage[],
  plans: readonly Plan[],
  fences: ReadonlyMap<Entry, WriteOp[]>,
  decode: Decode,
  cause: unknown,
): Promise<void> {
  context.logger.warn({ err: cause }, "batch write refused; applying event by event to find the fault");
  const write = async (plan: Plan) => {
    try {
      await context.documentStore.write([...(fences.get(plan.entry) ?? []), ...plan.ops]);
    } catch (error) {
      if (error instanceof WriteConditionFailedError) await context.fenced();
      throw error;
    }
    commit(context, [plan]);
  };
  for (const plan of plans) if (isReactor(plan.entry.processor)) await write(plan);
  const projections = plans.map((plan) => plan.entry).filter((entry) => !isReactor(entry.processor));
  for (const message of batch) {
    for (const entry of projections) {
      if (entry.state === "failed") continue;
      const plan = planEntry(entry, [message], decode);
      try {
        await write(plan);
      } catch (error) {
        if (error instanceof DocumentStoreUnavailableError || error instanceof ResubscribeSignal) throw error;
        if (message.kind !== "event") throw error;
        const record = message.event;
        await write(
          failedPlan(entry, entry.position, {
            position: record.position,
            error: `${record.type} at ${record.position.commit}: ${String(error)}`,
          }),
        );
      }
    }
  }
}
