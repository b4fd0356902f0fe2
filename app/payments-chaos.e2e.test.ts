import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { customerHeaders } from "../test-support/auth.js";
import {
  expectBooksClean,
  ledgerAudit,
  paymentFactsOf,
  providerAgainstLog,
} from "../test-support/payment-log.js";
import { freePort, type ServiceProcess } from "../test-support/process.js";
import { readAllEvents } from "../test-support/seed.js";
import { call, tempDataDir } from "../test-support/service.js";
import { serviceProcesses } from "../test-support/spawned-services.js";
import { type StripeServer, startStripeServer } from "../test-support/stripe/server.js";

/**
 * The money ledger under chaos (issue 38 item 6): the service (PAYMENTS=stripe, a real process) is
 * killed -9 in several rounds under a stream of paid bookings, check-ins, check-outs, customers'
 * cancels and operators' refunds, each kill while the Stripe-contract server holds back its answer
 * to a request it applied. Restarted on the same data, it finishes; every booking still open is
 * ended. Then, for every booking, the ledger's own rules hold (authorized = captured + released,
 * refunds ≤ captures), what moved equals what the settlements decided, no step is left undone, the
 * provider's books agree with the log intent by intent, and `parking_payment_ledger_violations` is 0.
 */
const SECRET = "whsec_payments_chaos";
const HOUR = 3_600_000;
const LOT = "chaos-pay";
const ROUNDS = 3;
const WORKERS = 4;
/** Stays played to their end in a round before its kill (others are under way then). */
const STAYS_PER_ROUND = 8;
const TERMS = {
  currency: "KRW",
  deposit: 5000,
  cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
  noShowFee: 3000,
};

/** Runs `task` over `items`, at most `concurrency` at a time. */
async function forEachLimited<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await task(items[next++] as T);
    }),
  );
}

