import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Fact, readRecords } from "./payer.js";
import { reconcile } from "./reconcile.js";
import { type StripeServer, startStripeServer } from "./server.js";

/**
 * The provider's side of "exactly once per fact": real caller processes (payer.ts, the Stripe
 * adapter with the fact's idempotency key) against the Stripe-contract server, killed -9 between
 * the provider's answer and their record of it, through an outage, and two at once on the same
 * facts. At the end the provider's books and the callers' records agree intent by intent (no
 * second charge, no money held and forgotten) and no request broke Stripe's contract.
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const running = new Set<ChildProcess>();
let stripe: StripeServer;
let dir: string;

beforeAll(async () => {
  stripe = await startStripeServer();
  dir = mkdtempSync(join(tmpdir(), "provider-chaos-"));
});
afterEach(async () => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
  stripe.holdAnswers(false);
  stripe.setResponseDelay(0);
  await stripe.setOutage("none");
});
afterAll(async () => {
  await stripe.close();
  rmSync(dir, { recursive: true, force: true });
});

function facts(name: string, count: number, declined: number[] = []): { file: string; facts: Fact[] } {
  const list = Array.from({ length: count }, (_, i) => ({
    eventId: `${name}-ev-${i}`,
    reservationId: `${name}-r-${i}`,
    amount: 1000 + i,
    paymentMethod: declined.includes(i) ? "pm_card_chargeDeclined" : "pm_card_visa",
  }));
  const file = join(dir, `${name}-facts.json`);
  writeFileSync(file, JSON.stringify(list));
  return { file, facts: list };
}

function payer(
  factsFile: string,
  recordFile: string,
): { child: ChildProcess; exited: Promise<number | string> } {
  const child = spawn(process.execPath, ["--import", "tsx", "test-support/stripe/payer.ts"], {
    cwd: ROOT,
    env: { ...process.env, STRIPE_API_BASE: stripe.url, FACTS_FILE: factsFile, RECORD_FILE: recordFile },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve(code === 0 || code === null ? (code ?? signal ?? -1) : `${code}\n${output}`);
    }),
  );
  return { child, exited };
}

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The provider's rows for these facts, and the callers' records as logged money. */
function books(prefix: string, recordFiles: string[]) {
  const ledger = stripe.ledger();
  const mine = {
    ...ledger,
    intents: ledger.intents.filter((i) => i.metadata.reservationId?.startsWith(`${prefix}-`)),
  };
  const records = recordFiles.flatMap(readRecords);
  const byIntent = new Map<
    string,
    { intentId: string; authorized: number; captured: 0; released: 0; refunded: 0 }
  >();
  for (const r of records)
    if (r.intentId)
      byIntent.set(r.intentId, {
        intentId: r.intentId,
        authorized: r.amount,
        captured: 0,
        released: 0,
        refunded: 0,
      });
  return { mine, records, problems: reconcile(mine, [...byIntent.values()]) };
}

describe("exactly one charge per fact at the provider (real caller processes)", () => {
  it("kill -9 between the provider's answer and the record, then the provider down: the restarted caller is answered the first charge", async () => {
    const { file, facts: list } = facts("kill", 6, [4]);
    const record = join(dir, "kill-record.jsonl");
    stripe.holdAnswers(true);
    const applied = stripe.nextApplied(
      (r) => r.idempotencyKey?.startsWith("parking:kill-ev-0:authorize") === true,
    );
    const first = payer(file, record);
    const answered = await applied; // the provider charged; its answer is held back
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    stripe.holdAnswers(false);
    expect(readRecords(record)).toEqual([]); // the caller died before it recorded anything
    await stripe.setOutage(503);
    const second = payer(file, record);
    await until(() =>
      stripe.requests().some((r) => r.status === 503 && r.idempotencyKey === "parking:kill-ev-0:authorize"),
    );
    await stripe.setOutage("none");
    expect(await second.exited).toBe(0);
    const { mine, records, problems } = books("kill", [record]);
    expect(records.map((r) => r.eventId)).toEqual(list.map((f) => f.eventId));
    expect(records[0]?.intentId).toBe(answered.body.id);
    expect(records.filter((r) => r.status === "declined").map((r) => r.eventId)).toEqual(["kill-ev-4"]);
    expect(mine.intents).toHaveLength(6); // the declined fact made an intent that holds nothing
    expect(new Set(mine.intents.map((i) => i.metadata.reservationId)).size).toBe(6);
    expect(problems).toEqual([]);
    // Applied once (by the killed caller); the restarted one was answered from the saved answer.
    const keyed = stripe.requests().filter((r) => r.idempotencyKey === "parking:kill-ev-0:authorize");
    expect(keyed.filter((r) => r.status === 200 && !r.replayed)).toHaveLength(1);
    expect(keyed.some((r) => r.status === 200 && r.replayed)).toBe(true);
    expect(stripe.ledgerProblems()).toEqual([]);
    expect(stripe.violations()).toEqual([]);
  });

  it("two callers on the same facts at once: each fact charged once, both told the same intent", async () => {
    const { file, facts: list } = facts("pair", 20);
    const a = join(dir, "pair-a.jsonl");
    const b = join(dir, "pair-b.jsonl");
    stripe.setResponseDelay(5);
    const [one, two] = [payer(file, a), payer(file, b)];
    expect(await one.exited).toBe(0);
    expect(await two.exited).toBe(0);
    const { mine, problems } = books("pair", [a, b]);
    expect(mine.intents).toHaveLength(list.length);
    const intentOf = (records: ReturnType<typeof readRecords>) =>
      new Map(records.map((r) => [r.eventId, r.intentId]));
    expect(intentOf(readRecords(a))).toEqual(intentOf(readRecords(b)));
    expect(problems).toEqual([]);
    expect(mine.intents.reduce((sum, i) => sum + i.authorized, 0)).toBe(
      list.reduce((sum, f) => sum + f.amount, 0),
    );
    expect(stripe.ledgerProblems()).toEqual([]);
    expect(stripe.violations()).toEqual([]);
  });
});
