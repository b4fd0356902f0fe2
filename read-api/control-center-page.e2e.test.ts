import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { launchBrowser, type TestBrowser } from "../test-support/browser.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import { ensureWebBuilt } from "../test-support/web-build.js";

/** The browser globals the functions evaluated in the page use (this project compiles without the DOM library). */
declare const document: {
  querySelector(
    selector: string,
  ): { textContent: string | null; getAttribute(name: string): string | null } | null;
};

/**
 * The control-center page in a real Chromium (Debian's, driven by playwright-core): an operator
 * signs in through the sign-in URL, watches a reservation made through the API arrive live,
 * cancels it from the page, and a customer is refused. Each state is screenshotted under
 * test-output/control-center/.
 */

const SHOTS = join(process.cwd(), "test-output", "control-center");
const LOT = { parkingLotId: "gangnam-1", name: "강남 1주차장", capacity: 5 };

const data = tempDataDir("parking-page-");
let service: RunningService;
let browser: TestBrowser;

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const freeSpots = (page: Page) =>
  page.locator(`[data-lot="${LOT.parkingLotId}"] [data-free]`).getAttribute("data-free");

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  await ensureWebBuilt();
  service = await startTestService(data.dir);
  browser = await launchBrowser();
  expect((await call(service.url, "POST", "/parking-lots", LOT)).status).toBe(201);
});

afterAll(async () => {
  await browser?.close();
  await service?.shutdown("test done");
  data.remove();
});

describe("the control-center page", () => {
  it("lists the lot, shows a reservation made through the API within a second, cancels it from the page", async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));

    await page.goto(`${service.url}/control-center`);
    const row = page.locator(`[data-lot="${LOT.parkingLotId}"]`);
    await row.waitFor();
    await expect.poll(() => freeSpots(page)).toBe("5");
    await expect.poll(() => row.locator("th").innerText()).toContain(LOT.name);
    await page.getByText("Live", { exact: true }).waitFor();
    await shot(page, "1-lot-listed");

    // A reservation through the HTTP API: the page shows it without a reload, within a second.
    const reserved = await call<{ reservationId: string }>(
      service.url,
      "POST",
      `/parking-lots/${LOT.parkingLotId}/reservations`,
      { customerId: "CUST1", carNumber: "10더8612", amount: 5000 },
    );
    expect(reserved.status).toBe(201);
    await page.waitForFunction(
      (id) => document.querySelector(`[data-lot="${id}"] [data-free]`)?.getAttribute("data-free") === "4",
      LOT.parkingLotId,
      { timeout: 1000 },
    );
    await shot(page, "2-reservation-arrived");

    // The lot's detail: the reservation with its coupon, then cancel it with a reason.
    await row.getByRole("button", { name: LOT.name }).click();
    const reservation = page.locator(`[data-reservation="${reserved.body.reservationId}"]`);
    await expect.poll(() => reservation.innerText()).toContain("ISSUED");
    expect(await reservation.innerText()).toContain("RESERVED");
    await shot(page, "3-lot-detail");

    await reservation.getByRole("button", { name: /Cancel the reservation/ }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Reason").fill("customer called to cancel");
    await shot(page, "4-cancel-dialog");
    await dialog.getByRole("button", { name: "Cancel reservation" }).click();

    await expect.poll(() => reservation.innerText()).toContain("REVOKED");
    expect(await reservation.innerText()).toContain("CANCELED");
    await expect.poll(() => page.locator(".detail-stats").innerText()).toContain("5 of 5 free");
    await shot(page, "5-canceled-coupon-revoked");

    await page.getByRole("button", { name: "Back to all lots" }).click();
    await expect.poll(() => freeSpots(page)).toBe("5");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows an API refusal in words: the problem's title and detail", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${service.url}/control-center`);
    const form = page.locator("form.register");
    await form.getByLabel("Name").fill("중복 주차장");
    await form.getByLabel("Capacity").fill("3");
    await form.getByLabel("Lot id").fill(LOT.parkingLotId);
    await form.getByRole("button", { name: "Register" }).click();
    const problem = form.getByRole("alert");
    await expect.poll(() => problem.innerText()).toContain("A parking lot with this id already exists");
    await shot(page, "6-problem-shown");
    await page.close();
  });

  it("is usable on a phone", async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${service.url}/control-center`);
    await page.locator(`[data-lot="${LOT.parkingLotId}"]`).waitFor();
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, "7-phone");
    await page.close();
  });
});
