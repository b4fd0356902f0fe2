import type { BankState } from "./bank.js";

/**
 * The money as the provider sees it, one row per PaymentIntent, and the invariants a provider's
 * books keep: what was authorized is captured or released once the intent is done, nothing is
 * captured beyond the authorization, and refunds never exceed captures.
 */
export interface LedgerRow {
  readonly id: string;
  readonly status: string;
  readonly amount: number;
  readonly currency: string;
  readonly captureMethod: string;
  readonly offSession: boolean;
  readonly metadata: Record<string, string>;
  readonly authorized: number;
  readonly captured: number;
  readonly released: number;
  readonly refunded: number;
  /** Authorized and neither captured nor released yet (an intent in requires_capture). */
  readonly held: number;
}

export interface Ledger {
  readonly intents: LedgerRow[];
  readonly totals: { authorized: number; captured: number; released: number; refunded: number; held: number };
}

export function ledgerOf(state: BankState): Ledger {
  const intents = Object.values(state.intents).map(
    (i): LedgerRow => ({
      id: i.id,
      status: i.status,
      amount: i.amount,
      currency: i.currency,
      captureMethod: i.captureMethod,
      offSession: i.offSession,
      metadata: { ...i.metadata },
      authorized: i.authorized,
      captured: i.amountReceived,
      released: i.released,
      refunded: i.refunded,
      held: i.amountCapturable,
    }),
  );
  const sum = (key: "authorized" | "captured" | "released" | "refunded" | "held") =>
    intents.reduce((total, row) => total + row[key], 0);
  return {
    intents,
    totals: {
      authorized: sum("authorized"),
      captured: sum("captured"),
      released: sum("released"),
      refunded: sum("refunded"),
      held: sum("held"),
    },
  };
}

/** Each broken invariant as a sentence naming the intent; empty when the books balance. */
export function ledgerProblems(ledger: Ledger): string[] {
  const problems: string[] = [];
  for (const row of ledger.intents) {
    if (row.authorized !== row.captured + row.released + row.held)
      problems.push(
        `${row.id}: authorized ${row.authorized} ≠ captured ${row.captured} + released ${row.released} + held ${row.held}`,
      );
    if (row.refunded > row.captured)
      problems.push(`${row.id}: refunded ${row.refunded} > captured ${row.captured}`);
    if (row.captured > row.amount)
      problems.push(`${row.id}: captured ${row.captured} > amount ${row.amount}`);
  }
  return problems;
}
