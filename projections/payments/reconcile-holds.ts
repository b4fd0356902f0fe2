import type { Document, DocumentStore } from "../../document-store/port.js";
import type { RecordHoldLapsed } from "../../schemas/commands.js";
import type { ParkingLotState } from "../../write-side/parking-lot/decider.js";
import { awaitingPayment } from "../../write-side/parking-lot/payments.js";
import { decideHoldLapsed } from "../../write-side/payment/payment.js";
import { CARD_HOLD_LIFETIME_MS } from "../../write-side/payment/payment-policy.js";
import { repairsOf } from "../../write-side/payment/payment-process.js";
import { intentInUse } from "../../write-side/payment/unpaid-intents.js";
import { PAYMENT_LEDGERS } from "./ledger-watch.js";
import type { ProviderIntent } from "./provider.js";
import { causeOf, type PaymentCommand, releaseIntent, type StepDeps } from "./step-common.js";

/**
 * The reconciliation of the provider's intents with the payments (issues 47 and 71), hourly on the
 * payments process manager and on demand (`replay reconcile-holds`). Each intent of this deployment
 * is compared with the payment of the booking its metadata names (`compare`):
 * - one still open (neither captured nor canceled) that no booking counts on (write-side's
 *   `intentInUse`) is canceled, the release recorded (PaymentIntentReleased, `reconciliation`);
 * - one the provider canceled while the payment counts on it unsettled is recorded lapsed
 *   (RecordHoldLapsed, `reconciliation`): no view reads `authorized` for money not held;
 * - what else the payment misses of what the provider did (write-side's `repairsOf`: an
 *   authorization whose word was lost, a capture applied though it was recorded failed) is sent
 *   through the payment's decider, each repair logged.
 * Two walks feed it, each bounded per round and going on from a cursor kept in the document store
 * (RECONCILIATION, beside the process manager's plans), so a restart continues where it stopped:
 * the provider's intents of the last eight days (a hold lapses after seven), a page at a time (the
 * provider's one listing), which finds intents no payment knows; and every payment not final (its
 * ledger not ended, a step under way, or its books broken: PAYMENT_LEDGERS), its intent retrieved,
 * however old (with each intent a refused charge left for its customer, under way until paid).
 */
export interface ReconcileDeps
  extends Pick<StepDeps, "provider" | "send" | "logger" | "now" | "lotState" | "paymentProcess"> {
  /** The walks' cursors and the payments' ledgers; absent (the CLI): the intents from the start, no payments. */
  readonly store?: DocumentStore;
}

export interface ReconcileOptions {
  /** A pending intent younger than this (seconds) is left for the next round (FRESH_SECONDS). */
  readonly freshSeconds?: number;
  /** Pages of the provider's intents per round (PAGES_PER_ROUND; Infinity: to the end). */
  readonly pages?: number;
  /** Intents per page, and payments per round (PAGE_SIZE). */
  readonly pageSize?: number;
}

export interface ReconcileOutcome {
  /** Open intents with this service's metadata. */
  readonly open: number;
  /** Canceled because no booking counted on them. */
  readonly released: number;
  /** Left open: the provider was out (tried again next time). */
  readonly failed: number;
  /** Authorizations bookings counted on that the provider had canceled, recorded lapsed. */
  readonly lapsed: number;
  /** What the provider did that the payments missed, recorded (by the command sent). */
  readonly repaired: Readonly<Record<string, number>>;
  /** Payments not final compared with their intents this round. */
  readonly payments: number;
}

/** Where the walks go on next round (absent: from the start), one document in the store. */
export const RECONCILIATION = "payment_reconciliation";
const CURSOR_ID = "cursor";
interface Cursor {
  /** The provider's intent the next page lists after. */
  readonly intentsAfter?: string;
  /** The payment (reservation id) the next round's payments come after. */
  readonly paymentsAfter?: string;
}

/** A hold's lifetime and a day: every intent that may still hold money, or has just lapsed. */
const LOOKBACK_SECONDS = CARD_HOLD_LIFETIME_MS / 1000 + 24 * 3600;
/** Per round, at most this many pages of the provider's intents, and payments, of PAGE_SIZE. */
export const PAGES_PER_ROUND = 10;
export const PAGE_SIZE = 100;
/** A pending intent younger than this may be one just created, not yet recorded: left for the next round. */
const FRESH_SECONDS = 600;

/** One round's comparing: its deps, its counts (the outcome), the lots read once each, its bounds. */
interface Round {
  readonly deps: ReconcileDeps;
  readonly counts: { -readonly [K in keyof ReconcileOutcome]: ReconcileOutcome[K] } & {
    readonly repaired: Record<string, number>;
  };
  readonly lots: Map<string, Promise<ParkingLotState>>;
  readonly fresh: number;
  readonly pages: number;
  readonly pageSize: number;
}

/** The reconciliation's commands' cause, as a step's fact would be (`causeOf`). */
const cause = (intentId: string, kind: string) => ({
  correlationId: `reconcile:${intentId}`,
  eventId: `reconcile:${intentId}:${kind}`,
});

/** Sends a command of the reconciliation's, answering whether it recorded anything. */
async function recorded(round: Round, command: PaymentCommand, intentId: string, kind: string) {
  const sent = await round.deps.send(
    { ...command, now: round.deps.now() } as PaymentCommand,
    causeOf(cause(intentId, kind)),
  );
  return sent.ok && sent.recorded;
}

/** A repair's name (its log's `repair`, the metric's label); an outcome's is its step's (`captured`, `released`). */
const REPAIRED = { AuthorizePayment: "authorized", RecordLateCharge: "collected" } as const;

