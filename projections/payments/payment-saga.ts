import type { Document, WriteOp } from "../../document-store/port.js";
import type { Logger } from "../../platform/logger.js";
import type { EventType } from "../../schemas/events.js";
import type { PaymentState } from "../../write-side/payment/payment.js";
import { NO_PROCESS } from "../../write-side/payment/payment-next.js";
import { isOutage } from "../runtime/entry.js";
import type { Reactor, ReactorContext } from "../runtime/processor.js";
import { LEDGER_EVENT_TYPES, ledgerOps, violatingLedgers } from "./ledger-watch.js";
import {
  ASKS_WORK,
  DUE_INDEXES,
  type DueEntry,
  dueAtOp,
  dueOps,
  PAYMENT_DUE,
  readPaymentProcess,
  rebuildDue,
} from "./payment-due.js";
import {
  endsOf,
  erasedOps,
  FORGET_INDEXES,
  forgetAtOp,
  PAYMENT_CLIENT_SECRETS,
  PAYMENT_CUSTOMERS,
  PAYMENT_METHODS,
  type ProviderCustomerDoc,
  requestsOf,
  retryDelayMs,
  type SavedMethod,
} from "./payment-inbox.js";
import { plansToDue } from "./payment-plans-upgrade.js";
import { decideEnd, forgetCustomer, type NextResult, runNext } from "./payment-steps.js";
import { reconcileHolds } from "./reconcile-holds.js";
import type { StepDeps } from "./step-common.js";

export const PAYMENT_SAGA = "payment-saga";

/** The events that move money, the payment facts the ledger watch follows, and the erasures. */
const TYPES: ReadonlySet<EventType> = new Set<EventType>([
  "ParkingReserved",
  "ReservationCanceled",
  "ReservationCheckedOut",
  "ReservationNoShow",
  "PaymentIntentReleased",
  ...ASKS_WORK,
  ...LEDGER_EVENT_TYPES,
  "CustomerErased",
]);
/** How often the provider's open intents are reconciled with the lots (ms): hourly. */
const RECONCILE_EVERY_MS = 3_600_000;
/** How often the bookings due are looked at (ms), and how many are carried on at once. */
const DUE_EVERY_MS = 100;
const DUE_AT_ONCE = 8;
/** How often the ledger gauge is brought up to date (ms). */
const GAUGE_MS = 1_000;
const NONE: ReadonlySet<EventType> = new Set();

/** What the saga is given (the lot's command handler, as the system actor "payments", takes its commands). */
export interface PaymentSagaSettings extends Pick<StepDeps, "provider" | "send" | "lotState"> {
  /** PAYMENT_RETRY_SCALE: shrinks the backoff while the provider is out (tests). */
  readonly retryScale?: number;
  /** How long before a stay beyond a hold's lifetime its saved card is held (AUTHORIZE_BEFORE_STAY_HOURS). */
  readonly authorizeBeforeStayHours?: number;
}

/** A provider outage as the saga saw it: when its first step met it, and the retries since. */
export interface Outage {
  since: number;
  retries: number;
}

/**
 * The payments process manager, a reactor on the processor runtime. Following the log, it records a
 * booking's request and decides a paid booking's end on its payment's stream (the inbox); a fact
 * that asks for work makes its booking due (payment-due.ts), and an erasure marks its provider
 * customer to forget, in the same atomic write as its checkpoint. Its clock work (only in the
 * process holding its lease) carries them out (payment-steps.ts), each provider call under a key
 * derived from the fact (`stepKey`), each outcome a command the decider answers (a repeat appends
 * nothing): a kill -9, a lease taken over or a second replica asks the same thing and is answered
 * the same, with backoff while the provider is out. Without settings (PAYMENTS=none) it follows nothing.
 */
