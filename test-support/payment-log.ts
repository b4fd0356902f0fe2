import { expect } from "vitest";
import type { RecordedEvent } from "../event-store/port.js";
import {
  LEDGER_EVENT_TYPES,
  type Ledger,
  ledgerProblemsOf,
  ledgersOf,
} from "../projections/payments/ledger-watch.js";
import { decodeEvent, type StoredDomainEvent } from "../schemas/event-codec.js";
import type { EventType } from "../schemas/events.js";
import { ledgerOf } from "../write-side/payment/payment-ledger.js";
import { operatorHeaders } from "./auth.js";
import type { Ledger as ProviderLedger } from "./stripe/ledger.js";
import { type LoggedMoney, reconcile } from "./stripe/reconcile.js";

/**
 * The money a log tells of, checked for the payment tests (issue 38) with the service's own rules:
 * each reservation's ledger folded as the ledger watch folds it (projections/payments/ledger-watch.ts)
 * and judged by write-side/payment/payment-ledger.ts, and the provider's books reconciled with
 * it intent by intent (test-support/stripe/reconcile.ts).
 */

/** The log's money facts (payment events carry no personal fields: no data keys needed). */
export function paymentFactsOf(events: readonly RecordedEvent[]): StoredDomainEvent[] {
  return events.filter((e) => LEDGER_EVENT_TYPES.has(e.type as EventType)).map((e) => decodeEvent(e));
}

/** What a failed step would have moved: captures and charges in, refunds out, a release nothing. */
const SIGN = { capture: 1, overstay: 1, refund: -1, release: 0 } as const;

/**
 * Each reservation's broken ledger invariant, as a sentence naming it: authorized = captured +
 * released once settled, refunds ≤ captures (the ledger's rules), and what moved (captures and
 * off-session charges less refunds) equals what its settlements decided less the steps that failed.
 * `everySettled`: every booking has ended, so each authorized one must be settled with every
 * step recorded.
 */
export function ledgerAudit(events: readonly StoredDomainEvent[], everySettled: boolean): string[] {
  const decided = new Map<string, number>();
  const settlements = new Map<
    string,
    { capture: number; offSession: number; refund: number; release: number }
  >();
  for (const { id, event } of events) {
    if (event.type === "PaymentSettlementDecided") {
      const { reservationId, capture, offSession, refund, release } = event.data;
      settlements.set(id, { capture, offSession, refund, release });
      decided.set(reservationId, (decided.get(reservationId) ?? 0) + capture + offSession - refund);
    }
    // Issue 71: one left for its customer to pay (its intent named) is still due: under way, not failed.
    if (event.type === "PaymentStepFailed" && event.data.intentId === undefined) {
      const { reservationId, settlementId, step } = event.data;
      const settlement = settlements.get(settlementId);
      const amount = settlement ? { ...settlement, overstay: settlement.offSession }[step] : 0;
      decided.set(reservationId, (decided.get(reservationId) ?? 0) - SIGN[step] * amount);
    }
  }
  const problems: string[] = [];
  for (const [reservationId, ledger] of ledgersOf(events)) {
    for (const problem of ledgerProblemsOf(ledger)) problems.push(`${reservationId}: ${problem}`);
    const held = ledger.facts.some((f) => f.kind === "authorized");
    if (everySettled && held && !ledger.ended) problems.push(`${reservationId}: authorized, never settled`);
    if (ledger.pending !== 0) {
      if (everySettled) problems.push(`${reservationId}: ${ledger.pending} steps decided, not recorded`);
      continue;
    }
    const money = ledgerOf(ledger.facts);
    const moved = money.captured - money.refunded;
    if (moved !== (decided.get(reservationId) ?? 0))
      problems.push(`${reservationId}: ${moved} moved, ${decided.get(reservationId) ?? 0} decided`);
  }
  return problems;
}

/** The money of each intent as the log tells it (an off-session charge authorized and captured at once). */
export function loggedMoney(ledgers: ReadonlyMap<string, Ledger>): LoggedMoney[] {
  return [...ledgers.values()].flatMap((ledger) => ledgerOf(ledger.facts).intents);
}

/**
 * The provider's books against the log: every intent the log tells of agrees amount by amount, and
 * an intent it does not tell of moved no money (an authorization the lot never took, because it came
 * after the hold ran out, was released: nothing to tell).
 */
export function providerAgainstLog(provider: ProviderLedger, events: readonly StoredDomainEvent[]): string[] {
  const logged = loggedMoney(ledgersOf(events));
  const told = new Set(logged.map((row) => row.intentId));
  const untold = provider.intents.filter((i) => !told.has(i.id) && (i.captured > 0 || i.held > 0));
  return [
    ...untold.map((i) => `${i.id}: ${i.captured} captured, ${i.held} held, untold`),
    ...reconcile({ ...provider, intents: provider.intents.filter((i) => told.has(i.id)) }, logged),
  ];
}

/**
 * The end of every payment test: the provider saw no request or answer outside Stripe's contract,
 * its own books balance, and the service's ledger gauge (`/metrics`) settles at 0.
 */
export async function expectBooksClean(
  provider: { violations(): unknown[]; ledgerProblems(): unknown[] },
  serviceUrl: string,
  dataDir: string,
): Promise<void> {
  expect(provider.violations()).toEqual([]);
  expect(provider.ledgerProblems()).toEqual([]);
  const headers = await operatorHeaders(dataDir);
  const gauge = async () =>
    /^parking_payment_ledger_violations (\d+)$/m.exec(
      await (await fetch(`${serviceUrl}/metrics`, { headers })).text(),
    )?.[1];
  await expect.poll(gauge, { timeout: 10_000, interval: 200 }).toBe("0");
}