/** One intent of this deployment's compared with the payment its metadata names (see above). */
async function compare(round: Round, intent: ProviderIntent): Promise<void> {
  const { deps, counts } = round;
  const { parkingLotId, reservationId } = intent.metadata;
  const { intentId } = intent;
  const lot =
    round.lots.get(parkingLotId) ??
    (round.lots.set(parkingLotId, deps.lotState(parkingLotId)).get(parkingLotId) as Promise<ParkingLotState>);
  const awaiting = awaitingPayment(await lot, reservationId);
  const { payment } = await deps.paymentProcess(reservationId);
  const open = intent.status === "pending" || intent.status === "authorized";
  if (open) counts.open++;
  if (open && !intentInUse(payment, awaiting, intentId)) {
    if (intent.status === "pending" && intent.created > round.fresh) return;
    const by = { parkingLotId, reservationId, ...cause(intentId, "void") };
    const result = await releaseIntent(by, intentId, "reconciliation", `parking:${by.eventId}`, deps);
    if (result === "done") counts.released++;
    else counts.failed++;
    return;
  }
  if (intent.status === "canceled") {
    const command = { type: "RecordHoldLapsed", ...intent.metadata, intentId, because: "reconciliation" };
    // Sent only when the payment's decider would record it: it counts, unsettled, on that authorization.
    const decided = decideHoldLapsed(payment, { ...(command as RecordHoldLapsed), now: deps.now() });
    const lapses = decided.ok && decided.events.length > 0;
    if (lapses && (await recorded(round, command as PaymentCommand, intentId, "lapsed"))) counts.lapsed++;
    return;
  }
  for (const repair of repairsOf(payment, awaiting, intent)) {
    const kind = repair.type === "RecordPaymentOutcome" ? `${repair.step}d` : REPAIRED[repair.type];
    if (!(await recorded(round, repair as PaymentCommand, intentId, kind))) continue;
    counts.repaired[kind] = (counts.repaired[kind] ?? 0) + 1;
    deps.logger.warn(
      { ...intent.metadata, intentId, repair: kind, provider: intent.status },
      "the reconciliation recorded what the provider did",
    );
  }
}

/** The provider's intents of the lookback, at most `pages` pages from `after`; where the next round goes on. */
async function walkIntents(
  round: Round,
  after: string | undefined,
  keep: (after: string | undefined) => Promise<void>,
): Promise<void> {
  const { provider, now } = round.deps;
  const since = Math.floor(Date.parse(now()) / 1000) - LOOKBACK_SECONDS;
  let next = after;
  for (let page = 0; page < round.pages; page++) {
    const listed = await provider.listIntents(since, round.pageSize, next);
    if (!listed.ok) throw new Error(`listing the provider's intents failed: ${listed.message}`);
    for (const intent of listed.value.intents) await compare(round, intent);
    next = listed.value.next;
    await keep(next);
    if (next === undefined) return;
  }
}

/** Every payment not final, by its ledger: the watch's (ledger-watch.ts) not ended, under way or broken. */
const NOT_FINAL = { $or: [{ ended: false }, { pending: { $gt: 0 } }, { violations: { $gt: 0 } }] };

/** At most a page of the payments not final after `after`, each compared with its intent as it stands now. */
async function walkPayments(round: Round, store: DocumentStore, after?: string) {
  const { provider, paymentProcess } = round.deps;
  const filter = after === undefined ? NOT_FINAL : { ...NOT_FINAL, _id: { $gt: after } };
  const ledgers = await store.find<{ _id: string }>(PAYMENT_LEDGERS, filter, {
    sort: { _id: 1 },
    limit: round.pageSize,
  });
  for (const { _id: reservationId } of ledgers) {
    const { payment } = await paymentProcess(reservationId);
    if (payment.kind !== "open" || payment.intentId === undefined) continue;
    // And each intent a refused charge left for its customer, however long they take to pay it.
    const due = (payment.comebacks ?? []).map((comeback) => comeback.intentId);
    for (const intentId of [payment.intentId, ...due]) {
      const found = await provider.retrieveIntent(intentId);
      if (!found.ok) throw new Error(`retrieving the provider's intent failed: ${found.message}`);
      if (found.value) await compare(round, found.value);
    }
    round.counts.payments++;
  }
  return ledgers.length === round.pageSize ? ledgers.at(-1)?._id : undefined;
}

export async function reconcileHolds(
  deps: ReconcileDeps,
  options: ReconcileOptions = {},
): Promise<ReconcileOutcome> {
  const { store } = deps;
  const nowSeconds = Math.floor(Date.parse(deps.now()) / 1000);
  const round: Round = {
    deps,
    counts: { open: 0, released: 0, failed: 0, lapsed: 0, payments: 0, repaired: {} },
    lots: new Map(),
    fresh: nowSeconds - (options.freshSeconds ?? FRESH_SECONDS),
    pages: options.pages ?? PAGES_PER_ROUND,
    pageSize: options.pageSize ?? PAGE_SIZE,
  };
  let cursor: Cursor =
    (store ? await store.findById<Document & Cursor>(RECONCILIATION, CURSOR_ID) : null) ?? {};
  const keep = async (next: Cursor) => {
    cursor = next;
    const document = Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined));
    await store?.write([{ op: "replace", collection: RECONCILIATION, id: CURSOR_ID, document }]);
  };
  await walkIntents(round, cursor.intentsAfter, (intentsAfter) => keep({ ...cursor, intentsAfter }));
  if (store) {
    const paymentsAfter = await walkPayments(round, store, cursor.paymentsAfter);
    await keep({ ...cursor, paymentsAfter });
  }
  deps.logger.info(round.counts, "reconciled the provider's intents and the payments not final");
  return round.counts;
}
