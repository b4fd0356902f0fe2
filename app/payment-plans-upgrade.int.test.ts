import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { extract } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYMENT_DUE } from "../projections/payments/payment-due.js";
import { PAYMENT_METHODS } from "../projections/payments/payment-inbox.js";
import { PAYMENT_PLANS } from "../projections/payments/payment-plans-upgrade.js";
import { PLANS_ENV, STRIPE_WEBHOOK_SECRET } from "../test-support/fixtures/2374f50-payment-plans/manifest.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import { type StripeServer, startStripeServer } from "../test-support/stripe/server.js";
import type { RunningService } from "./server.js";

/**
 * Issue 68 item 4: a DATA_DIR written by main at 2374f50 (test-support/fixtures/2374f50-payment-plans/,
 * its generate.ts run on that code), stopped with a hold plan waiting for its time, a settle plan
 * and an authorize plan retrying while Stripe was unreachable. Today's service turns the settle and
 * hold plans into due entries at start and carries each on from its payment's stream with the same
 * idempotency keys the plans would have used (`parking:<fact id>:<step>`), the overstay charged to
 * the saved card the settle plan alone carried; the authorize plan goes on as it was.
 */
const FIXTURE = join(import.meta.dirname, "../test-support/fixtures/2374f50-payment-plans");
interface OldPlan {
  readonly eventId: string;
  readonly kind: string;
  readonly reservationId: string;
}
const { stoppedAt, ids, plans } = JSON.parse(readFileSync(join(FIXTURE, "ids.json"), "utf8")) as {
  stoppedAt: string;
  ids: { farAhead: string; settling: string; pending: string };
  plans: OldPlan[];
};
const planOf = (kind: string) => plans.find((p) => p.kind === kind) as OldPlan;

let now = Date.parse(stoppedAt);
let stripe: StripeServer;
let service: RunningService;
let remove: () => void;

beforeAll(async () => {
  const data = tempDataDir("plans-2374f50-");
  remove = data.remove;
  const dataDir = join(data.dir, "data");
  await import("node:fs").then((fs) => fs.mkdirSync(dataDir));
  await extract({ file: join(FIXTURE, "data-dir.tar.gz"), cwd: dataDir });
  const state = join(data.dir, "stripe-state.json");
  copyFileSync(join(FIXTURE, "stripe-state.json"), state);
  stripe = await startStripeServer({ webhookSecret: STRIPE_WEBHOOK_SECRET, stateFile: state });
  service = await startTestService(
    dataDir,
    { ...PLANS_ENV, STRIPE_API_BASE: stripe.url },
    { clock: () => new Date(now) },
  );
  stripe.configureWebhooks({ url: `${service.url}/payments/webhooks/stripe`, secret: STRIPE_WEBHOOK_SECRET });
}, 60_000);
afterAll(async () => {
  await service?.shutdown("test over");
  await stripe?.close();
  remove?.();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}
const keys = () => stripe.requests().flatMap((r) => (r.idempotencyKey ? [r.idempotencyKey] : []));
const paymentOf = async (id: string) =>
  (await call(service.url, "GET", `/reservations/${id}`)).body.payment as Record<string, unknown> | undefined;

describe("payment plans left by 2374f50", () => {
  it("continue from the payment streams, each step under the key its plan would have used", async () => {
    const store = service.services.documentStore;
    if (!store) throw new Error("no document store");
    const settle = planOf("settle").eventId;
    await until("the settlement carried out", async () => keys().includes(`parking:${settle}:overstay`));
    expect(keys()).toContain(`parking:${settle}:capture`);
    // The overstay was charged to the card only the settle plan carried (6,000 captured + 6,000 off-session).
    await until("the overstay recorded", async () => (await paymentOf(ids.settling))?.captured === 12_000);
    expect(await paymentOf(ids.settling)).toMatchObject({ state: "captured", captured: 12_000 });
    await until(
      "the authorize plan carried on",
      async () => (await paymentOf(ids.pending))?.state === "authorized",
    );
    expect(keys()).toContain(`parking:${planOf("authorize").eventId}:authorize`);
    // No settle or hold plan is left: the booking saved ahead is due at its hold's time, in the due index.
    await until("the plans gone", async () => (await store.find(PAYMENT_PLANS, {})).length === 0);
    const entries = () => store.find(PAYMENT_DUE, { dueAt: { $exists: true } });
    const waiting = async () => (await entries()).map((e) => `${e._id} ${(e as { dueAt?: string }).dueAt}`);
    await until("only the hold waits", async () => (await waiting()).length === 1);
    await until(
      "due at its hold's time",
      async () => (await waiting())[0] === `${ids.farAhead} 2026-12-10T00:00:00.000Z`,
    );
    expect(await paymentOf(ids.farAhead)).toMatchObject({ state: "card-saved" });

    now = Date.parse("2026-12-10T00:01:00.000Z"); // a day before its stay: its hold
    await until(
      "the hold before the stay",
      async () => (await paymentOf(ids.farAhead))?.state === "authorized",
    );
    expect(keys()).toContain(`parking:${planOf("hold").eventId}:authorize`);
    // Its hold made, nothing waits for it; its card is kept for its settlement, the settled booking's is gone.
    // (The pending booking's window has passed by now: its no-show is settled meanwhile.)
    await until("its entry off", async () => (await store.findById(PAYMENT_DUE, ids.farAhead)) === null);
    const methods = (await store.find(PAYMENT_METHODS, {})).map((m) => m._id);
    expect(methods).toContain(ids.farAhead);
    expect(methods).not.toContain(ids.settling);
  }, 60_000);
});