export function paymentSaga(settings: PaymentSagaSettings | undefined): Reactor {
  if (!settings) return { name: PAYMENT_SAGA, eventTypes: NONE, react: async () => [] };
  let indexed = false;
  let gaugedAt = 0;
  let reconciledAt = Date.now();
  const outage: { current?: Outage } = {};
  const ensureIndexes = async ({ documentStore: store, eventStore, now }: ReactorContext) => {
    if (indexed) return;
    await store.ensureIndexes(PAYMENT_DUE, DUE_INDEXES);
    await store.ensureIndexes(PAYMENT_CUSTOMERS, FORGET_INDEXES);
    await plansToDue(store, settings.send); // the plans older versions left, once
    await rebuildDue(eventStore, store, new Date(now()).toISOString()); // a lost or emptied index
    indexed = true;
  };
  return {
    name: PAYMENT_SAGA,
    eventTypes: TYPES,
    async react(events, context) {
      await ensureIndexes(context);
      for (const { event } of events)
        if (event.type === "PaymentIntentReleased")
          context.metrics?.paymentIntentsReleased.inc({ because: event.data.because });
      // The service's one clock (which tests and faketime drive): a booking is due by it, as a hold
      // before the stay is due at its `authorizeAt`.
      const now = new Date(context.now()).toISOString();
      return [
        ...(await requestPayments(events, now, context, settings)),
        ...(await decideEnds(events, now, context, settings)),
        ...dueOps(events, now),
        ...erasedOps(events, now),
        ...(await ledgerOps(events, context.documentStore)),
      ];
    },
    tick: {
      everyMs: DUE_EVERY_MS,
      run: async (context) => {
        await ensureIndexes(context);
        await runDue(context, settings, outage);
        if (Date.now() - reconciledAt >= RECONCILE_EVERY_MS) {
          reconciledAt = Date.now();
          await reconcileHolds({ ...stepDepsOf(context, settings), store: context.documentStore })
            .then((outcome) => {
              for (const [repair, count] of Object.entries(outcome.repaired))
                context.metrics?.paymentRepairs.inc({ repair }, count);
            })
            .catch((error) =>
              context.logger.warn({ err: error }, "the reconciliation of open intents failed; next hour"),
            );
        }
        if (Date.now() - gaugedAt < GAUGE_MS) return;
        gaugedAt = Date.now();
        context.metrics?.paymentLedgerViolations.set(await violatingLedgers(context.documentStore));
      },
    },
  };
}

/**
 * A booking that asks to be paid has its request recorded on its payment's stream as it is followed
 * (PaymentRequested: a repeat after a crash records nothing) and is made due in the same write as the
 * checkpoint. A store outage retries the batch; a request refused (its booking gone already) or
 * failing otherwise is logged: nothing is authorized, and the lot lets the booking's hold run out.
 */
async function requestPayments(
  events: Parameters<Reactor["react"]>[0],
  now: string,
  context: ReactorContext,
  settings: PaymentSagaSettings,
): Promise<WriteOp[]> {
  const due: WriteOp[] = [];
  for (const { command, correlationId } of requestsOf(events, now, settings.authorizeBeforeStayHours)) {
    const { reservationId, requestedBy: causationId } = command;
    const sent = await settings.send(command, { correlationId, causationId }).catch((error: unknown) => {
      if (isOutage(error)) throw error;
      return { ok: false as const, code: error instanceof Error ? error.message : String(error) };
    });
    if (sent.ok) due.push(dueAtOp(reservationId, now, 0));
    else
      context.logger.error(
        { reservationId, code: sent.code },
        "a booking's payment request was not recorded",
      );
  }
  return due;
}

/**
 * A paid booking's end is decided on its payment's stream as it is followed (a repeat decides
 * nothing). A store outage retries the batch; any other failure leaves the end on its booking's due
 * entry for the clock work, so one booking cannot stop the process.
 */
async function decideEnds(
  events: Parameters<Reactor["react"]>[0],
  now: string,
  context: ReactorContext,
  settings: PaymentSagaSettings,
): Promise<WriteOp[]> {
  const deps = stepDepsOf(context, settings);
  const later: WriteOp[] = [];
  for (const end of endsOf(events))
    await decideEnd(end, deps).catch((error: unknown) => {
      if (isOutage(error)) throw error;
      context.logger.warn(
        { err: error, reservationId: end.reservationId },
        "a booking's end waits for the clock work",
      );
      later.push(dueAtOp(end.reservationId, now, 0, end));
    });
  return later;
}

