import type { Ledger } from "./ledger.js";

/**
 * The provider's books against the service's log, for the chaos tests: once a scenario has
 * settled, every intent that moved money at the provider must be told by the log with the same
 * amounts (authorized, captured, released, refunded), and the log must tell of no money the
 * provider never moved. A difference is a double charge, money held and forgotten, or a fact
 * without a payment.
 */
export interface LoggedMoney {
  readonly intentId: string;
  readonly authorized: number;
  readonly captured: number;
  readonly released: number;
  readonly refunded: number;
}

const KEYS = ["authorized", "captured", "released", "refunded"] as const;

export function reconcile(provider: Ledger, logged: readonly LoggedMoney[]): string[] {
  const problems: string[] = [];
  const byIntent = new Map(logged.map((row) => [row.intentId, row]));
  for (const row of provider.intents) {
    const told = byIntent.get(row.id);
    byIntent.delete(row.id);
    if (!told) {
      if (row.authorized > 0 || row.captured > 0)
        problems.push(
          `${row.id} (${JSON.stringify(row.metadata)}): the provider holds or took ${row.authorized} (${row.status}) and the log tells nothing of it`,
        );
      continue;
    }
    for (const key of KEYS)
      if (row[key] !== told[key])
        problems.push(`${row.id}: ${key} ${row[key]} at the provider, ${told[key]} in the log`);
  }
  for (const told of byIntent.values())
    problems.push(`${told.intentId}: the log tells of a payment the provider never made`);
  return problems;
}
