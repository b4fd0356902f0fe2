import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Authorization,
  type AuthorizeRequest,
  type PaymentProvider,
  type ProviderOutcome,
  stepKey,
} from "../../projections/payments/provider.js";
import { stripeClient, stripeProvider } from "../../projections/payments/stripe-provider.js";

/**
 * A stand-in caller for the provider chaos tests, run as its own process (so it can be killed -9):
 * it authorizes each fact of FACTS_FILE through the Stripe adapter with the fact's idempotency key
 * (`stepKey(eventId, "authorize")`), retrying with backoff while the provider is down, and appends
 * each outcome to RECORD_FILE (one JSON line, written after the answer: a kill between the
 * provider's answer and this line is the window under test). Facts already recorded are skipped.
 */
export interface Fact {
  readonly eventId: string;
  readonly reservationId: string;
  readonly amount: number;
  readonly paymentMethod: string;
}

export interface Recorded {
  readonly eventId: string;
  readonly status: "authorized" | "declined";
  readonly intentId?: string;
  readonly amount: number;
  readonly pid: number;
}

/** Holds `amount` on the payment method (manual capture): the intent created, then confirmed with it. */
export async function authorize(
  provider: PaymentProvider,
  request: AuthorizeRequest,
): Promise<ProviderOutcome<Authorization>> {
  const created = await provider.createIntent(request);
  if (!created.ok || !request.paymentMethod) return created;
  return provider.confirm(created.value.intentId, request.paymentMethod, `${request.idempotencyKey}:confirm`);
}

export function readRecords(file: string): Recorded[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Recorded);
}

async function main(): Promise<void> {
  const { STRIPE_API_BASE, FACTS_FILE, RECORD_FILE } = process.env;
  if (!STRIPE_API_BASE || !FACTS_FILE || !RECORD_FILE)
    throw new Error("STRIPE_API_BASE, FACTS_FILE, RECORD_FILE");
  const provider = stripeProvider(
    stripeClient({ secretKey: "sk_test_payer", apiBase: STRIPE_API_BASE, timeoutMs: 5_000 }),
    process.env.STRIPE_INSTANCE ?? "parking-reservations",
  );
  const facts = JSON.parse(readFileSync(FACTS_FILE, "utf8")) as Fact[];
  const done = new Set(readRecords(RECORD_FILE).map((r) => r.eventId));
  for (const fact of facts) {
    if (done.has(fact.eventId)) continue;
    for (let attempt = 0; ; attempt++) {
      const outcome = await authorize(provider, {
        amount: fact.amount,
        currency: "KRW",
        paymentMethod: fact.paymentMethod,
        metadata: { reservationId: fact.reservationId, parkingLotId: "lot-chaos" },
        idempotencyKey: stepKey(fact.eventId, "authorize"),
      });
      if (!outcome.ok && outcome.kind === "retryable") {
        await sleep(Math.min(20 * 2 ** attempt, 500));
        continue;
      }
      if (!outcome.ok && outcome.kind === "refused") throw new Error(`refused: ${outcome.message}`);
      const line: Recorded = outcome.ok
        ? {
            eventId: fact.eventId,
            status: "authorized",
            intentId: outcome.value.intentId,
            amount: outcome.value.amount,
            pid: process.pid,
          }
        : { eventId: fact.eventId, status: "declined", amount: 0, pid: process.pid };
      appendFileSync(RECORD_FILE, `${JSON.stringify(line)}\n`);
      break;
    }
  }
  console.log("payer done");
}

if (process.argv[1]?.endsWith("payer.ts")) await main();
