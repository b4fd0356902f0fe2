import type { WriteOp } from "../../document-store/port.js";
import { AppendTooLargeError, EventStoreError } from "../../event-store/errors.js";
import type { LogMessage, RecordedEvent } from "../../event-store/port.js";
import { isAfter, type Position } from "../../event-store/position.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { type Decode, type Entry, failureText, isOutage, positionOf } from "./entry.js";
import { failedPlan, type Plan, planEntry } from "./plan.js";
import type { Reactor, ReactorContext } from "./processor.js";

/**
 * What stops a reactor is an event it cannot handle, not a store that failed to take its effects:
 * that, like an outage, retries the batch after a backoff (but for an append too large, which the
 * store would refuse again).
 */
const retried = (error: unknown): boolean =>
  isOutage(error) || (error instanceof EventStoreError && !(error instanceof AppendTooLargeError));

/**
 * Runs a reactor over the batch's events of its types (its writes go before its checkpoint). A
 * failure that is not retried is pinned down event by event: the reactor stops at that event.
 */
export async function react(
  entry: Entry,
  reactor: Reactor,
  batch: readonly LogMessage[],
  decode: Decode,
  context: ReactorContext,
): Promise<Plan> {
  const selected: { record: RecordedEvent; stored: StoredDomainEvent | Error }[] = [];
  for (const message of batch) {
    if (message.kind !== "event") continue;
    const record = message.event;
    if (entry.position && !isAfter(record.position, entry.position)) continue;
    if (reactor.eventTypes.has(record.type as never)) selected.push({ record, stored: decode(record) });
  }
  const stored = selected.map((s) => s.stored);
  if (!stored.some((s) => s instanceof Error)) {
    try {
      const outbox = await reactor.react(stored as StoredDomainEvent[], context);
      return withOutbox(planEntry(entry, batch, decode), outbox ? [...outbox] : []);
    } catch (error) {
      if (retried(error)) throw error;
    }
  }
  const outbox: WriteOp[] = [];
  for (const { record, stored: one } of selected) {
    try {
      if (one instanceof Error) throw one;
      outbox.push(...((await reactor.react([one], context)) ?? []));
    } catch (error) {
      if (retried(error)) throw error;
      const failure = { position: record.position, error: failureText(record, error) };
      const before = batch.filter(
        (m) => positionOf(m) !== null && isAfter(record.position, positionOf(m) as Position),
      );
      const reached = planEntry(entry, before, decode).position ?? entry.position;
      return withOutbox(failedPlan(entry, reached, failure), outbox);
    }
  }
  return withOutbox(planEntry(entry, batch, decode), outbox);
}

/** The reactor's own writes before its checkpoint's. */
const withOutbox = (plan: Plan, outbox: WriteOp[]): Plan =>
  outbox.length ? { ...plan, ops: [...outbox, ...plan.ops] } : plan;
