import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import type { ReservationView } from "../schemas/read-models.js";
import { customerHeaders } from "../test-support/auth.js";
import { launchBrowser, signInLink, type TestBrowser } from "../test-support/browser.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import { type StripeServer, startStripeServer } from "../test-support/stripe/server.js";
import { ensureWebBuilt } from "../test-support/web-build.js";

/**
 * The lot page with payments on (issue 38 item 7), in a real Chromium: the service runs with
 * PAYMENTS=stripe against the Stripe-contract server (test-support/stripe). A paid booking checked
 * in and out is captured; the operator sees "captured" in its row, refunds part of it with a
 * reason through the page's form and sees "partially_refunded"; a refund larger than what is left shows the
 * service's problem in its words, and nothing more is refunded. The control center then shows the
 * lot's money today: revenue, refunds and net, in its row and summed above the lots.
 */
const SECRET = "whsec_payments_page_e2e";
const HOUR = 3_600_000;
const LOT = { parkingLotId: "paid-page-1", name: "유료 페이지 1", capacity: 1, hourlyRate: 1000 };
const TERMS = {
  currency: "KRW",
  deposit: 5000,
  cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
  noShowFee: 3000,
};

const data = tempDataDir("parking-payments-page-");
let now = Math.ceil(Date.now() / HOUR) * HOUR + 24 * HOUR;
let stripe: StripeServer;
let service: RunningService;
let browser: TestBrowser;
let reservationId = "";

const view = async () =>
  (await call<ReservationView>(service.url, "GET", `/reservations/${reservationId}`)).body;
const eventually = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 50 });

beforeAll(async () => {
  await ensureWebBuilt();
  stripe = await startStripeServer({ webhookSecret: SECRET });
  service = await startTestService(
    data.dir,
    {
      PROCESSORS_THREAD: "main",
      PAYMENTS: "stripe",
      STRIPE_API_BASE: stripe.url,
      STRIPE_SECRET_KEY: "sk_test_payments_page_e2e",
      STRIPE_WEBHOOK_SECRET: SECRET,
      PAYMENT_RETRY_SCALE: "0.01",
    },
    { clock: () => new Date(now) },
  );
  stripe.configureWebhooks({ url: `${service.url}/payments/webhooks/stripe`, secret: SECRET });
  browser = await launchBrowser();
  expect((await call(service.url, "POST", "/parking-lots", LOT)).status).toBe(201);
  const terms = await call(service.url, "PUT", `/parking-lots/${LOT.parkingLotId}/payment-terms`, TERMS);
  expect(terms.status, JSON.stringify(terms.body)).toBe(200);
});

afterAll(async () => {
  await browser?.close();
  await service?.shutdown("test done", { drain: false });
  await stripe?.close();
  data.remove();
});

const paymentOf = (page: Page) => page.locator(`[data-reservation="${reservationId}"] [data-payment]`);

