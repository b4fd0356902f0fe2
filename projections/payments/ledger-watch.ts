import type { Document, DocumentStore, WriteOp } from "../../document-store/port.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { EventType } from "../../schemas/events.js";
import {
  ledgerFactOf,
  ledgerViolations,
  type MoneyEvent,
  type PaymentFact,
} from "../../write-side/payment/payment-ledger.js";

/**
 * The money ledger invariant, watched: per reservation, its payment facts and whether its
 * settlements are done, so each broken invariant of write-side/payment/payment-ledger.ts (which the
 * property tests also read) is counted: the `parking_payment_ledger_violations` gauge.
 */
export const PAYMENT_LEDGERS = "payment_ledgers";
const LEDGER_INDEXES = [{ name: "by_violations", keys: { violations: 1 } }] as const;

interface LedgerDocument extends Document, Ledger {
  readonly parkingLotId?: string;
  /** The events it has applied: a batch handled again after a crash applies nothing twice. */
  readonly seen?: readonly string[];
  readonly violations: number;
  readonly problems: readonly string[];
}

/**
 * A reservation's ledger as the watch keeps it: its money facts, the settlement steps decided (with
 * something to do) less the outcomes recorded, and whether a settlement of the booking's end was
 * decided (a refund alone does not settle).
 */
export type Ledger = { facts: PaymentFact[]; pending: number; ended: boolean };

export const LEDGER_EVENT_TYPES: ReadonlySet<EventType> = new Set<EventType>([
  "PaymentAuthorized",
  "PaymentSettlementDecided",
  "PaymentCaptured",
  "PaymentReleased",
  "PaymentRefunded",
  "OverstayCharged",
  "PaymentStepFailed",
]);

/** Each broken invariant of a ledger (payment-ledger.ts), settled once its end's steps are all recorded. */
export const ledgerProblemsOf = (ledger: Ledger): string[] =>
  ledgerViolations(ledger.facts, ledger.ended && ledger.pending <= 0);

/** The ledger of each reservation the events tell of, folded onto `ledgers` (the watch's batch onto what it kept). */
export function ledgersOf(
  events: readonly StoredDomainEvent[],
  ledgers: Map<string, Ledger> = new Map(),
): Map<string, Ledger> {
  for (const stored of events) {
    if (!LEDGER_EVENT_TYPES.has(stored.event.type)) continue;
    const id = reservationOf(stored);
    const ledger = ledgers.get(id) ?? { facts: [], pending: 0, ended: false };
    ledgers.set(id, ledger);
    apply(ledger, stored);
  }
  return ledgers;
}

const reservationOf = (stored: StoredDomainEvent): string =>
  (stored.event.data as { reservationId: string }).reservationId;

/** What one event does to a reservation's ledger: money moved, and each settlement step decided or recorded. */
function apply(ledger: Ledger, { event }: StoredDomainEvent): void {
  if (event.type === "PaymentSettlementDecided") {
    const { capture, release, offSession, refund } = event.data;
    ledger.pending += [capture, release, offSession, refund].filter((amount) => amount > 0).length;
    if (capture + release + offSession > 0) ledger.ended = true;
    return;
  }
  // A refused charge left for its customer (its intent named) is under way until they pay it.
  if (event.type === "PaymentStepFailed" && event.data.intentId !== undefined) return;
  if (event.type !== "PaymentStepFailed") ledger.facts.push(ledgerFactOf(event as MoneyEvent));
  if (event.type !== "PaymentAuthorized") ledger.pending -= 1;
}

/** The ledgers a batch changes, read, brought up to date and written back whole (idempotent per batch). */
export async function ledgerOps(
  events: readonly StoredDomainEvent[],
  store: DocumentStore,
): Promise<WriteOp[]> {
  const touched = events.filter((e) => LEDGER_EVENT_TYPES.has(e.event.type));
  if (touched.length === 0) return [];
  await store.ensureIndexes(PAYMENT_LEDGERS, LEDGER_INDEXES);
  const ids = [...new Set(touched.map(reservationOf))];
  const stored = await store.find<LedgerDocument>(
    PAYMENT_LEDGERS,
    { _id: { $in: ids } },
    { limit: ids.length },
  );
  const kept = new Map(
    ids.map((id) => [id, { facts: [] as PaymentFact[], pending: 0, ended: false, seen: new Set<string>() }]),
  );
  for (const { _id, facts, pending, ended, seen = [] } of stored)
    kept.set(_id, { facts: [...facts], pending, ended, seen: new Set(seen) });
  const unseen = touched.filter((e) => !kept.get(reservationOf(e))?.seen.has(e.id));
  // The lot beside each ledger, so the reconciliation finds the payments not final.
  const lots = new Map(
    touched.map((e) => [reservationOf(e), (e.event.data as { parkingLotId: string }).parkingLotId]),
  );
  ledgersOf(unseen, kept);
  for (const e of unseen) kept.get(reservationOf(e))?.seen.add(e.id);
  return [...kept].map(([id, ledger]) => {
    const problems = ledgerProblemsOf(ledger);
    const document = {
      parkingLotId: lots.get(id),
      ...ledger,
      seen: [...ledger.seen],
      violations: problems.length,
      problems,
    };
    return { op: "replace", collection: PAYMENT_LEDGERS, id, document } as WriteOp;
  });
}

/** How many reservations' ledgers break an invariant now (at most `limit` counted). */
export async function violatingLedgers(store: DocumentStore, limit = 10_000): Promise<number> {
  const found = await store.find<LedgerDocument>(PAYMENT_LEDGERS, { violations: { $gt: 0 } }, { limit });
  return found.length;
}