/** Carries out the bookings due and the provider customers to forget (a few at once), and takes off or reschedules each. */
async function runDue(
  context: ReactorContext,
  settings: PaymentSagaSettings,
  outage: { current?: Outage },
): Promise<void> {
  const store = context.documentStore;
  // Due by the service's clock (a hold before the stay at its `authorizeAt`) or, for a retry's
  // backoff, by the time that really passed: one clock in production, apart where tests drive it.
  const by = new Date(Math.max(context.now(), Date.now())).toISOString();
  const first = (at: string) => ({ limit: DUE_AT_ONCE, sort: { [at]: 1 as const } });
  const due = await store.find<DueEntry>(PAYMENT_DUE, { dueAt: { $lte: by } }, first("dueAt"));
  const forgets = await store.find<ProviderCustomerDoc>(
    PAYMENT_CUSTOMERS,
    { forgetAt: { $lte: by } },
    first("forgetAt"),
  );
  if (due.length === 0 && forgets.length === 0) return;
  const deps = stepDepsOf(context, settings);
  // One to-do: done, its `done` writes; to look again later (`until`), it moves there (`at`); the
  // provider or a store out, it backs off.
  const runOne = async (
    { id, kind, attempt }: { readonly id: string; readonly kind: string; readonly attempt: number },
    run: () => Promise<NextResult>,
    done: () => Promise<WriteOp[]>,
    at: (at: string, attempt: number) => WriteOp,
  ): Promise<RunResult> => {
    let result: RunResult;
    try {
      const next = await run();
      if (typeof next === "object") {
        await store.write([at(next.until, 0)]);
        return "done";
      }
      result = next === "done" ? "done" : "provider-out";
    } catch (error) {
      // The lot's store is out (or the command failed otherwise): the same, later.
      context.logger.warn({ err: error, id, kind }, "payment step failed; retried later");
      result = "store-out";
    }
    context.metrics?.paymentPlans.inc({ kind, outcome: result === "done" ? "done" : "retry" });
    const later = new Date(Date.now() + retryDelayMs(attempt + 1, settings.retryScale ?? 1)).toISOString();
    await store.write(result === "done" ? await done() : [at(later, attempt + 1)]);
    return result;
  };
  // A booking due: its end first if one waits on its entry (then off it), then its stream's next steps.
  const booking = ({ _id: id, attempt, end }: DueEntry) => {
    // What runNext read last (its stream when nothing was left to do) tells doneWith whether it is settled.
    let read = NO_PROCESS;
    const reading = { ...deps, paymentProcess: async (r: string) => (read = await deps.paymentProcess(r)) };
    return runOne(
      { id, kind: end ? "end" : "next", attempt },
      async () => {
        if (end && (await decideEnd(end, deps)) === "done")
          await store.write([{ op: "update", collection: PAYMENT_DUE, id, update: { $unset: { end: "" } } }]);
        return runNext(id, reading);
      },
      async () => doneWith(id, read.payment),
      (at, n) => dueAtOp(id, at, n),
    );
  };
  // An erased customer's provider customer: deleted there, its document then (forgetCustomer drops it).
  const forget = ({ _id: ref, attempt = 0 }: ProviderCustomerDoc) =>
    runOne(
      { id: ref, kind: "forget", attempt },
      () => forgetCustomer(ref, deps),
      async () => [],
      (at, n) => forgetAtOp(ref, at, n),
    );
  const results = await Promise.all([...due.map(booking), ...forgets.map(forget)]);
  noteOutage(outage, results, context.logger);
}

/** One WARN when steps start meeting a provider outage, one INFO with the retries when one goes through. */
export function noteOutage(
  outage: { current?: Outage },
  results: readonly RunResult[],
  logger: Pick<Logger, "warn" | "info">,
): void {
  const met = results.filter((r) => r === "provider-out").length;
  if (met > 0 && !outage.current) {
    outage.current = { since: Date.now(), retries: met };
    logger.warn(
      { plans: met },
      "the payment provider is out: payment steps wait and are retried with the same idempotency keys",
    );
    return;
  }
  if (!outage.current) return;
  outage.current.retries += met;
  if (!results.includes("done")) return;
  const { since, retries } = outage.current;
  outage.current = undefined;
  logger.info({ retries, outageMs: Date.now() - since }, "the payment provider is back");
}

function stepDepsOf(context: ReactorContext, settings: PaymentSagaSettings): StepDeps {
  const store = context.documentStore;
  return {
    provider: settings.provider,
    lotState: settings.lotState,
    send: settings.send,
    logger: context.logger,
    now: () => new Date(context.now()).toISOString(),
    paymentProcess: (reservationId) => readPaymentProcess(context.eventStore, reservationId),
    oldSavedMethod: async (reservationId) => {
      const { _id, ...saved } =
        (await store.findById<SavedMethod & Document>(PAYMENT_METHODS, reservationId)) ?? {};
      return _id === undefined ? undefined : (saved as SavedMethod);
    },
    customers: {
      get: async (ref) => (await store.findById<ProviderCustomerDoc>(PAYMENT_CUSTOMERS, ref))?.customerId,
      keep: (ref, customerId) =>
        store.write([{ op: "replace", collection: PAYMENT_CUSTOMERS, id: ref, document: { customerId } }]),
      drop: (ref) => store.write([{ op: "delete", collection: PAYMENT_CUSTOMERS, id: ref }]),
    },
    keepClientSecret: (plan, clientSecret) => store.write([keepSecretOp(plan.reservationId, clientSecret)]),
  };
}

/** How a to-do went: done, the provider out (retried), or a store out (retried). */
export type RunResult = "done" | "provider-out" | "store-out";

/** A booking's money done: its entry off and, its end settled, its saved method (kept no longer). */
function doneWith(id: string, payment: PaymentState): WriteOp[] {
  const settled = payment.kind === "open" && payment.settled;
  return [
    { op: "delete", collection: PAYMENT_DUE, id },
    ...(settled ? [{ op: "delete" as const, collection: PAYMENT_METHODS, id }] : []),
  ];
}

/** A client secret kept: the latest for the payment that waits, and every one, so each refused charge keeps its own. */
export const keepSecretOp = (reservationId: string, clientSecret: string): WriteOp => ({
  op: "update",
  collection: PAYMENT_CLIENT_SECRETS,
  id: reservationId,
  upsert: true,
  update: { $set: { clientSecret }, $addToSet: { clientSecrets: clientSecret } },
});
