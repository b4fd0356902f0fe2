import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken } from "../test-support/auth.js";
import { launchBrowser, type TestBrowser } from "../test-support/browser.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * The API docs (/docs, Swagger UI) in a real Chromium, as an integrator uses them: an operation
 * tried without a token is refused 401, then the Authorize button takes a bearer token from
 * `npm run -s token` and the same operation answers 200. Screenshots under test-output/docs/.
 */
const SHOTS = join(process.cwd(), "test-output", "docs");
const data = tempDataDir("parking-docs-");
let service: RunningService;
let browser: TestBrowser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // The processors in the request thread (the page reads the document and calls the API; a worker
  // thread would load the whole service a second time), and Chromium launched meanwhile.
  [service, browser] = await Promise.all([
    startTestService(data.dir, { PROCESSORS_THREAD: "main" }),
    launchBrowser(),
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await service?.shutdown("test done");
  data.remove();
});

/** Expands an operation, presses "Try it out" and "Execute", and answers the status shown. */
async function tryOperation(page: Page, operationId: string): Promise<string> {
  const operation = page.locator(`[id$="-${operationId}"]`).first();
  if (!(await operation.locator(".try-out").isVisible())) await operation.locator(".opblock-summary").click();
  const tryOut = operation.locator("button.try-out__btn");
  if ((await tryOut.textContent())?.includes("Try it out")) await tryOut.click();
  // The answer of a request tried before stays shown until the next arrives: clear it first.
  const clear = operation.locator("button.btn-clear");
  if (await clear.isVisible()) await clear.click();
  await operation.locator("button.execute").click();
  const status = operation.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor();
  return (await status.textContent())?.trim() ?? "";
}

describe("the API docs page", () => {
  it("loads the document, refuses an operation without a token, and Authorize makes it work", async () => {
    const page = await browser.context.newPage();
    const failures: string[] = [];
    page.on("pageerror", (error) => failures.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") failures.push(message.text());
    });
    await page.goto(`${service.url}/docs/`);
    await expect
      .poll(() => page.locator(".swagger-ui .info .title").textContent(), { timeout: 15_000 })
      .toContain("Parking reservations");

    expect(await tryOperation(page, "getControlCenter")).toMatch(/^401/);
    await page.screenshot({ path: join(SHOTS, "1-refused-without-token.png"), fullPage: false });

    const token = await mintToken(data.dir, { sub: "ops-docs", role: "operator" });
    await page.locator("button.btn.authorize").first().click();
    const dialog = page.locator(".modal-ux");
    await dialog.locator("input[type=text], input[type=password]").first().fill(token);
    await dialog.locator("button.authorize").first().click();
    await dialog.getByText("Logout", { exact: true }).waitFor();
    await page.screenshot({ path: join(SHOTS, "2-authorized.png"), fullPage: false });
    await dialog.getByText("Close", { exact: true }).click();

    expect(await tryOperation(page, "getControlCenter")).toMatch(/^200/);
    await page.screenshot({ path: join(SHOTS, "3-answered-with-token.png"), fullPage: false });
    // The page's own scripts ran cleanly (a Content-Security-Policy that blocked them would show here).
    expect(failures.filter((f) => !/401 \(Unauthorized\)/.test(f))).toEqual([]);
    await page.close();
  }, 90_000);

  it("Try it out: no other customer's id pre-filled, fresh ids on every request, and it fits a phone", async () => {
    const lot = { parkingLotId: "gangnam-1", name: "강남역 공영주차장", capacity: 10 };
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
    // A browser of its own: no authorization kept from the test before, a phone's screen.
    const phone = await launchBrowser({ viewport: { width: 390, height: 844 } });
    const page = await phone.context.newPage();
    const sent: Record<string, string>[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url().endsWith("/parking-lots/gangnam-1/reservations"))
        sent.push(request.headers());
    });
    await page.goto(`${service.url}/docs/`);
    await expect
      .poll(() => page.locator(".swagger-ui .info .title").textContent(), { timeout: 15_000 })
      .toContain("Parking reservations");
    // On a phone the page is as wide as the screen: nothing sideways.
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);

    const token = await mintToken(data.dir, { sub: "CUST9", role: "customer" });
    await page.locator("button.btn.authorize").first().click();
    const dialog = page.locator(".modal-ux");
    await dialog.locator("input[type=text], input[type=password]").first().fill(token);
    await dialog.locator("button.authorize").first().click();
    await dialog.getByText("Close", { exact: true }).click();

    // A customer's coupons: the id field is left for the caller's own, not filled with another's.
    const coupons = page.locator('[id$="-listCustomerCoupons"]').first();
    await coupons.locator(".opblock-summary").click();
    await coupons.locator("button.try-out__btn").click();
    expect(await coupons.locator('input[placeholder="customerId"]').inputValue()).toBe("");

    // Booking twice books twice: each request carries its own Idempotency-Key and correlation id.
    const reserve = page.locator('[id$="-reserveParking"]').first();
    await reserve.locator(".opblock-summary").click();
    await reserve.locator("button.try-out__btn").click();
    expect(await reserve.locator("textarea.body-param__text").inputValue()).not.toContain("customerId");
    const statuses: string[] = [];
    for (let i = 0; i < 2; i++) {
      await reserve.locator("button.execute").click();
      const status = reserve.locator(".live-responses-table .response .response-col_status").first();
      await expect
        .poll(async () => (await status.textContent())?.trim() ?? "", { timeout: 15_000 })
        .toMatch(/^2/);
      statuses.push((await status.textContent())?.trim() ?? "");
      if (i === 0) await reserve.locator("button.btn-clear").click();
    }
    expect(statuses.map((s) => s.slice(0, 3))).toEqual(["201", "201"]);
    expect(sent).toHaveLength(2);
    expect(sent[0]?.["idempotency-key"]).toMatch(/^docs-/);
    expect(sent[0]?.["idempotency-key"]).not.toBe(sent[1]?.["idempotency-key"]);
    expect(sent[0]?.["x-correlation-id"]).not.toBe(sent[1]?.["x-correlation-id"]);
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, "4-phone-booked-twice.png"), fullPage: false });
    await phone.close();
  }, 120_000);
});
