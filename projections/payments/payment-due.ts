import type { Document, DocumentStore, IndexSpec, WriteOp } from "../../document-store/port.js";
import type { EventStore } from "../../event-store/port.js";
import { decodeEvent, type StoredDomainEvent } from "../../schemas/event-codec.js";
import type { EventType } from "../../schemas/events.js";
import type { PaymentStreamEvent } from "../../write-side/payment/payment.js";
import { paymentStream } from "../../write-side/payment/payment.js";
import { isPaymentStreamType } from "../../write-side/payment/payment-handler.js";
import {
  evolveProcess,
  NO_PROCESS,
  nextStep,
  type PaymentFactRecord,
  type PaymentProcess,
  processOf,
} from "../../write-side/payment/payment-next.js";
import type { PendingEnd } from "./payment-inbox.js";

/**
 * The payments process manager's due index, derived and rebuildable: per booking whose money has
 * something left to do, when to look at its payment's stream again and the attempts that met an
 * outage. What to do is never kept here: the stream says it (payment-next.ts `nextStep`). A fact
 * that asks for work makes its booking due at once, in the same write as the saga's checkpoint.
 */
export const PAYMENT_DUE = "payment_due";
export const DUE_INDEXES: readonly IndexSpec[] = [{ name: "by_due", keys: { dueAt: 1 } }];

export interface DueEntry extends Document {
  /** The reservation (its payment's stream is `payment-{_id}`). */
  readonly _id: string;
  readonly dueAt: string;
  readonly attempt: number;
  /**
   * A booking's end the saga could not decide as it followed it (a failure but a store outage), or
   * one an older version queued as a plan: decided first (`decideEnd`), then taken off.
   */
  readonly end?: PendingEnd;
}

/** The payment facts that ask the process for work. */
export const ASKS_WORK: ReadonlySet<EventType> = new Set<EventType>([
  "PaymentSettlementDecided",
  "PaymentCardSaved",
  "PaymentActionRequired",
  "PaymentVoidDecided",
]);

/** The bookings a batch makes due now (a repeat only makes them due again: the stream says what is left). */
export const dueIn = (events: readonly StoredDomainEvent[]): string[] => [
  ...new Set(
    events.flatMap(({ event }) =>
      ASKS_WORK.has(event.type) ? [(event.data as { reservationId: string }).reservationId] : [],
    ),
  ),
];

export const dueOps = (events: readonly StoredDomainEvent[], now: string): WriteOp[] =>
  dueIn(events).map((id) => dueAtOp(id, now, 0));

/** A booking due at `dueAt` after `attempt` outages; `end`: its end, decided first (DueEntry `end`). */
export const dueAtOp = (id: string, dueAt: string, attempt: number, end?: PendingEnd): WriteOp => ({
  op: "update",
  collection: PAYMENT_DUE,
  id,
  upsert: true,
  update: { $set: { dueAt, attempt, ...(end ? { end } : {}) } },
});

/** A payment fact as the process folds it: its id (the keys' root) and correlation. */
const recordOf = (recorded: Parameters<typeof decodeEvent>[0]): PaymentFactRecord => {
  const { id, event, metadata } = decodeEvent(recorded);
  return { id, event: event as PaymentStreamEvent, correlationId: metadata.correlationId };
};

/** A payment's stream read whole (a handful of facts) and folded for its process, with its facts' ids. */
export async function readPaymentProcess(
  eventStore: EventStore,
  reservationId: string,
): Promise<PaymentProcess> {
  const facts: PaymentFactRecord[] = [];
  for await (const recorded of eventStore.readStream(paymentStream(reservationId)))
    if (isPaymentStreamType(recorded.type)) facts.push(recordOf(recorded));
  return processOf(facts);
}

/** The marker of an index built (or rebuilt) from the payment streams: without it, the index is rebuilt. */
const BUILT = "built:from-payment-streams";

/**
 * A lost or emptied due index (no marker) rebuilt: the payment streams walked once, every booking
 * with a next step made due now (the clock work moves a `wait` to its time). Answers how many.
 */
export async function rebuildDue(eventStore: EventStore, store: DocumentStore, now: string): Promise<number> {
  if (await store.findById(PAYMENT_DUE, BUILT)) return 0;
  const processes = new Map<string, PaymentProcess>();
  for await (const recorded of eventStore.readAll({ filter: { streamPrefixes: ["payment-"] } })) {
    if (!isPaymentStreamType(recorded.type)) continue;
    const record = recordOf(recorded);
    const id = (record.event.data as { reservationId: string }).reservationId;
    processes.set(id, evolveProcess(processes.get(id) ?? NO_PROCESS, record));
  }
  const due = [...processes].flatMap(([id, process]) => (nextStep(process, now).kind === "none" ? [] : [id]));
  const built: WriteOp = { op: "replace", collection: PAYMENT_DUE, id: BUILT, document: { builtAt: now } };
  await store.write([...due.map((id) => dueAtOp(id, now, 0)), built]);
  return due.length;
}