describe("the lot page with payments", () => {
  it("shows the payment authorized then captured, refunds part of it with a reason, and shows a too-large refund's problem", async () => {
    // A paid hour, authorized before the operator opens the lot.
    const booked = await call<{ reservationId: string; status: string }>(
      service.url,
      "POST",
      `/parking-lots/${LOT.parkingLotId}/reservations`,
      {
        carNumber: "12가3456",
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + HOUR).toISOString(),
        paymentMethod: "pm_card_visa",
      },
      await customerHeaders(data.dir, "CUST-PAGE-1"),
    );
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    reservationId = booked.body.reservationId;
    await eventually(async () => (await view()).payment?.state).toBe("authorized");
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(await signInLink(data.dir, service.url, { role: "operator", sub: "ops-pay" }));
    await page.waitForURL(`${service.url}/control-center`);
    await page.locator(`[data-lot="${LOT.parkingLotId}"]`).getByRole("button", { name: LOT.name }).click();

    // Authorized: the hold, in the row; then checked in and out, the row follows live to captured.
    const row = page.locator(`[data-reservation="${reservationId}"]`);
    const payment = paymentOf(page);
    await expect.poll(() => payment.getAttribute("data-payment")).toBe("authorized");
    const authorized = (await view()).payment?.authorized ?? 0;
    expect(await payment.innerText()).toBe(`authorized ${authorized.toLocaleString("ko-KR")} KRW`);
    expect(await row.getByRole("button", { name: "Refund 12가3456" }).count()).toBe(0); // nothing captured yet
    const path = `/parking-lots/${LOT.parkingLotId}/reservations/${reservationId}`;
    expect((await call(service.url, "POST", `${path}/check-in`)).status).toBe(200);
    now += 30 * 60_000;
    expect((await call(service.url, "POST", `${path}/check-out`)).status).toBe(200);
    await eventually(async () => (await view()).payment?.state).toBe("captured");

    // Captured: the view's figures, in the row.
    await expect.poll(() => payment.getAttribute("data-payment")).toBe("captured");
    const captured = (await view()).payment?.captured ?? 0;
    expect(captured).toBeGreaterThan(400);
    expect(await payment.innerText()).toBe(`captured ${captured.toLocaleString("ko-KR")} KRW`);

    // Refund 400 with a reason: the form asks both, the service decides, the row says refunded.
    await row.getByRole("button", { name: "Refund 12가3456" }).click();
    const form = row.getByRole("form", { name: "Refund 12가3456" });
    await form.getByLabel("Amount").fill("400");
    await form.getByLabel("Reason").fill("the gate was stuck");
    await form.getByRole("button", { name: "Refund", exact: true }).click();
    const notice = page.locator(".notice");
    await expect.poll(() => notice.isVisible()).toBe(true);
    expect(await notice.innerText()).toContain("Refund of 400 for 12가3456 decided.");
    await expect.poll(() => payment.getAttribute("data-payment")).toBe("partially_refunded");
    expect(await payment.innerText()).toBe(`captured ${captured.toLocaleString("ko-KR")} · refunded 400 KRW`);
    expect((await view()).payment).toMatchObject({ state: "partially_refunded", refunded: 400 });

    // More than what is left: the problem in the service's words, and nothing more refunded.
    await row.getByRole("button", { name: "Refund 12가3456" }).click();
    await form.getByLabel("Amount").fill("5000");
    await form.getByLabel("Reason").fill("the whole day");
    await form.getByRole("button", { name: "Refund", exact: true }).click();
    const problem = form.getByRole("alert");
    await expect.poll(() => problem.isVisible()).toBe(true);
    expect(await problem.innerText()).toContain("The refund is more than what can still be refunded");
    expect(await problem.innerText()).toContain(`At most ${captured - 400} of reservation ${reservationId}`);
    expect((await view()).payment).toMatchObject({ state: "partially_refunded", refunded: 400 });

    // The control center: the lot's money today (captured, refunded, net) in its row and summed above.
    const center = await browser.context.newPage();
    center.on("pageerror", (error) => errors.push(error.message));
    await center.goto(`${service.url}/control-center`);
    const ko = (n: number) => n.toLocaleString("ko-KR");
    const figures = `revenue ${ko(captured)} KRW · refunds 400 KRW · net ${ko(captured - 400)} KRW`;
    const cell = center.locator(`[data-lot="${LOT.parkingLotId}"] [data-money]`);
    await expect.poll(async () => (await cell.count()) && cell.innerText()).toBe(figures);
    const today = new Date(now).toISOString().slice(0, 10);
    expect(await center.locator("[data-money-today]").innerText()).toBe(
      `Money today, the lots of this page (${today}, UTC): ${figures}`,
    );
    expect(await center.getByRole("columnheader", { name: "Money today" }).count()).toBe(1);
    await center.close();
    expect(errors).toEqual([]);
    await page.close();
  });

  it("cancels a paid booking through the page and says what the cancel decided of its money (issue 47)", async () => {
    // An hour two hours ahead, authorized; the operator cancels it: free, everything released.
    const startsAt = now + 2 * HOUR;
    const booked = await call<{ reservationId: string }>(
      service.url,
      "POST",
      `/parking-lots/${LOT.parkingLotId}/reservations`,
      {
        carNumber: "34나5678",
        startsAt: new Date(startsAt).toISOString(),
        endsAt: new Date(startsAt + HOUR).toISOString(),
        paymentMethod: "pm_card_visa",
      },
      await customerHeaders(data.dir, "CUST-PAGE-2"),
    );
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    reservationId = booked.body.reservationId;
    await eventually(async () => (await view()).payment?.state).toBe("authorized");
    const authorized = (await view()).payment?.authorized ?? 0;
    expect(authorized).toBe(1000);
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(await signInLink(data.dir, service.url, { role: "operator", sub: "ops-pay" }));
    await page.waitForURL(`${service.url}/control-center`);
    await page.locator(`[data-lot="${LOT.parkingLotId}"]`).getByRole("button", { name: LOT.name }).click();
    const row = page.locator(`[data-reservation="${reservationId}"]`);
    await expect.poll(() => paymentOf(page).getAttribute("data-payment")).toBe("authorized");
    await row.getByRole("button", { name: /Cancel the reservation/ }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Reason").fill("the customer called");
    await dialog.getByRole("button", { name: "Cancel reservation" }).click();
    const notice = page.locator(".notice");
    await expect.poll(() => notice.isVisible()).toBe(true);
    expect(await notice.innerText()).toContain(
      `Canceled the reservation of 34나5678: no fee kept · ${authorized.toLocaleString("ko-KR")} KRW released.`,
    );
    // The provider carries it out: the row follows to released.
    await expect
      .poll(() => paymentOf(page).getAttribute("data-payment"), { timeout: 15_000 })
      .toBe("released");
    expect(errors).toEqual([]);
    await page.close();
  });
});