describe("the payment ledger across kill -9 rounds (real processes)", () => {
  const data = tempDataDir("parking-payments-chaos-");
  const processes = serviceProcesses();
  let stripe: StripeServer | undefined;

  afterEach(async () => {
    await processes.killAll();
    await stripe?.close();
  });
  afterAll(() => data.remove());

  it("after rounds of kill -9 under paid stays, cancels and refunds, every booking's money balances", async () => {
    const provider = await startStripeServer({ webhookSecret: SECRET });
    stripe = provider;
    const port = String(await freePort());
    const env = {
      DATA_DIR: data.dir,
      PORT: port,
      PAYMENTS: "stripe",
      STRIPE_API_BASE: provider.url,
      STRIPE_SECRET_KEY: "sk_test_payments_chaos",
      STRIPE_WEBHOOK_SECRET: SECRET,
      PAYMENT_RETRY_SCALE: "0.01",
      // The processors in the request thread: a start (four here) takes half as long.
      PROCESSORS_THREAD: "main",
      PROCESSOR_LEASE_TTL_MS: "1000",
      PROCESSOR_LEASE_RENEW_MS: "250",
    };
    provider.configureWebhooks({ url: `http://127.0.0.1:${port}/payments/webhooks/stripe`, secret: SECRET });
    let service: ServiceProcess = await processes.start(env);
    const lot = { parkingLotId: LOT, name: "혼돈 주차장", capacity: 10_000, hourlyRate: 1000 };
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
    expect((await call(service.url, "PUT", `/parking-lots/${LOT}/payment-terms`, TERMS)).status).toBe(200);

    const unexpected: string[] = [];
    let booked = 0;
    let refunds = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const url = service.url;
      let killed = false;
      const attempt = async (what: string, act: () => Promise<{ status: number }>, ok = 200) => {
        try {
          const answer = await act();
          if (answer.status !== ok && !killed) unexpected.push(`round ${round} ${what}: ${answer.status}`);
          return answer.status === ok;
        } catch (error) {
          if (!killed) unexpected.push(`round ${round} ${what}: ${String(error)}`);
          return false;
        }
      };
      const until = async (read: () => Promise<boolean>) => {
        for (let tries = 0; tries < 200 && !killed; tries++) {
          if (await read().catch(() => false)) return true;
          await sleep(50);
        }
        return false;
      };
      const view = async (id: string) =>
        (await call<{ status: string; payment?: { captured: number } }>(url, "GET", `/reservations/${id}`))
          .body;
      /** One stay's script, by the order of its booking: refunded, canceled, completed, or left checked in. */
      const stay = async (worker: number, i: number) => {
        const who = `CHAOS-${round}-${worker}-${i}`;
        const startsAt = Math.floor(Date.now() / 60_000) * 60_000;
        const body = {
          carNumber: `${10 + worker}가${1000 + i}`,
          startsAt: new Date(startsAt).toISOString(),
          endsAt: new Date(startsAt + HOUR).toISOString(),
          paymentMethod: "pm_card_visa",
        };
        const headers = await customerHeaders(data.dir, who);
        let id = "";
        const made = await attempt(
          "book",
          async () => {
            const answer = await call<{ reservationId: string }>(
              url,
              "POST",
              `/parking-lots/${LOT}/reservations`,
              body,
              headers,
            );
            id = answer.body.reservationId;
            return answer;
          },
          201,
        );
        if (!made) return;
        const n = booked++;
        if (!(await until(async () => (await view(id)).status === "RESERVED"))) return;
        const path = `/parking-lots/${LOT}/reservations/${id}`;
        if (n % 4 === 1)
          return void (await attempt("cancel", () => call(url, "DELETE", path, undefined, headers)));
        if (!(await attempt("check-in", () => call(url, "POST", `${path}/check-in`)))) return;
        if (n % 4 === 3) return; // left checked in: the kill may find it so, the end checks it out
        if (!(await attempt("check-out", () => call(url, "POST", `${path}/check-out`)))) return;
        if (n % 4 === 2) return;
        if (!(await until(async () => ((await view(id)).payment?.captured ?? 0) > 0))) return;
        const refund = { amount: 200, reason: "a scratch on the gate" };
        if (await attempt("refund", () => call(url, "POST", `${path}/refund`, refund))) refunds++;
      };
      let played = 0;
      const workers = Array.from({ length: WORKERS }, async (_, worker) => {
        for (let i = 0; !killed && i < 100; i++) {
          await stay(worker, i);
          if (!killed) played++;
        }
      });
      // The kill: once the round has its bookings, while the provider holds back an answer to a
      // request it applied (the process manager's call made, its fact not yet recorded).
      const chaos = (async () => {
        while (played < STAYS_PER_ROUND && unexpected.length === 0) await sleep(20);
        provider.holdAnswers(true);
        const applied = provider.nextApplied((r) => r.method === "POST" && r.idempotencyKey !== null);
        await Promise.race([applied, sleep(5_000)]);
        killed = true;
        service.child.kill("SIGKILL");
        expect(await service.exited).toBe("SIGKILL");
        provider.holdAnswers(false);
      })();
      await Promise.all([chaos, ...workers]);
      expect(unexpected).toEqual([]);
      service = await processes.start(env);
    }

    // The last start finishes: every booking in the log still open is ended (a pending one is
    // authorized by the process manager's retry first).
    const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    try {
      const reservations = (await readAllEvents(events))
        .filter((e) => e.type === "ParkingReserved")
        .map((e) => (e.data as { reservationId: string }).reservationId);
      expect(reservations.length).toBeGreaterThanOrEqual(ROUNDS * STAYS_PER_ROUND);
      await forEachLimited(reservations, 4, async (id) => {
        const status = async () =>
          (await call<{ status: string }>(service.url, "GET", `/reservations/${id}`)).body.status;
        // A status, and not PENDING_PAYMENT: a booking the view has not shown yet has no status (404).
        await expect
          .poll(status, { timeout: 20_000, interval: 100 })
          .toSatisfy((s) => s !== undefined && s !== "PENDING_PAYMENT");
        const path = `/parking-lots/${LOT}/reservations/${id}`;
        const now = await status();
        if (now === "RESERVED")
          expect(
            (await call(service.url, "DELETE", path, { reason: "the chaos test ends" })).status,
            id,
          ).toBe(200);
        if (now === "CHECKED_IN")
          expect((await call(service.url, "POST", `${path}/check-out`)).status, id).toBe(200);
      });

      const problems = async () => {
        const facts = paymentFactsOf(await readAllEvents(events));
        return [...ledgerAudit(facts, true), ...providerAgainstLog(provider.ledger(), facts)];
      };
      await expect.poll(problems, { timeout: 30_000, interval: 250 }).toEqual([]);
      const facts = paymentFactsOf(await readAllEvents(events));
      const outcomes = new Map<string, number>();
      for (const { event } of facts)
        if ("settlementId" in event.data) {
          const key = `${event.data.settlementId}:${event.type}`;
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        }
      expect([...outcomes].filter(([, n]) => n > 1)).toEqual([]);
      for (const id of reservations) {
        const authorized = facts.filter(
          (f) => f.event.type === "PaymentAuthorized" && f.event.data.reservationId === id,
        );
        expect(authorized.length, id).toBe(1);
        expect(
          provider.ledger().intents.filter((i) => i.metadata.reservationId === id),
          id,
        ).toHaveLength(1);
      }
      // The stream reached every kind of settlement: captures, releases (a cancel's), refunds.
      expect(refunds).toBeGreaterThan(0);
      for (const type of ["PaymentCaptured", "PaymentReleased", "PaymentRefunded"])
        expect(facts.filter((f) => f.event.type === type).length, type).toBeGreaterThan(0);
    } finally {
      await events.close();
    }
    await expectBooksClean(provider, service.url, data.dir);
  }, 240_000);
});
